"""Reputation counts only what left evidence onchain, on both backends.

A sampled receipt nobody disputed or challenged is not an audit that passed:
before any validator acts, a node with anchored receipts shows them sampled and
none audited. Each dispute and challenge then counts once, as passed (CLEARED,
ANSWERED) or failed (GUILTY, UPHELD), and the score and uptime follow.
"""

from __future__ import annotations

import hashlib
import os

from _vnet import DPARAMS, MODEL, account, anchor_batch, key, signed_receipts

from cairn.chain import DisputeKind, Outcome, Vote, commitment
from cairn.identity import LocalSigner
from cairn.receipts import Receipt, ReceiptDomain
from cairn.verification import evidence_for, reputation

NODE = account("node").address


def _judged(net, batch, index, vote):
    """Open a dispute on leaf ``index``, draw, and have every seat vote ``vote``."""
    ev = evidence_for(batch.receipts[index], batch.receipts, batch.batch_id)
    opened = net.disputes.open(account("v1"), ev, b"\x01" * 32, DisputeKind.WRONG_OUTPUT).value
    net.increase_time(1)
    net.disputes.draw(account("v1"), opened)
    seats = {a for a in net.disputes.dispute(opened).committee}
    jurors = [s for s in (account(n) for n in ("v1", "v2", "v3", "v4")) if s.address in seats]
    salt = os.urandom(32)
    for j in jurors:
        net.disputes.commit(j, opened, commitment(opened, j.address, vote, salt))
    net.increase_time(DPARAMS.commit_window + 1)
    for j in jurors:
        net.disputes.reveal(j, opened, vote, salt)
    net.increase_time(DPARAMS.reveal_window + 1)
    return net.disputes.resolve(account("outsider"), opened).value


def test_sampled_receipts_nobody_audited_are_not_reported_as_passed(net):
    anchor_batch(net, signed_receipts(net, 5))
    net.mine()  # the sample is drawn from the block after the anchor
    rep = reputation(net, NODE)
    assert (rep.receipts, rep.sampled) == (5, 5)  # new nodes are sampled at 100%
    assert (rep.audited, rep.passed, rep.failed) == (0, 0, 0)
    assert rep.score == 0.5  # the prior: nothing known either way
    assert rep.uptime == 1.0


def test_disputes_count_as_audits_passed_or_failed(net):
    batch = anchor_batch(net, signed_receipts(net, 4))
    net.mine()
    assert _judged(net, batch, 1, Vote.INNOCENT) is Outcome.CLEARED
    cleared = reputation(net, NODE)
    assert (cleared.audited, cleared.passed, cleared.failed) == (1, 1, 0)
    assert cleared.disputes_won == 1 and cleared.score > 0.5
    assert _judged(net, batch, 3, Vote.GUILTY) is Outcome.GUILTY
    lost = reputation(net, NODE)
    assert (lost.audited, lost.passed, lost.failed) == (2, 1, 1)
    assert lost.disputes_lost == 1 and lost.slashed_wei > 0
    assert lost.jailed and lost.score == 0.0
    assert lost.sampled == 4


def test_challenges_count_and_a_withheld_input_is_downtime(net):
    inputs = [b"handed over", b"withheld"]
    signer = LocalSigner(key("node"))
    domain = ReceiptDomain(net.chain_id, net.deployment.anchor)
    receipts = [
        Receipt(
            MODEL,
            hashlib.sha256(data).digest(),
            os.urandom(32),
            signer.address,
            os.urandom(32),
            net.now(),
            "onnxruntime/test",
            7,
            domain,
        ).sign(signer)
        for data in inputs
    ]
    batch = anchor_batch(net, receipts)
    evidence = [evidence_for(r, receipts, batch.batch_id) for r in receipts]
    answered = net.challenges.challenge_input(account("v1"), evidence[0]).value
    net.challenges.answer_input(account("node"), answered, inputs[0])
    withheld = net.challenges.challenge_input(account("v2"), evidence[1]).value
    net.increase_time(DPARAMS.response_window + 1)
    net.challenges.resolve(account("outsider"), withheld)
    rep = reputation(net, NODE)
    assert (rep.audited, rep.passed, rep.failed) == (2, 1, 1)
    assert rep.uptime == 0.5 and rep.slashed_wei > 0
    assert rep.disputes_lost == 0  # a conviction without a jury is not a lost dispute
