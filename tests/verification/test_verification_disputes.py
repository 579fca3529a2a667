"""The Disputes contract on both backends: evidence, commit-reveal, payouts to the wei, attacks.

Seats are drawn by stake with replacement, so a test reads the committee it got
and holds it to what every party must receive from it — the one Python model of
``Disputes.resolve``, :func:`cairn.verification.economics.settle` — to the wei.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter

import pytest
from _vnet import DPARAMS, ETHER, NODE_STAKE, account, anchor_batch, key, signed_receipts
from _vyper import REFUSER, deploy

from cairn.chain import BURN, DisputeKind, Lock, Outcome, Role, Vote, commitment
from cairn.errors import ContractRevert
from cairn.verification import evidence_for
from cairn.verification.economics import settle

JURORS = ("v2", "v3", "v4")
NAMES = {account(n).address: n for n in ("v1", *JURORS, "node", "outsider")}
BPS = 10_000


def _open(net, batch, index=0, kind=DisputeKind.WRONG_OUTPUT, who="v1", mine=None):
    receipt = batch.receipts[index]
    ev = evidence_for(receipt, batch.receipts, batch.batch_id)
    out = (b"\x01" * 32) if mine is None else mine
    return net.disputes.open(account(who), ev, out, kind)


def _draw(net, dispute_id, who="v1"):
    """Draw from the next block on (a node estimates at the latest block, so mine one first)."""
    net.increase_time(1)
    return net.disputes.draw(account(who), dispute_id)


def _seats(net, dispute_id) -> Counter[str]:
    return Counter(NAMES[a] for a in net.disputes.dispute(dispute_id).committee)


def _vote(net, dispute_id, votes):
    """Commit, move past the commit window, reveal (a juror voting None stays silent)."""
    salts = {name: os.urandom(32) for name in votes}
    for name, vote in votes.items():
        if vote is not None:
            a = account(name)
            net.disputes.commit(a, dispute_id, commitment(dispute_id, a.address, vote, salts[name]))
    net.increase_time(DPARAMS.commit_window + 1)
    for name, vote in votes.items():
        if vote is not None:
            net.disputes.reveal(account(name), dispute_id, vote, salts[name])
    net.increase_time(DPARAMS.reveal_window + 1)


def _check_settlement(net, dispute_id, votes, resolver="outsider"):
    """Resolve and assert every credit, penalty and burn to the wei; claim and check balances."""
    seats = _seats(net, dispute_id)
    node = account("node").address
    p = net.staking.participant(node)
    expected = settle(DPARAMS, seats, votes, p.stake + p.unbonding)
    want, credit, burned = expected.outcome, expected.challenger_credit, expected.burned
    paid, penalties = expected.paid, expected.penalties
    stakes = {j: net.staking.participant(account(j).address).stake for j in seats}
    burn_before = net.balance(BURN)
    challenger = net.disputes.dispute(dispute_id).challenger
    credit_before = net.disputes.claimable(challenger)
    assert net.disputes.resolve(account(resolver), dispute_id).value is want
    assert net.balance(BURN) == burn_before + burned
    assert net.disputes.claimable(challenger) == credit_before + credit
    for j in seats:
        assert net.disputes.claimable(account(j).address) == paid[j]
        assert net.staking.participant(account(j).address).stake == stakes[j] - penalties[j]
        if paid[j]:
            before = net.balance(account(j).address)
            tx = net.disputes.claim(account(j))
            assert tx.value == paid[j]
            assert net.balance(account(j).address) == before + paid[j] - tx.fee
    return want


def test_contract_digest_is_the_receipt_digest(net):
    receipt = signed_receipts(net, 1)[0]
    ev = evidence_for(receipt, [receipt], 1)
    assert net.disputes.receipt_digest(ev.receipt) == receipt.digest()


def test_guilty_node_is_slashed_jailed_and_everyone_paid_to_the_wei(net):
    batch = anchor_batch(net, signed_receipts(net, 5))
    node, challenger = account("node"), account("v1")
    opened = _open(net, batch, 3)
    assert net.disputes.lock_of(node.address) is Lock.DISPUTED
    with pytest.raises(ContractRevert, match="under dispute"):
        net.staking.unbond(node, ETHER // 2)
    _draw(net, opened.value)
    votes = {j: Vote.GUILTY for j in _seats(net, opened.value)}
    _vote(net, opened.value, votes)
    assert _check_settlement(net, opened.value, votes) is Outcome.GUILTY
    slashed = NODE_STAKE * DPARAMS.slash_bps // BPS
    assert net.staking.participant(node.address).stake == NODE_STAKE - slashed
    before = net.balance(challenger.address)
    tx = net.disputes.claim(challenger)
    reward = min(
        slashed * DPARAMS.reward_bps // BPS, DPARAMS.max_reward_bonds * DPARAMS.challenge_bond
    )
    assert tx.value == DPARAMS.challenge_bond + reward
    assert net.balance(challenger.address) == before + tx.value - tx.fee
    assert net.balance(net.disputes.address) == 0  # every credit claimed
    with pytest.raises(ContractRevert, match="nothing to claim"):
        net.disputes.claim(challenger)
    assert net.disputes.is_jailed(node.address)
    assert net.disputes.lock_of(node.address) is Lock.JAILED
    with pytest.raises(ContractRevert, match="jailed"):
        net.staking.unbond(node, ETHER // 2)
    assert net.disputes.verdict_of(batch.receipts[3].digest()) is Outcome.GUILTY
    with pytest.raises(ContractRevert, match="already judged"):
        _open(net, batch, 3, who="v2")
    with pytest.raises(ContractRevert, match="not open"):
        net.disputes.resolve(account("v1"), opened.value)  # no double slashing


def test_a_challenger_of_an_honest_receipt_loses_its_bond_to_the_jurors(net):
    batch = anchor_batch(net, signed_receipts(net, 2))
    challenger = account("v1").address
    before = net.balance(challenger)
    opened = _open(net, batch, 1)
    _draw(net, opened.value, "v2")
    votes = {j: Vote.INNOCENT for j in _seats(net, opened.value)}
    _vote(net, opened.value, votes)
    assert _check_settlement(net, opened.value, votes, "v3") is Outcome.CLEARED
    assert net.balance(challenger) == before - opened.fee - DPARAMS.challenge_bond
    assert net.disputes.claimable(challenger) == 0
    assert net.staking.participant(account("node").address).stake == NODE_STAKE
    assert not net.disputes.is_jailed(account("node").address)


def test_jurors_against_the_outcome_or_silent_are_penalized(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    _draw(net, opened.value)
    ranked = [j for j, _ in _seats(net, opened.value).most_common()]
    votes = {ranked[0]: Vote.GUILTY, **{j: Vote.INNOCENT for j in ranked[1:]}}
    _vote(net, opened.value, votes)
    _check_settlement(net, opened.value, votes)


def test_abstentions_void_the_dispute_and_nobody_pays(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    challenger = account("v1").address
    opened = _open(net, batch, 0, kind=DisputeKind.NO_INPUT, mine=b"\0" * 32)
    _draw(net, opened.value)
    votes = {j: Vote.ABSTAIN for j in _seats(net, opened.value)}
    _vote(net, opened.value, votes)
    assert _check_settlement(net, opened.value, votes, "v1") is Outcome.VOID
    assert net.disputes.claimable(challenger) == DPARAMS.challenge_bond  # bond returned
    assert net.staking.participant(account("node").address).stake == NODE_STAKE
    for j in JURORS:
        assert net.staking.participant(account(j).address).stake == ETHER
    assert net.disputes.vote_of(opened.value, account(next(iter(votes))).address) is Vote.ABSTAIN
    again = _open(net, batch, 0, kind=DisputeKind.NO_INPUT, mine=b"\0" * 32, who="v2")
    assert again.value == opened.value + 1  # a void dispute can be brought again


@pytest.mark.parametrize("later", [Vote.INNOCENT, Vote.ABSTAIN])
def test_a_juror_that_cannot_judge_yet_tries_again_before_it_abstains(net, later):
    """A busy node or a slow chain read must not cost an honest node its jury: a juror
    that cannot judge commits nothing in the first half of the commit window; an
    abstention is committed only once the window is half gone (Validator._serve)."""
    from cairn.content import MemoryBlockstore
    from cairn.verification import MemoryNodeSource, Reexecutor, Validator, ValidatorState
    from cairn.verification.validator import TickReport

    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    _draw(net, opened.value)
    name = next(iter(_seats(net, opened.value)))
    asked: list[int] = []

    class Scripted(Validator):
        def judge(self, opened_dispute):  # out of reach until the node answers `later`
            asked.append(opened_dispute.id)
            return Vote.ABSTAIN if len(asked) < 3 else later

    juror = Scripted(
        net,
        account(name),
        Reexecutor(MemoryBlockstore()),
        ValidatorState(None),
        sources=lambda _url: MemoryNodeSource(),
    )
    for _ in range(2):
        juror._serve_disputes(TickReport())
        assert net.disputes.commitment_of(opened.value, account(name).address) is None
    if later is Vote.ABSTAIN:  # still out of reach: it waits for the last half
        juror._serve_disputes(TickReport())
        assert net.disputes.commitment_of(opened.value, account(name).address) is None
        net.increase_time(DPARAMS.commit_window // 2 + 1)
    report = TickReport()
    juror._serve_disputes(report)
    assert report.committed == [opened.value]
    assert juror.state.vote(opened.value)[0] is later
    assert net.disputes.commitment_of(opened.value, account(name).address) is not None


def test_a_silent_committee_voids_the_dispute_and_pays_for_it(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    _draw(net, opened.value)
    votes = {j: None for j in _seats(net, opened.value)}
    _vote(net, opened.value, votes)
    assert _check_settlement(net, opened.value, {}) is Outcome.VOID


def test_a_dispute_nobody_draws_ends_void(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    with pytest.raises(ContractRevert, match="draw window still open"):
        net.disputes.resolve(account("v1"), opened.value)
    net.increase_time(DPARAMS.draw_window + 1)
    with pytest.raises(ContractRevert, match="draw window closed"):
        net.disputes.draw(account("v1"), opened.value)
    assert net.disputes.resolve(account("node"), opened.value).value is Outcome.VOID
    assert net.disputes.claimable(account("v1").address) == DPARAMS.challenge_bond
    assert net.disputes.lock_of(account("node").address) is Lock.NONE


def test_a_challenger_that_refuses_eth_cannot_block_a_verdict(net):
    """Pull payments: resolve credits; only the refuser's own claim fails."""
    batch = anchor_batch(net, signed_receipts(net, 2))
    dev = net.dev_keys()[0]
    refuser = deploy(net, dev, REFUSER)
    owner = account("outsider")
    st, dp = net.staking, net.disputes

    def forward(target, fn, *args, value=0):
        data = target._contract.encode_abi(fn, args=list(args))
        return refuser.send(owner, "forward", target.address, data, value=value)

    forward(st, "register", int(Role.VALIDATOR), "", [], b"\0" * 32)
    forward(st, "stake", ETHER, value=ETHER)
    ev = evidence_for(batch.receipts[0], batch.receipts, 1)
    args = (*ev.args(), b"\0" * 32, 2)
    first = dp.count() + 1
    open_data = dp._contract.encode_abi("open", args=list(args))
    draw_data = dp._contract.encode_abi("draw", args=[first])
    with pytest.raises(ContractRevert, match="wait one block"):  # the seed is not mined yet
        refuser.send(
            owner, "forward2", dp.address, open_data, draw_data, value=DPARAMS.challenge_bond
        )
    forward(dp, "open", *args, value=DPARAMS.challenge_bond)
    _draw(net, first)
    votes = {j: Vote.ABSTAIN for j in _seats(net, first)}
    _vote(net, first, votes)
    assert dp.resolve(account("v2"), first).value is Outcome.VOID
    assert dp.claimable(refuser.address) == DPARAMS.challenge_bond
    with pytest.raises(ContractRevert):
        forward(dp, "claim")  # the refuser cannot take its own ETH: its problem only
    again = _open(net, batch, 0)  # the same receipt is disputed again and settles
    _draw(net, again.value)
    votes = {j: Vote.GUILTY for j in _seats(net, again.value)}
    _vote(net, again.value, votes)
    assert _check_settlement(net, again.value, votes) is Outcome.GUILTY
    assert dp.claimable(refuser.address) == DPARAMS.challenge_bond


def test_disputes_only_inside_the_audit_window(net):
    old = signed_receipts(net, 1)[0]
    net.increase_time(DPARAMS.audit_window + 10)
    batch = anchor_batch(net, [old])
    with pytest.raises(ContractRevert, match="outside the audit window"):
        _open(net, batch)
    future = dataclasses.replace(old, issued_at=net.now() + 3600, signature=None)
    future = future.sign(account("node"))
    batch2 = anchor_batch(net, [future], batch_id=2)
    with pytest.raises(ContractRevert, match="issued in the future"):
        _open(net, batch2)


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
    ev = evidence_for(batch.receipts[0], batch.receipts, 1)
    for lie in (
        {"leaf_index": 1},  # a forged index: the siblings of leaf 0 claimed for leaf 1
        {"leaf_index": 4, "count": 5},  # past the anchored count
        {"count": 1, "proof": ()},  # the count a cheater would like to have declared
        {"count": 3},  # same depth, another count
    ):
        with pytest.raises(ContractRevert, match="not in the anchored batch"):
            net.disputes.open(
                account("v1"), dataclasses.replace(ev, **lie), b"\1" * 32, DisputeKind.WRONG_OUTPUT
            )
    with pytest.raises(ContractRevert, match="batch not anchored"):
        _open(net, type(batch)(9, batch.receipts, batch.tree))
    with pytest.raises(ContractRevert, match="not a staked validator"):
        _open(net, batch, who="outsider")
    with pytest.raises(ContractRevert, match="outputs agree"):
        _open(net, batch, mine=batch.receipts[0].output_hash)
    with pytest.raises(ContractRevert, match="bad kind"):
        _open(net, batch, kind=7)
    with pytest.raises(ContractRevert, match="cannot challenge yourself"):
        ev = evidence_for(batch.receipts[0], batch.receipts, 1)
        mine = dataclasses.replace(ev.receipt, node=account("v1").address)
        net.disputes.open(
            account("v1"),
            dataclasses.replace(ev, receipt=mine),
            b"\1" * 32,
            DisputeKind.WRONG_OUTPUT,
        )
    with pytest.raises(ContractRevert, match="wrong bond"):
        ev = evidence_for(batch.receipts[0], batch.receipts, 1)
        net.disputes.open(account("v1"), ev, b"\1" * 32, DisputeKind.WRONG_OUTPUT, bond=1)
    opened = _open(net, batch, 2)
    with pytest.raises(ContractRevert, match="already disputed"):
        _open(net, batch, 2, who="v2")
    with pytest.raises(ContractRevert, match="not in voting"):
        net.disputes.commit(account("v2"), opened.value, b"\1" * 32)
    with pytest.raises(ContractRevert, match="not in voting"):
        net.disputes.reveal(account("v2"), opened.value, Vote.GUILTY, b"\1" * 32)


def test_commit_reveal_rules(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    _draw(net, opened.value, "v1")
    with pytest.raises(ContractRevert, match="already drawn"):
        _draw(net, opened.value, "v1")
    with pytest.raises(ContractRevert, match="not on the committee"):
        net.disputes.commit(account("v1"), opened.value, b"\1" * 32)
    juror = next(iter(_seats(net, opened.value)))
    j = account(juror)
    with pytest.raises(ContractRevert, match="empty commitment"):
        net.disputes.commit(j, opened.value, b"\0" * 32)
    salt = os.urandom(32)
    net.disputes.commit(j, opened.value, commitment(opened.value, j.address, Vote.GUILTY, salt))
    with pytest.raises(ContractRevert, match="already committed"):
        net.disputes.commit(j, opened.value, b"\2" * 32)
    with pytest.raises(ContractRevert, match="commit window still open"):
        net.disputes.reveal(j, opened.value, Vote.GUILTY, salt)
    net.increase_time(DPARAMS.commit_window + 1)
    with pytest.raises(ContractRevert, match="commit window closed"):
        net.disputes.commit(j, opened.value, b"\1" * 32)
    with pytest.raises(ContractRevert, match="does not match"):
        net.disputes.reveal(j, opened.value, Vote.INNOCENT, salt)  # a changed vote
    with pytest.raises(ContractRevert, match="bad vote"):
        net.disputes.reveal(j, opened.value, 4, salt)  # type: ignore[arg-type]
    stranger = account("v1")
    with pytest.raises(ContractRevert, match="does not match"):
        net.disputes.reveal(stranger, opened.value, Vote.GUILTY, salt)  # a copied commitment
    net.disputes.reveal(j, opened.value, Vote.GUILTY, salt)
    with pytest.raises(ContractRevert, match="already revealed"):  # one juror, one reveal
        net.disputes.reveal(j, opened.value, Vote.GUILTY, salt)
    assert net.disputes.dispute(opened.value).guilty == _seats(net, opened.value)[juror]
    with pytest.raises(ContractRevert, match="reveal window still open"):
        net.disputes.resolve(j, opened.value)
    net.increase_time(DPARAMS.reveal_window + 1)
    with pytest.raises(ContractRevert, match="reveal window closed"):
        net.disputes.reveal(j, opened.value, Vote.GUILTY, salt)


def test_the_committee_cannot_be_steered_after_the_seed(net):
    """The issue's attack: an identity un-stakes (or leaves) after seeing the seed."""
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    net.increase_time(1)  # the seed block's hash is now public
    mark = net.snapshot()
    _draw(net, opened.value)
    honest = net.disputes.dispute(opened.value).committee
    net.revert(mark)
    attacker = account("v4")
    with pytest.raises(ContractRevert, match="in the juror pool"):
        net.staking.unbond(attacker, ETHER // 2)
    net.disputes.leave(attacker)
    with pytest.raises(ContractRevert, match="still leaving"):
        net.disputes.exit(attacker)
    with pytest.raises(ContractRevert, match="still staked"):
        net.disputes.prune(account("v1"), attacker.address)
    _draw(net, opened.value)
    assert net.disputes.dispute(opened.value).committee == honest


def test_a_late_joiner_is_not_a_candidate(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    whale = account("outsider")
    net.staking.register(whale, Role.VALIDATOR, "")
    net.staking.stake(whale, 50 * ETHER)
    net.disputes.join(whale)
    with pytest.raises(ContractRevert, match="already in the pool"):
        net.disputes.join(whale)
    _draw(net, opened.value)
    assert whale.address not in net.disputes.dispute(opened.value).committee
    assert net.disputes.member(whale.address).weight == 50 * ETHER


def test_leaving_the_pool_and_a_drawn_jurors_lock(net):
    batch = anchor_batch(net, signed_receipts(net, 1))
    opened = _open(net, batch)
    with pytest.raises(ContractRevert, match="not in the pool"):
        net.disputes.leave(account("outsider"))
    _draw(net, opened.value)
    juror = account(next(iter(_seats(net, opened.value))))
    with pytest.raises(ContractRevert, match="not leaving"):
        net.disputes.exit(juror)
    net.disputes.leave(juror)
    with pytest.raises(ContractRevert, match="already leaving"):
        net.disputes.leave(juror)
    net.increase_time(DPARAMS.leave_delay + 1)
    net.disputes.exit(juror)
    assert not net.disputes.in_pool(juror.address)
    assert net.disputes.lock_of(juror.address) is Lock.JUROR  # still on an undecided dispute
    with pytest.raises(ContractRevert, match="locked by a dispute"):
        net.staking.unbond(juror, ETHER)
    net.disputes.resolve(account("v1"), opened.value)
    net.staking.unbond(juror, net.staking.participant(juror.address).stake)


def test_only_a_staked_validator_joins_the_pool_and_only_a_member_exits(net):
    # `open` shares this reason, so the revert-coverage test alone cannot see join's guard
    for who in ("outsider", "node"):  # unstaked; staked, but as a node
        with pytest.raises(ContractRevert, match="not a staked validator"):
            net.disputes.join(account(who))
        assert not net.disputes.in_pool(account(who).address)
        with pytest.raises(ContractRevert, match="not in the pool"):
            net.disputes.exit(account(who))


def test_a_dispute_that_was_never_opened_cannot_be_drawn(net):
    # the later guards would refuse it too, with a reason that says less
    with pytest.raises(ContractRevert, match="not open"):
        net.disputes.draw(account("v1"), 999)


def test_a_pending_draw_freezes_the_pool_and_pruning_removes_the_unstaked(net):
    batch = anchor_batch(net, signed_receipts(net, 2))
    leaver = account("v4")
    net.disputes.leave(leaver)
    net.increase_time(DPARAMS.leave_delay + 1)
    opened = _open(net, batch)
    with pytest.raises(ContractRevert, match="a draw is pending"):
        net.disputes.exit(leaver)
    _draw(net, opened.value)
    assert leaver.address not in net.disputes.dispute(opened.value).committee
    net.disputes.exit(leaver)
    assert net.disputes.pool() == [account(n).address for n in ("v1", "v2", "v3")]
    with pytest.raises(ContractRevert, match="not in the pool"):
        net.disputes.prune(account("v1"), leaver.address)
    # a member slashed below the minimum by a silent committee is pruned by anyone
    _vote(net, opened.value, {})
    net.disputes.resolve(account("v1"), opened.value)
    for name in _seats(net, opened.value):
        if net.staking.participant(account(name).address).stake < ETHER // 10:
            net.disputes.prune(account("outsider"), account(name).address)
            assert not net.disputes.in_pool(account(name).address)


def test_only_disputes_can_slash(net):
    assert net.staking.slasher == net.disputes.address
    with pytest.raises(ContractRevert, match="not the slasher"):
        net.staking.slash(account("v1"), account("node").address, 1)
    with pytest.raises(ContractRevert, match="only staking pays in"):
        net.transfer(account("v1"), net.disputes.address, 1)
