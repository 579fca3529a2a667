"""A validator checks a node's batch listing against the anchored root *and* count.

The commitment binds both (docs/receipts.md), so a node that lists fewer or more
receipts than it anchored — to hide the ones it would rather not have audited — is
recorded against it, and the rows of that batch fail instead of being audited.
"""

from __future__ import annotations

import os

import pytest

from cairn.chain import DisputeParams, Role, connect
from cairn.content import Cid, MemoryBlockstore
from cairn.errors import EvidenceMismatch
from cairn.identity import LocalSigner
from cairn.receipts import MerkleTree, Receipt
from cairn.verification import MemoryNodeSource, Reexecutor, Validator, ValidatorState


def test_a_listing_of_another_count_or_order_is_refused() -> None:
    chain = connect("embedded://")
    chain.deploy(chain.dev_keys()[0], disputes=DisputeParams())
    node = LocalSigner(b"lister".ljust(32, b"\1"))
    chain.fund(node.address, 10 * 10**18)
    chain.staking.register(node, Role.NODE, "http://127.0.0.1:9", [])
    chain.staking.stake(node, 10**18)
    domain = chain.disputes.receipt_domain
    receipts = [
        Receipt(
            str(Cid.of(b"m")),
            os.urandom(32),
            os.urandom(32),
            node.address,
            os.urandom(32),
            chain.now(),
            "rt",
            0,
            domain,
        ).sign(node)
        for _ in range(3)
    ]
    chain.anchor.anchor(node, 1, MerkleTree.build([r.digest() for r in receipts]).root, 3)
    listing = MemoryNodeSource()
    me = LocalSigner(b"validator".ljust(32, b"\2"))
    v = Validator(
        chain, me, Reexecutor(MemoryBlockstore()), ValidatorState(None), sources=lambda _: listing
    )

    listing.batches[1] = receipts
    assert v._batch(node.address, 1) == receipts
    for shown, why in (
        (receipts[:2], "lists 2 receipts, 3 are anchored"),
        ([*receipts, receipts[0]], "lists 4 receipts, 3 are anchored"),
        (receipts[::-1], "does not match its anchored root"),
    ):
        listing.batches[1] = shown
        with pytest.raises(EvidenceMismatch, match=why):
            v._batch(node.address, 1)
