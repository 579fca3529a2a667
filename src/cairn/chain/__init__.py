"""Settlement and coordination on an EVM chain (cairn.chain).

Vyper contracts — ModelRegistry, Staking, ReceiptAnchor,
Disputes (Staking's only slasher, deployed with ``deploy(..., disputes=DisputeParams())``)
Challenges (objective challenges, convicting through Disputes) and the ERC-8004
registries (IdentityRegistry, ReputationRegistry, ValidationRegistry: nodes are
found onchain; docs/erc8004.md) —
and one web3.py client over two backends chosen by URL in :func:`connect`:
``embedded://`` (py-evm in this process, persisted in the data dir) and
``http(s)://`` (any JSON-RPC node). Nothing here sits on the inference path.

This package is the chain boundary: web3 and eth-account are imported here and
nowhere else. Public surface:

- :func:`connect` → :class:`Chain`: typed contracts (``registry``, ``staking``,
  ``anchor``, ``disputes``, ``challenges``, ``identity``, ``reputation``,
  ``validation``, ``token``, ``pool``), ``deploy``, ``head()``,
  ``block_hash(n)``, ``now()``, ``balance(address)``, ``transfer``, ``fund``,
  ``rpc(method, params)`` (a raw read-only JSON-RPC passthrough,
  :data:`PROXY_RPC`), ``dev_keys()`` (signers of a dev chain's funded accounts).
- Every write is signed by a :class:`cairn.identity.Signer` (``LocalSigner``, a
  keystore wallet, a KMS); the key never leaves it. A write returns :class:`Tx`.
- :class:`Evidence` holds a :class:`cairn.receipts.Receipt`; an
  :class:`OpenedDispute` carries the disputed :class:`~cairn.receipts.Receipt`.
- Objective challenges, decided by the Challenges contract without a jury
  (:mod:`cairn.chain.challenges`): ``challenges.challenge_input`` /
  ``challenge_leaf`` / ``challenge_anchor`` and their ``answer_*``, ``resolve``
  (:class:`Challenge`, :class:`InputAnswer`, :class:`LeafAnswer`), and
  ``challenges.challenge_model`` (an unregistered model); each conviction is a
  :class:`Conviction`.
- :class:`Network`: a pinned network (chain id, RPC, ReceiptAnchor, Staking,
  ModelRegistry, Disputes) from the client's own profile
  (``<data dir>/networks/NAME.json``: :func:`load_network`, :func:`save_network`,
  :func:`default_network`, :func:`check_network`) — never from a receipt.
- :class:`ValidatorPool` (``chain.pool``): a share of every payment funds the validators.
  Clients pay a node's :class:`RevenueSplitter` (x402 ``payTo``), whose address
  :func:`splitter_address` computes offline; validators ``attest`` audits and
  ``claim`` each epoch's pot pro rata (:class:`PoolLedger` keeps it exact).
- :class:`OnchainView`: a receipt's anchored root and its node's stake, read from
  a pinned :class:`Network` (for :func:`cairn.receipts.verify_online`).
- Payment channels are x402 ``batch-settlement``'s (:mod:`cairn.chain.batch`):
  :class:`BatchSettlement` at its canonical address (:func:`install_canonical`
  places it on a development chain; ``deploy`` does), a :class:`ChannelConfig` per
  channel, cumulative EIP-712 vouchers claimed in batches (:class:`VoucherClaim`)
  through :mod:`cairn.identity`.
- Every failure is a :class:`~cairn.errors.ChainError` (``ChainUnreachable``,
  ``ChainRpcError``, ``ContractRevert``, ``InsufficientFunds``, ``NotDeployed``,
  ``VoucherInvalid``); nothing raw from web3 escapes.

>>> chain = connect("embedded://")                  # doctest: +SKIP
>>> deployer = chain.dev_keys()[0]                  # doctest: +SKIP
>>> chain.deploy(deployer)                          # doctest: +SKIP
>>> chain.registry.register(deployer, "minilm")     # doctest: +SKIP
"""

from __future__ import annotations

import typing as _typing

from cairn._lazy import lazy_attributes as _lazy_attributes

if _typing.TYPE_CHECKING:
    from cairn.chain._tx import Tx, raw_transaction_gas
    from cairn.chain.anchor import Anchor, ReceiptAnchor
    from cairn.chain.base import EMBEDDED, Backend
    from cairn.chain.batch import (
        BatchSettlement,
        ChannelBalance,
        ChannelConfig,
        PendingWithdrawal,
        ReceiverTotals,
        VoucherClaim,
        install_canonical,
    )
    from cairn.chain.challenges import (
        Challenge,
        ChallengeKind,
        Challenges,
        ChallengeStatus,
        Conviction,
        InputAnswer,
        LeafAnswer,
        leaf_key,
    )
    from cairn.chain.client import (
        PROXY_RPC,
        Chain,
        Deployment,
        DeployParams,
        connect,
    )
    from cairn.chain.disputes import (
        BURN,
        DisputeInfo,
        DisputeKind,
        DisputeParams,
        Disputes,
        Evidence,
        Lock,
        OpenedDispute,
        Outcome,
        PoolMember,
        Vote,
        commitment,
    )
    from cairn.chain.erc8004 import (
        IdentityRegistry,
        ReputationRegistry,
        ValidationRegistry,
        ValidationStatus,
        agent_wallet_typed_data,
    )
    from cairn.chain.networks import (
        Network,
        check_network,
        default_network,
        list_networks,
        load_network,
        network_path,
        save_network,
    )
    from cairn.chain.onchain import OnchainView, operator_refusal
    from cairn.chain.pool import (
        PoolLedger,
        RevenueSplitter,
        SplitterRelease,
        ValidatorPool,
        splitter_address,
    )
    from cairn.chain.registry import ModelInfo, ModelRegistry, ModelVersion
    from cairn.chain.staking import Participant, Role, Staking, model_id
    from cairn.chain.token import Token, TokenDomain, authorization_digest, sign_authorization

__all__ = [
    "BURN",
    "EMBEDDED",
    "PROXY_RPC",
    "Anchor",
    "Backend",
    "BatchSettlement",
    "Chain",
    "Challenge",
    "ChallengeKind",
    "ChallengeStatus",
    "Challenges",
    "ChannelBalance",
    "ChannelConfig",
    "Conviction",
    "DeployParams",
    "Deployment",
    "DisputeInfo",
    "DisputeKind",
    "DisputeParams",
    "Disputes",
    "Evidence",
    "IdentityRegistry",
    "InputAnswer",
    "LeafAnswer",
    "Lock",
    "ModelInfo",
    "ModelRegistry",
    "ModelVersion",
    "Network",
    "OnchainView",
    "OpenedDispute",
    "Outcome",
    "Participant",
    "PendingWithdrawal",
    "PoolLedger",
    "PoolMember",
    "ReceiptAnchor",
    "ReceiverTotals",
    "ReputationRegistry",
    "RevenueSplitter",
    "Role",
    "SplitterRelease",
    "Staking",
    "Token",
    "TokenDomain",
    "Tx",
    "ValidationRegistry",
    "ValidationStatus",
    "ValidatorPool",
    "Vote",
    "VoucherClaim",
    "agent_wallet_typed_data",
    "authorization_digest",
    "check_network",
    "commitment",
    "connect",
    "default_network",
    "install_canonical",
    "leaf_key",
    "list_networks",
    "load_network",
    "model_id",
    "network_path",
    "operator_refusal",
    "raw_transaction_gas",
    "save_network",
    "sign_authorization",
    "splitter_address",
]

# PEP 562: a name is imported on first use, so importing this package (or one
# of its light modules) does not pull in every backend's third-party library.
_LAZY = {
    "Tx": "cairn.chain._tx",
    "raw_transaction_gas": "cairn.chain._tx",
    "Anchor": "cairn.chain.anchor",
    "ReceiptAnchor": "cairn.chain.anchor",
    "Backend": "cairn.chain.base",
    "EMBEDDED": "cairn.chain.base",
    "BatchSettlement": "cairn.chain.batch",
    "ChannelBalance": "cairn.chain.batch",
    "ChannelConfig": "cairn.chain.batch",
    "PendingWithdrawal": "cairn.chain.batch",
    "ReceiverTotals": "cairn.chain.batch",
    "VoucherClaim": "cairn.chain.batch",
    "install_canonical": "cairn.chain.batch",
    "ChallengeKind": "cairn.chain.challenges",
    "ChallengeStatus": "cairn.chain.challenges",
    "Conviction": "cairn.chain.challenges",
    "InputAnswer": "cairn.chain.challenges",
    "LeafAnswer": "cairn.chain.challenges",
    "leaf_key": "cairn.chain.challenges",
    "Challenge": "cairn.chain.challenges",
    "Challenges": "cairn.chain.challenges",
    "PROXY_RPC": "cairn.chain.client",
    "Chain": "cairn.chain.client",
    "Deployment": "cairn.chain.client",
    "DeployParams": "cairn.chain.client",
    "connect": "cairn.chain.client",
    "BURN": "cairn.chain.disputes",
    "DisputeInfo": "cairn.chain.disputes",
    "DisputeKind": "cairn.chain.disputes",
    "DisputeParams": "cairn.chain.disputes",
    "Disputes": "cairn.chain.disputes",
    "Evidence": "cairn.chain.disputes",
    "Lock": "cairn.chain.disputes",
    "PoolMember": "cairn.chain.disputes",
    "Vote": "cairn.chain.disputes",
    "OpenedDispute": "cairn.chain.disputes",
    "Outcome": "cairn.chain.disputes",
    "commitment": "cairn.chain.disputes",
    "IdentityRegistry": "cairn.chain.erc8004",
    "ReputationRegistry": "cairn.chain.erc8004",
    "ValidationRegistry": "cairn.chain.erc8004",
    "ValidationStatus": "cairn.chain.erc8004",
    "agent_wallet_typed_data": "cairn.chain.erc8004",
    "OnchainView": "cairn.chain.onchain",
    "operator_refusal": "cairn.chain.onchain",
    "PoolLedger": "cairn.chain.pool",
    "RevenueSplitter": "cairn.chain.pool",
    "SplitterRelease": "cairn.chain.pool",
    "ValidatorPool": "cairn.chain.pool",
    "splitter_address": "cairn.chain.pool",
    "Network": "cairn.chain.networks",
    "check_network": "cairn.chain.networks",
    "default_network": "cairn.chain.networks",
    "list_networks": "cairn.chain.networks",
    "load_network": "cairn.chain.networks",
    "network_path": "cairn.chain.networks",
    "save_network": "cairn.chain.networks",
    "ModelInfo": "cairn.chain.registry",
    "ModelRegistry": "cairn.chain.registry",
    "ModelVersion": "cairn.chain.registry",
    "Participant": "cairn.chain.staking",
    "Role": "cairn.chain.staking",
    "Staking": "cairn.chain.staking",
    "model_id": "cairn.chain.staking",
    "Token": "cairn.chain.token",
    "TokenDomain": "cairn.chain.token",
    "authorization_digest": "cairn.chain.token",
    "sign_authorization": "cairn.chain.token",
}

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())
