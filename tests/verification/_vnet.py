"""Shared helpers of the verification tests (imported by name: tests are not a package)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from eth_hash.auto import keccak

from cairn.chain import Chain, DeployParams, DisputeParams, Role
from cairn.content import Cid
from cairn.identity import LocalSigner
from cairn.receipts import MerkleTree, Receipt, ReceiptDomain

ETHER = 10**18
PARAMS = DeployParams(unbonding_delay=1000)
DPARAMS = DisputeParams(
    committee_size=3,
    draw_window=100,
    commit_window=100,
    reveal_window=100,
    jail_period=5000,
    juror_penalty=ETHER // 50,
    challenge_bond=ETHER // 10,
    audit_window=7200,
    leave_delay=400,
    response_window=100,
)

sys.path.insert(0, str(Path(__file__).parent.parent / "chain"))  # _vyper: test contracts
NODE_STAKE = 2 * ETHER
VALIDATORS = ("v1", "v2", "v3", "v4")
MODEL = str(Cid.of(b"a model"))


def key(name: str) -> bytes:
    return keccak(f"cairn-verification-{name}".encode())


def account(name: str) -> LocalSigner:
    return LocalSigner(key(name))


def setup_network(chain: Chain) -> Chain:
    dev = chain.dev_keys()[0]
    chain.deploy(dev, PARAMS, record=False, disputes=DPARAMS)
    for name in ("node", *VALIDATORS, "outsider"):
        chain.fund(account(name).address, 100 * ETHER)
    node = account("node")
    chain.staking.register(node, Role.NODE, "http://127.0.0.1:1", ["m"])
    chain.staking.stake(node, NODE_STAKE)
    for name in VALIDATORS:
        v = account(name)
        chain.staking.register(v, Role.VALIDATOR, "")
        chain.staking.stake(v, ETHER)
        chain.disputes.join(v)
    chain.mine(DPARAMS.activation_blocks)  # the pool counts from here on
    return chain


@dataclass
class AnchoredBatch:
    batch_id: int
    receipts: list[Receipt]
    tree: MerkleTree


def signed_receipts(chain: Chain, n: int, signer_key: bytes | None = None) -> list[Receipt]:
    signer = LocalSigner(signer_key or key("node"))
    domain = ReceiptDomain(chain.chain_id, chain.deployment.anchor)
    return [
        Receipt(
            MODEL,
            os.urandom(32),
            os.urandom(32),
            signer.address,
            os.urandom(32),
            chain.now() + i,
            "onnxruntime/test",
            7,
            domain,
        ).sign(signer)
        for i in range(n)
    ]


def anchor_batch(chain: Chain, receipts: list[Receipt], batch_id: int = 1) -> AnchoredBatch:
    tree = MerkleTree.build([r.digest() for r in receipts])
    chain.anchor.anchor(account("node"), batch_id, tree.root, len(receipts))
    return AnchoredBatch(batch_id, receipts, tree)
