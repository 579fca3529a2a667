"""Settlement and coordination on an EVM chain (cairn.chain).

Vyper contracts — ModelRegistry, Staking, ReceiptAnchor, PaymentChannels, and
Disputes (Staking's only slasher, deployed with ``deploy(..., disputes=DisputeParams())``) —
and one web3.py client over two backends chosen by URL in :func:`connect`:
``embedded://`` (py-evm in this process, persisted in the data dir) and
``http(s)://`` (any JSON-RPC node). Nothing here sits on the inference path.

>>> chain = connect("embedded://")          # doctest: +SKIP
>>> chain.deploy(chain.dev_keys()[0])       # doctest: +SKIP
>>> chain.registry.register(key, "minilm")  # doctest: +SKIP
"""

from cairn.chain._tx import Signer, Tx, as_account
from cairn.chain.anchor import Anchor, ReceiptAnchor
from cairn.chain.base import Backend
from cairn.chain.channels import ChannelState, PaymentChannels
from cairn.chain.client import EMBEDDED, Chain, Deployment, DeployParams, connect
from cairn.chain.disputes import (
    BURN,
    DisputeInfo,
    DisputeKind,
    DisputeParams,
    Disputes,
    Evidence,
    OpenedDispute,
    Outcome,
    commitment,
)
from cairn.chain.registry import ModelInfo, ModelRegistry, ModelVersion
from cairn.chain.staking import Participant, Role, Staking, model_id
from cairn.chain.vouchers import (
    SignedVoucher,
    VoucherDomain,
    recover_voucher,
    sign_voucher,
    verify_voucher,
    voucher_digest,
)

__all__ = [
    "BURN",
    "EMBEDDED",
    "Anchor",
    "Backend",
    "Chain",
    "ChannelState",
    "DeployParams",
    "Deployment",
    "DisputeInfo",
    "DisputeKind",
    "DisputeParams",
    "Disputes",
    "Evidence",
    "ModelInfo",
    "ModelRegistry",
    "ModelVersion",
    "OpenedDispute",
    "Outcome",
    "Participant",
    "PaymentChannels",
    "ReceiptAnchor",
    "Role",
    "SignedVoucher",
    "Signer",
    "Staking",
    "Tx",
    "VoucherDomain",
    "as_account",
    "commitment",
    "connect",
    "model_id",
    "recover_voucher",
    "sign_voucher",
    "verify_voucher",
    "voucher_digest",
]
