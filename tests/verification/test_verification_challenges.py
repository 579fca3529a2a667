"""Objective challenges on both backends: data availability and unregistered models
(withheld leaves and unanchored receipts: test_verification_withholding.py).

No jury: the contract decides. Each test attacks one rule and holds the money to
:func:`cairn.verification.economics.convict`, the Python model of
``Disputes.convict``, to the wei.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace

import pytest
from _vnet import DPARAMS, ETHER, MODEL, NODE_STAKE, account, anchor_batch, key

from cairn.chain import BURN, Lock, Outcome, Role
from cairn.chain._artifacts import SOURCES
from cairn.chain.challenges import MAX_INPUT, ChallengeKind, ChallengeStatus
from cairn.errors import ContractRevert
from cairn.identity import LocalSigner
from cairn.node.settings import MAX_INPUT_BYTES, NodeSettings
from cairn.receipts import Receipt, ReceiptDomain
from cairn.verification import evidence_for
from cairn.verification.economics import convict


def _receipts(chain, inputs, model=MODEL, issued_at=None):
    """Receipts over real input bytes (sha256 = inputHash), as a gateway signs them."""
    signer = LocalSigner(key("node"))
    domain = ReceiptDomain(chain.chain_id, chain.deployment.anchor)
    now = chain.now() if issued_at is None else issued_at
    return [
        Receipt(
            model,
            hashlib.sha256(data).digest(),
            os.urandom(32),
            signer.address,
            os.urandom(32),
            now,
            "onnxruntime/test",
            7,
            domain,
        ).sign(signer)
        for data in inputs
    ]


def _evidence(batch, index):
    return evidence_for(batch.receipts[index], batch.receipts, batch.batch_id)


def _slashable(net):
    p = net.staking.participant(account("node").address)
    return p.stake + p.unbonding


def test_max_input_is_one_number_in_the_contract_the_client_and_the_node():
    source = (SOURCES / "Challenges.vy").read_text()
    assert int(re.search(r"MAX_INPUT: constant\(uint256\) = (\d+)", source)[1]) == MAX_INPUT
    assert MAX_INPUT_BYTES == MAX_INPUT == NodeSettings().max_input_bytes


def test_an_answered_input_challenge_costs_the_challenger_its_bond_and_slashes_nobody(net):
    data = os.urandom(1024)
    batch = anchor_batch(net, _receipts(net, [data, b"other input"]))
    node, challenger = account("node"), account("v1")
    before = net.balance(challenger.address)
    tx = net.challenges.challenge_input(challenger, _evidence(batch, 0))
    print(f"challengeInput gas: {tx.gas_used}")
    c = net.challenges.challenge(tx.value)
    assert (c.node, c.challenger, c.status) == (node.address, challenger.address, 1)
    assert c.deadline == net.now() + DPARAMS.response_window
    assert net.disputes.lock_of(node.address) is Lock.DISPUTED  # stake locked as by a dispute
    with pytest.raises(ContractRevert, match="under dispute"):
        net.staking.unbond(node, ETHER // 2)
    with pytest.raises(ContractRevert, match="already challenged"):
        net.challenges.challenge_input(account("v2"), _evidence(batch, 0))
    with pytest.raises(ContractRevert, match="response window still open"):
        net.challenges.resolve(account("outsider"), tx.value)
    with pytest.raises(ContractRevert, match="input does not match the receipt"):
        net.challenges.answer_input(node, tx.value, data[:-1] + bytes([data[-1] ^ 1]))
    answered = net.challenges.answer_input(node, tx.value, data)
    print(f"answerInput gas (1 KiB): {answered.gas_used}")
    assert net.challenges.challenge(tx.value).status == ChallengeStatus.ANSWERED
    [posted] = net.challenges.input_answers(answered.block_number, node=node.address)
    assert (posted.id, posted.input) == (tx.value, data)  # anyone can now re-execute it
    assert net.disputes.lock_of(node.address) is Lock.NONE
    assert net.balance(challenger.address) == before - tx.fee - DPARAMS.challenge_bond
    assert net.disputes.claimable(node.address) == DPARAMS.challenge_bond  # pays the node's gas
    assert net.staking.participant(node.address).stake == NODE_STAKE
    assert not net.disputes.is_jailed(node.address)
    with pytest.raises(ContractRevert, match="not open"):
        net.challenges.answer_input(node, tx.value, data)
    with pytest.raises(ContractRevert, match="not open"):
        net.challenges.resolve(account("outsider"), tx.value)
    with pytest.raises(ContractRevert, match="already answered"):
        net.challenges.challenge_input(account("v2"), _evidence(batch, 0))


def test_an_unanswered_input_challenge_slashes_and_jails_the_node_to_the_wei(net):
    batch = anchor_batch(net, _receipts(net, [b"withheld", b"kept"]))
    node, challenger = account("node").address, account("v1")
    with pytest.raises(ContractRevert, match="wrong bond"):
        net.challenges.challenge_input(
            challenger, _evidence(batch, 0), bond=DPARAMS.challenge_bond - 1
        )
    tx = net.challenges.challenge_input(challenger, _evidence(batch, 0))
    expected = convict(DPARAMS, _slashable(net), DPARAMS.challenge_bond)
    net.increase_time(DPARAMS.response_window + 1)
    with pytest.raises(ContractRevert, match="response window closed"):
        net.challenges.answer_input(account("node"), tx.value, b"withheld")  # too late
    burn_before = net.balance(BURN)
    done = net.challenges.resolve(account("outsider"), tx.value)  # anyone
    assert done.value.kind == ChallengeKind.WITHHELD_INPUT
    assert (done.value.slashed, done.value.reward) == (expected.slashed, expected.reward)
    assert net.balance(BURN) == burn_before + expected.burned
    assert net.staking.participant(node).stake == NODE_STAKE - expected.slashed
    assert net.disputes.claimable(challenger.address) == expected.challenger_credit
    assert net.challenges.challenge(tx.value).status == ChallengeStatus.UPHELD
    assert net.disputes.is_jailed(node)
    assert net.disputes.lock_of(node) is Lock.JAILED
    assert net.disputes.verdict_of(batch.receipts[0].digest()) is Outcome.GUILTY
    with pytest.raises(ContractRevert, match="not open"):
        net.challenges.resolve(account("outsider"), tx.value)  # no double slashing
    with pytest.raises(ContractRevert, match="already judged"):
        net.challenges.challenge_input(account("v2"), _evidence(batch, 0))
    before = net.balance(challenger.address)
    claimed = net.disputes.claim(challenger)
    assert claimed.value == expected.challenger_credit
    assert net.balance(challenger.address) == before + claimed.value - claimed.fee
    assert net.balance(net.disputes.address) == 0


def test_an_input_over_the_bound_cannot_be_posted_and_one_at_it_can(net):
    """A node refuses inputs over MAX_INPUT (NodeSettings.max_input_bytes): it must be able
    to post every input it signs for."""
    at_bound, over = os.urandom(MAX_INPUT), os.urandom(MAX_INPUT + 1)
    batch = anchor_batch(net, _receipts(net, [at_bound, over]))
    node = account("node")
    fits = net.challenges.challenge_input(account("v1"), _evidence(batch, 0))
    posted = net.challenges.answer_input(node, fits.value, at_bound)
    print(f"answerInput gas (16 KiB): {posted.gas_used}")
    assert posted.gas_used < 1_000_000
    too_big = net.challenges.challenge_input(account("v1"), _evidence(batch, 1))
    with pytest.raises(ContractRevert):
        net.challenges.answer_input(node, too_big.value, over)


def test_a_receipt_for_a_model_the_node_never_registered_is_slashed_at_once(net):
    """The node registered "m" (_vnet), not MODEL: each receipt for MODEL is convictable."""
    batch = anchor_batch(net, _receipts(net, [b"a", b"b"]))
    node, challenger = account("node").address, account("v2")
    expected = convict(DPARAMS, _slashable(net), 0)
    burn_before = net.balance(BURN)
    with pytest.raises(ContractRevert, match="not a staked validator"):
        net.challenges.challenge_model(account("outsider"), _evidence(batch, 0))
    done = net.challenges.challenge_model(challenger, _evidence(batch, 0))
    assert done.value.kind == ChallengeKind.UNREGISTERED_MODEL
    assert (done.value.slashed, done.value.reward) == (expected.slashed, expected.reward)
    assert net.balance(BURN) == burn_before + expected.burned
    assert net.disputes.claimable(challenger.address) == expected.challenger_credit
    assert net.staking.participant(node).stake == NODE_STAKE - expected.slashed
    assert net.disputes.is_jailed(node)
    with pytest.raises(ContractRevert, match="receipt already judged"):
        net.challenges.challenge_model(challenger, _evidence(batch, 0))


def test_the_model_is_judged_by_the_registration_at_the_receipts_issue_time(net):
    node = account("node")
    net.staking.register(node, Role.NODE, "http://127.0.0.1:1", [MODEL])
    since, until = net.staking.registered_for(node.address, MODEL)
    assert since and not until
    served = _receipts(net, [b"while registered"])
    net.increase_time(1000)
    net.staking.register(node, Role.NODE, "http://127.0.0.1:1", ["m"])  # drops MODEL
    assert net.staking.registered_for(node.address, MODEL)[1] > since
    net.increase_time(400)  # past the drop and the 300 s clock skew allowed
    after = _receipts(net, [b"after dropping it"])
    batch = anchor_batch(net, served + after)
    with pytest.raises(ContractRevert, match="model registered"):
        net.challenges.challenge_model(account("v1"), _evidence(batch, 0))  # honest: never framed
    assert net.challenges.challenge_model(account("v1"), _evidence(batch, 1)).value.slashed > 0
    # registering it again keeps the first start: the old receipt stays covered
    net.staking.register(node, Role.NODE, "http://127.0.0.1:1", [MODEL])
    assert net.staking.registered_for(node.address, MODEL) == (since, 0)


def test_a_receipt_issued_before_its_model_was_registered_is_slashable(net):
    early = _receipts(net, [b"early"], issued_at=net.now())
    net.increase_time(1000)
    net.staking.register(account("node"), Role.NODE, "http://127.0.0.1:1", [MODEL])
    batch = anchor_batch(net, early)
    assert net.challenges.challenge_model(account("v1"), _evidence(batch, 0)).value.slashed > 0


def test_a_receipt_issued_in_the_future_cannot_be_challenged_yet(net):
    """Its audit window would outlast the node's retention (the Disputes rule, too)."""
    ahead = _receipts(net, [b"from the future"], issued_at=net.now() + 1000)
    batch = anchor_batch(net, ahead)
    with pytest.raises(ContractRevert, match="issued in the future"):
        net.challenges.challenge_input(account("v1"), _evidence(batch, 0))
    with pytest.raises(ContractRevert, match="issued in the future"):
        net.challenges.challenge_model(account("v1"), _evidence(batch, 0))


def test_challenge_evidence_must_be_anchored_where_it_says(net):
    """The dispute evidence rule holds for objective challenges too: an unanchored batch,
    or a proof that does not lead to the anchored commitment, is refused."""
    batch = anchor_batch(net, _receipts(net, [b"one", b"two", b"three"]))
    good = _evidence(batch, 1)
    elsewhere = replace(good, batch_id=99)
    moved = replace(good, leaf_index=2)
    for challenge in (net.challenges.challenge_input, net.challenges.challenge_model):
        with pytest.raises(ContractRevert, match="batch not anchored"):
            challenge(account("v1"), elsewhere)
        with pytest.raises(ContractRevert, match="not in the anchored batch"):
            challenge(account("v1"), moved)
