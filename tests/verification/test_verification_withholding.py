"""Withholding is slashable, on both backends: a leaf of an anchored batch the node will
not list, and a receipt it signed but never anchored, each obliged onchain.

Each test attacks one rule of ``contracts/Challenges.vy`` and holds the money to
:func:`cairn.verification.economics.convict` to the wei; the honest answers prove
that a node holding its receipts is never slashed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _vnet import (
    DPARAMS,
    NODE_STAKE,
    account,
    anchor_batch,
    key,
    signed_receipts,
)
from _vyper import deploy

from cairn.chain import BURN, ChallengeKind, ChallengeStatus, Lock, Outcome, leaf_key
from cairn.content import MemoryBlockstore
from cairn.errors import ContractRevert
from cairn.verification import (
    MemoryNodeSource,
    Reexecutor,
    Validator,
    ValidatorState,
    evidence_for,
)
from cairn.verification.economics import convict


def _slashable(net):
    p = net.staking.participant(account("node").address)
    return p.stake + p.unbonding


def _leaf(net, batch, index, who="v1", **kw):
    root, count = batch.tree.root, len(batch.receipts)
    node = account("node").address
    args = kw.pop("args", (node, batch.batch_id, index, root, count))
    return net.challenges.challenge_leaf(account(who), *args, **kw)


def test_a_withheld_leaf_is_posted_by_an_honest_node_and_the_bond_pays_its_gas(net):
    batch = anchor_batch(net, signed_receipts(net, 5))
    node = account("node")
    assert net.anchor.anchored_at(node.address, batch.batch_id) == net.now()
    with pytest.raises(ContractRevert, match="not a staked validator"):
        _leaf(net, batch, 0, who="outsider")
    with pytest.raises(ContractRevert, match="batch not anchored"):
        _leaf(net, batch, 0, args=(node.address, 99, 0, batch.tree.root, 5))
    with pytest.raises(ContractRevert, match="not the anchored root and count"):
        _leaf(net, batch, 0, args=(node.address, batch.batch_id, 0, batch.tree.root, 4))
    with pytest.raises(ContractRevert, match="no such leaf"):
        _leaf(net, batch, 5)  # only an index the batch has can be asked
    with pytest.raises(ContractRevert, match="wrong bond"):
        _leaf(net, batch, 3, bond=DPARAMS.challenge_bond + 1)
    tx = _leaf(net, batch, 3)
    c = net.challenges.challenge(tx.value)
    assert (c.kind, c.node, c.index, c.status) == (
        ChallengeKind.WITHHELD_LEAF,
        node.address,
        3,
        ChallengeStatus.OPEN,
    )
    assert c.key == leaf_key(node.address, batch.batch_id, 3)
    assert net.disputes.lock_of(node.address) is Lock.DISPUTED
    with pytest.raises(ContractRevert, match="already challenged"):
        _leaf(net, batch, 3, who="v2")
    wrong = evidence_for(batch.receipts[2], batch.receipts, batch.batch_id)
    with pytest.raises(ContractRevert, match="not the challenged leaf"):
        net.challenges.answer_leaf(node, tx.value, wrong)  # leaf 2 is not leaf 3
    stranger = signed_receipts(net, 1, key("v4"))[0]  # signed by another key
    with pytest.raises(ContractRevert, match="another node's receipt"):
        net.challenges.answer_leaf(node, tx.value, evidence_for(stranger, [stranger], 1))
    with pytest.raises(ContractRevert, match="another kind of challenge"):
        net.challenges.answer_input(node, tx.value, b"not an input challenge")
    right = evidence_for(batch.receipts[3], batch.receipts, batch.batch_id)
    answered = net.challenges.answer_leaf(node, tx.value, right)
    print(f"challengeLeaf gas: {tx.gas_used}, answerLeaf gas: {answered.gas_used}")
    domain = net.disputes.receipt_domain
    [posted] = net.challenges.leaf_answers(domain, answered.block_number, node=node.address)
    assert posted.evidence == right  # the leaf is now public evidence, proof included
    assert posted.evidence.receipt.signer() == node.address
    assert net.disputes.lock_of(node.address) is Lock.NONE
    assert net.disputes.claimable(node.address) == DPARAMS.challenge_bond
    assert net.staking.participant(node.address).stake == NODE_STAKE
    with pytest.raises(ContractRevert, match="already answered"):
        _leaf(net, batch, 3, who="v2")


def test_an_unanswered_leaf_challenge_slashes_and_jails_the_node_to_the_wei(net):
    batch = anchor_batch(net, signed_receipts(net, 3))
    node, challenger = account("node").address, account("v2")
    tx = _leaf(net, batch, 1, who="v2")
    expected = convict(DPARAMS, _slashable(net), DPARAMS.challenge_bond)
    net.increase_time(DPARAMS.response_window + 1)
    late = evidence_for(batch.receipts[1], batch.receipts, batch.batch_id)
    with pytest.raises(ContractRevert, match="response window closed"):
        net.challenges.answer_leaf(account("node"), tx.value, late)
    burn_before = net.balance(BURN)
    done = net.challenges.resolve(account("outsider"), tx.value)
    assert done.value.kind == ChallengeKind.WITHHELD_LEAF
    assert (done.value.slashed, done.value.reward) == (expected.slashed, expected.reward)
    assert net.balance(BURN) == burn_before + expected.burned
    assert net.disputes.claimable(challenger.address) == expected.challenger_credit
    assert net.staking.participant(node).stake == NODE_STAKE - expected.slashed
    assert net.disputes.is_jailed(node)
    with pytest.raises(ContractRevert, match="already judged"):
        _leaf(net, batch, 1)  # one conviction per withheld leaf


def test_leaf_challenges_end_with_the_batchs_audit_window(net):
    batch = anchor_batch(net, signed_receipts(net, 2))
    net.increase_time(DPARAMS.audit_window + 1)
    with pytest.raises(ContractRevert, match="outside the audit window"):
        _leaf(net, batch, 0)


def test_an_anchored_receipt_is_proven_and_an_unanchored_one_slashes(net):
    node = account("node")
    client = account("outsider")  # a client: no stake needed, only the bond
    anchored = signed_receipts(net, 3)
    batch = anchor_batch(net, anchored)
    never = signed_receipts(net, 1)[0]
    deadline = net.challenges.anchor_deadline()
    assert deadline == DPARAMS.anchor_deadline
    with pytest.raises(ContractRevert, match="anchor deadline not passed"):
        net.challenges.challenge_anchor(client, never)
    net.increase_time(deadline + 400)  # past the deadline and the 300 s skew (a margin: Anvil)
    with pytest.raises(ContractRevert, match="cannot challenge yourself"):
        net.challenges.challenge_anchor(node, never)
    forged = replace(signed_receipts(net, 1, key("v3"))[0], node=node.address)  # not its key
    with pytest.raises(ContractRevert, match="bad node signature"):
        net.challenges.challenge_anchor(client, forged)
    honest = net.challenges.challenge_anchor(client, anchored[1])
    proof = evidence_for(anchored[1], anchored, batch.batch_id)
    other = evidence_for(anchored[2], anchored, batch.batch_id)
    with pytest.raises(ContractRevert, match="not in the anchored batch"):
        net.challenges.answer_anchor(node, honest.value, other)
    answered = net.challenges.answer_anchor(node, honest.value, proof)
    print(f"challengeAnchor gas: {honest.gas_used}, answerAnchor gas: {answered.gas_used}")
    assert net.disputes.claimable(node.address) == DPARAMS.challenge_bond
    assert net.staking.participant(node.address).stake == NODE_STAKE
    with pytest.raises(ContractRevert, match="already answered"):
        net.challenges.challenge_anchor(client, anchored[1])

    tx = net.challenges.challenge_anchor(client, never)
    expected = convict(DPARAMS, _slashable(net), DPARAMS.challenge_bond)
    # anchoring now is too late: the deadline has passed
    late = anchor_batch(net, [never], batch_id=2)
    with pytest.raises(ContractRevert, match="anchored after its deadline"):
        net.challenges.answer_anchor(node, tx.value, evidence_for(never, [never], late.batch_id))
    with pytest.raises(ContractRevert, match="batch not anchored"):
        net.challenges.answer_anchor(node, tx.value, evidence_for(never, [never], 77))
    net.increase_time(DPARAMS.response_window + 1)
    done = net.challenges.resolve(account("v1"), tx.value)  # anyone resolves
    assert done.value.kind == ChallengeKind.UNANCHORED
    assert (done.value.slashed, done.value.reward) == (expected.slashed, expected.reward)
    assert net.disputes.claimable(client.address) == expected.challenger_credit
    assert net.disputes.verdict_of(never.digest()) is Outcome.GUILTY


def test_anchor_challenges_end_with_the_receipts_audit_window(net):
    old = signed_receipts(net, 1)[0]
    net.increase_time(DPARAMS.audit_window + 1)
    with pytest.raises(ContractRevert, match="outside the audit window"):
        net.challenges.challenge_anchor(account("outsider"), old)


def test_only_the_challenges_contract_reaches_the_verdict_book(net):
    """Disputes' hooks (hold, release, credit, convict) lock, pay and slash: anyone else
    calling them is refused, and the Challenges contract is named once, by the deployer."""
    d, outsider = net.disputes, account("outsider")
    node = account("node").address
    for fn, args, value in (
        ("hold", (node,), 0),
        ("release", (node,), 0),
        ("credit", (outsider.address,), 1),
        ("convict", (node, outsider.address, b"\1" * 32), 0),
    ):
        with pytest.raises(ContractRevert, match="not the challenges contract"):
            d._send(outsider, fn, *args, value=value)
    with pytest.raises(ContractRevert, match="not the deployer"):
        d.set_challenges(outsider, net.challenges.address)
    dev = net.dev_keys()[0]
    with pytest.raises(ContractRevert, match="challenges already set"):
        d.set_challenges(dev, net.challenges.address)
    assert net.staking.participant(node).stake == NODE_STAKE


def test_a_fresh_disputes_names_only_a_contract_and_challenges_needs_room_to_anchor(net):
    dev = net.dev_keys()[0]
    args = (net.deployment.staking, net.deployment.anchor, *DPARAMS.args())
    address = net._create(dev, "Disputes", *args)[0]
    fresh = net._at(type(net.disputes), address)
    with pytest.raises(ContractRevert, match="challenges is not a contract"):
        fresh.set_challenges(dev, account("outsider").address)
    with pytest.raises(ContractRevert, match="anchor deadline outside the audit window"):
        net._create(dev, "Challenges", address, DPARAMS.audit_window)
    probe = deploy(net, dev, "x: public(uint256)\n").address  # any contract: the deployer's choice
    assert fresh.set_challenges(dev, probe).gas_used > 0
    assert fresh.challenges_address() == probe


def test_a_validator_obliges_unlisted_leaves_and_audits_the_answer(net):
    """The validator's loop, in process: a node that lists nothing is asked for each sampled
    leaf onchain; the leaf it posts is audited like a listed one — here it names a model
    the node never registered ("m" is, MODEL is not: _vnet), so it is convicted at once —
    and the leaf it keeps withholding is convicted when the window passes."""
    batch = anchor_batch(net, signed_receipts(net, 2))
    net.mine(1)  # the sample is drawn from the block after the anchor
    node = account("node")
    v = Validator(
        net,
        account("v1"),
        Reexecutor(MemoryBlockstore()),
        ValidatorState(None),
        sources=lambda _: MemoryNodeSource(),  # lists no batch at all
        patience=1,
    )
    first = v.tick()
    assert first.planned == 2 and len(first.challenged) == 2  # one leaf challenge per leaf
    ids = {net.challenges.challenge(i).index: i for i in first.challenged}  # leaf → id
    net.challenges.answer_leaf(node, ids[0], evidence_for(batch.receipts[0], batch.receipts, 1))
    second = v.tick()
    assert second.convicted_models == [batch.receipts[0].digest().hex()]
    assert net.disputes.verdict_of(batch.receipts[0].digest()) is Outcome.GUILTY
    assert not second.challenged  # leaf 1's challenge is still open: not asked twice
    net.increase_time(DPARAMS.response_window + 1)
    third = v.tick()
    assert third.convicted == [ids[1]]
    [by_leaf] = [c for c in net.challenges.convictions() if c.kind is ChallengeKind.WITHHELD_LEAF]
    assert by_leaf.key == leaf_key(node.address, 1, 1)
    assert v.tick().challenged == []  # a convicted leaf is not challenged again
