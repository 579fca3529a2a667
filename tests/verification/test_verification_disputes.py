"""The Disputes contract on both backends: evidence checks, commit-reveal, payouts to the wei."""

from __future__ import annotations

import dataclasses
import os

import pytest
from _vnet import DPARAMS, ETHER, NODE_STAKE, account, anchor_batch, key, signed_receipts

from cairn.chain import BURN, DisputeKind, Outcome, commitment
from cairn.errors import ContractRevert
from cairn.verification import evidence_for

JURORS = ("v2", "v3", "v4")


def _open(net, batch, index=0, kind=DisputeKind.WRONG_OUTPUT, who="v1", mine=None):
    receipt = batch.receipts[index]
    ev = evidence_for(receipt, batch.receipts, batch.batch_id)
    out = (b"\x01" * 32) if mine is None else mine
    return net.disputes.open(account(who), ev, out, kind)


def _draw(net, dispute_id, who="v1"):
    """Draw from the next block on (a node estimates at the latest block, so mine one first)."""
    net.increase_time(1)
    return net.disputes.draw(account(who), dispute_id)


def _vote(net, dispute_id, votes):
    """Commit, move past the commit window, reveal; return the total gas fee per juror."""
    fees = {}
    salts = {name: os.urandom(32) for name in votes}
    for name, guilty in votes.items():
        a = account(name)
        fees[name] = net.disputes.commit(
            a, dispute_id, commitment(dispute_id, a.address, guilty, salts[name])
        ).fee
    net.increase_time(DPARAMS.commit_window + 1)
    for name, guilty in votes.items():
        fees[name] += net.disputes.reveal(account(name), dispute_id, guilty, salts[name]).fee
    net.increase_time(DPARAMS.reveal_window + 1)
    return fees


def test_contract_digest_is_the_receipt_digest(net):
    receipt = signed_receipts(net, 1)[0]
    ev = evidence_for(receipt, [receipt], 1)
    assert net.disputes.receipt_digest(ev.receipt) == receipt.digest()


def test_guilty_node_is_slashed_jailed_and_challenger_paid_to_the_wei(net):
    batch = anchor_batch(net, signed_receipts(net, 5))
    node, challenger, burn = account("node").address, account("v1").address, BURN
    before = {a: net.balance(a) for a in (challenger, burn, *(account(j).address for j in JURORS))}
    opened = _open(net, batch, 3)
    drawn = _draw(net, opened.value, "v1")
    info = net.disputes.dispute(opened.value)
    assert sorted(info.committee) == sorted(account(j).address for j in JURORS)
    fees = _vote(net, opened.value, {"v2": True, "v3": True, "v4": False})
    assert net.disputes.resolve(account("outsider"), opened.value).value is Outcome.GUILTY

    slashed = NODE_STAKE * DPARAMS.slash_bps // 10_000
    reward = slashed * DPARAMS.reward_bps // 10_000
    assert net.staking.participant(node).stake == NODE_STAKE - slashed
    assert net.balance(challenger) == before[challenger] - opened.fee - drawn.fee + reward
    assert net.balance(burn) == before[burn] + (slashed - reward) + DPARAMS.juror_penalty
    assert net.staking.participant(account("v4").address).stake == ETHER - DPARAMS.juror_penalty
    assert net.staking.participant(account("v2").address).stake == ETHER
    for j in JURORS:
        assert net.balance(account(j).address) == before[account(j).address] - fees[j]
    assert net.balance(net.disputes.address) == 0
    assert net.disputes.is_jailed(node)
    assert net.disputes.verdict_of(batch.receipts[3].digest()) is Outcome.GUILTY
    with pytest.raises(ContractRevert, match="already judged"):
        _open(net, batch, 3, who="v2")


def test_a_challenger_of_an_honest_receipt_loses_its_bond(net):
    batch = anchor_batch(net, signed_receipts(net, 2))
    challenger = account("v1").address
    before, burned_before = net.balance(challenger), net.balance(BURN)
    opened = _open(net, batch, 1)
    drawn = _draw(net, opened.value, "v2")
    _vote(net, opened.value, {"v2": False, "v3": False, "v4": False})
    assert net.disputes.resolve(account("v3"), opened.value).value is Outcome.CLEARED
    assert net.balance(challenger) == before - opened.fee - DPARAMS.challenge_bond
    assert net.balance(BURN) == burned_before + DPARAMS.challenge_bond
    assert net.staking.participant(account("node").address).stake == NODE_STAKE
    assert not net.disputes.is_jailed(account("node").address)
    assert drawn.fee > 0


def test_a_silent_committee_voids_the_dispute_and_pays_for_it(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    challenger = account("v1").address
    before, burned_before = net.balance(challenger), net.balance(BURN)
    opened = _open(net, batch, 0, kind=DisputeKind.NO_INPUT, mine=b"\0" * 32)
    drawn = _draw(net, opened.value, "v1")
    fees = _vote(net, opened.value, {"v2": True})  # one of three reveals: no quorum
    resolved = net.disputes.resolve(account("v1"), opened.value)
    assert resolved.value is Outcome.VOID
    assert net.balance(challenger) == before - opened.fee - drawn.fee - resolved.fee
    assert net.balance(BURN) == burned_before + 2 * DPARAMS.juror_penalty
    assert net.staking.participant(account("v2").address).stake == ETHER
    assert net.staking.participant(account("v3").address).stake == ETHER - DPARAMS.juror_penalty
    assert fees["v2"] > 0
    # a void dispute can be brought again
    again = _open(net, batch, 0, kind=DisputeKind.NO_INPUT, mine=b"\0" * 32, who="v2")
    assert again.value == opened.value + 1


def test_evidence_is_checked_onchain(net):
    batch = anchor_batch(net, signed_receipts(net, 4))
    other = signed_receipts(net, 1, signer_key=key("impostor"))[0]
    with pytest.raises(ContractRevert, match="bad node signature"):
        ev = evidence_for(batch.receipts[0], batch.receipts, 1)
        forged = dataclasses.replace(ev.receipt, signature=other.signature)
        net.disputes.open(
            account("v1"),
            dataclasses.replace(ev, receipt=forged),
            b"\1" * 32,
            DisputeKind.WRONG_OUTPUT,
        )
    with pytest.raises(ContractRevert, match="not in the anchored batch"):
        ev = evidence_for(batch.receipts[0], batch.receipts, 1)
        net.disputes.open(
            account("v1"),
            dataclasses.replace(ev, proof=ev.proof[1:]),
            b"\1" * 32,
            DisputeKind.WRONG_OUTPUT,
        )
    with pytest.raises(ContractRevert, match="batch not anchored"):
        _open(net, type(batch)(9, batch.receipts, batch.tree))
    with pytest.raises(ContractRevert, match="not a staked validator"):
        _open(net, batch, who="outsider")
    with pytest.raises(ContractRevert, match="outputs agree"):
        _open(net, batch, mine=batch.receipts[0].output_hash)
    with pytest.raises(ContractRevert, match="wrong bond"):
        ev = evidence_for(batch.receipts[0], batch.receipts, 1)
        net.disputes.open(account("v1"), ev, b"\1" * 32, DisputeKind.WRONG_OUTPUT, bond=1)
    opened = _open(net, batch, 2)
    with pytest.raises(ContractRevert, match="already disputed"):
        _open(net, batch, 2, who="v2")
    with pytest.raises(ContractRevert, match="not in voting"):
        net.disputes.commit(account("v2"), opened.value, b"\1" * 32)


def test_commit_reveal_rules(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    _draw(net, opened.value, "v1")
    with pytest.raises(ContractRevert, match="already drawn"):
        _draw(net, opened.value, "v1")
    with pytest.raises(ContractRevert, match="not on the committee"):
        net.disputes.commit(account("v1"), opened.value, b"\1" * 32)
    v2 = account("v2")
    salt = os.urandom(32)
    net.disputes.commit(v2, opened.value, commitment(opened.value, v2.address, True, salt))
    with pytest.raises(ContractRevert, match="commit window still open"):
        net.disputes.reveal(v2, opened.value, True, salt)
    net.increase_time(DPARAMS.commit_window + 1)
    with pytest.raises(ContractRevert, match="commit window closed"):
        net.disputes.commit(account("v3"), opened.value, b"\1" * 32)
    with pytest.raises(ContractRevert, match="does not match"):
        net.disputes.reveal(v2, opened.value, False, salt)  # a changed vote
    v3 = account("v3")
    with pytest.raises(ContractRevert, match="does not match"):
        net.disputes.reveal(v3, opened.value, True, salt)  # a copied commitment cannot be revealed
    net.disputes.reveal(v2, opened.value, True, salt)
    with pytest.raises(ContractRevert, match="reveal window still open"):
        net.disputes.resolve(v2, opened.value)


def test_only_disputes_can_slash(net):
    assert net.staking.slasher == net.disputes.address
    with pytest.raises(ContractRevert, match="not the slasher"):
        net.staking.slash(account("v1"), account("node").address, 1)
