"""ReceiptAnchor on both backends: staked nodes only, root and count committed once."""

from __future__ import annotations

import pytest

from cairn.chain import DeployParams, Role
from cairn.errors import ContractRevert
from cairn.receipts import MAX_COUNT, batch_commitment

ETHER = 10**18
PARAMS = DeployParams()  # what tests/chain/conftest.py deploys with

ROOT = bytes(range(32))


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, match=f"^ReceiptAnchor: reverted: {reason}$")


def _stake(chain, who, role=Role.NODE):
    chain.staking.register(who, role, "x")
    amount = PARAMS.min_node_stake if role is Role.NODE else PARAMS.min_validator_stake
    chain.staking.stake(who, amount)


def test_anchor_and_read(chain, alice):
    _stake(chain, alice)
    tx = chain.anchor.anchor(alice, 42, ROOT, 10_000)
    assert tx.gas_used <= 60_000
    assert chain.anchor.commitment_of(alice.address, 42) == batch_commitment(ROOT, 10_000)
    assert chain.anchor.commitment_of(alice.address, 43) is None
    got = chain.anchor.get(alice.address, 42)
    assert got is not None
    assert (got.root, got.receipt_count, got.block_number) == (ROOT, 10_000, tx.block_number)
    chain.anchor.anchor(alice, 43, ROOT[::-1], 1)
    assert [a.batch_id for a in chain.anchor.anchors(alice.address)] == [42, 43]


def test_roots_never_change(chain, alice):
    _stake(chain, alice)
    chain.anchor.anchor(alice, 1, ROOT, 5)
    with reverts("batch already anchored"):
        chain.anchor.anchor(alice, 1, ROOT[::-1], 5)
    with reverts("batch already anchored"):
        chain.anchor.anchor(alice, 1, ROOT, 6)  # nor its count
    assert chain.anchor.commitment_of(alice.address, 1) == batch_commitment(ROOT, 5)


def test_anchor_reverts(chain, alice, bob):
    with reverts("node not staked"):
        chain.anchor.anchor(alice, 1, ROOT, 1)
    _stake(chain, bob, Role.VALIDATOR)
    with reverts("node not staked"):
        chain.anchor.anchor(bob, 1, ROOT, 1)
    _stake(chain, alice)
    with reverts("empty root"):
        chain.anchor.anchor(alice, 1, b"\0" * 32, 1)
    with reverts("empty batch"):
        chain.anchor.anchor(alice, 1, ROOT, 0)
    with reverts("count over the cap"):
        chain.anchor.anchor(alice, 1, ROOT, MAX_COUNT + 1)
    chain.anchor.anchor(alice, 2, ROOT, MAX_COUNT)  # the cap itself is allowed
    chain.staking.unbond(alice, PARAMS.min_node_stake)
    with reverts("node not staked"):
        chain.anchor.anchor(alice, 1, ROOT, 1)
