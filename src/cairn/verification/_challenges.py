"""A validator's objective challenges: what a node withholds goes to the contract, not a jury.

Jurors cannot judge what they cannot see (they abstain), so the validator asks
the Challenges contract (:mod:`cairn.chain.challenges`) instead, after a node
has withheld something for ``patience`` ticks:

- a receipt's input it would not hand over: ``challengeInput``
  (:func:`challenge_withheld`); the node must post the input onchain;
- a batch it would not list, or listed unlike its anchor: ``challengeLeaf`` for
  each sampled leaf (:func:`challenge_leaf`); the node must post the signed
  receipt and its proof, and the answered leaf (:func:`leaf_evidence`) is
  audited like a listed one;
- a receipt for a model the node had not registered when it signed it:
  ``challengeModel`` convicts at once, no bond, no patience
  (:func:`convict_unregistered_model`; the contract's rule decides, through an
  ``eth_call`` first).

Every tick the validator also resolves any challenge past its window with no
answer — its own or anyone's: anyone may — and its credits are claimed with the
dispute payouts (:meth:`cairn.verification.Validator.tick`).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Protocol

from cairn.chain import Chain, ChallengeKind, ChallengeStatus, Evidence, leaf_key
from cairn.errors import ContractRevert
from cairn.identity import Signer
from cairn.verification._state import AuditRow, ValidatorState

__all__ = [
    "challenge_leaf",
    "challenge_withheld",
    "convict_unregistered_model",
    "leaf_evidence",
    "serve_challenges",
]

log = logging.getLogger(__name__)


class _Validator(Protocol):
    """What of :class:`cairn.verification.Validator` a challenge needs."""

    account: Signer
    state: ValidatorState

    def _chain(self) -> AbstractContextManager[Chain]: ...


def challenge_withheld(v: _Validator, row: AuditRow, evidence: Evidence, reason: str) -> int | None:
    """Oblige the node to post the evidence's input onchain; the challenge id, or None if
    the receipt is already challenged, posted or judged (recorded as unavailable)."""
    digest = evidence.receipt.digest()
    try:
        with v._chain() as c:
            ch = c.challenges
            if c.disputes.verdict_of(digest) or ch.input_posted(digest):
                v.state.settle(row, "unavailable", f"{reason}; already judged or posted")
                return None
            if ch.active_input_challenge(digest):
                v.state.settle(row, "unavailable", f"{reason}; already challenged")
                return None
            tx = ch.challenge_input(v.account, evidence)
    except ContractRevert as exc:
        v.state.settle(row, "unavailable", f"{reason}; challenge refused: {exc.reason}")
        return None
    log.info("challenged %s to post the input of leaf %d: %s", row.node, row.leaf, reason)
    v.state.settle(row, "challenged", f"input challenge {tx.value}: {reason}")
    v.state.track_challenge(tx.value)
    return tx.value


def convict_unregistered_model(v: _Validator, row: AuditRow, evidence: Evidence) -> bool:
    """Convict the node if the receipt's model was not registered at its issue time; True
    if the row is settled by it (convicted, or the conviction refused)."""
    with v._chain() as c:
        if not c.challenges.would_convict_model(v.account.address, evidence):
            return False
        try:
            done = c.challenges.challenge_model(v.account, evidence).value
        except ContractRevert as exc:  # another validator was first: the receipt is judged
            v.state.settle(row, "failed", f"model not registered; {exc.reason}")
            return True
    why = f"model {evidence.receipt.model} not registered (slashed {done.slashed})"
    log.info("convicted %s: %s", row.node, why)
    v.state.settle(row, "failed", why)
    return True


def leaf_evidence(v: _Validator, row: AuditRow) -> Evidence | None:
    """The leaf the node posted onchain for ``row``, if a leaf challenge was answered."""
    with v._chain() as c:
        key = leaf_key(row.node, row.batch_id, row.leaf)
        if not c.challenges.answered(ChallengeKind.WITHHELD_LEAF, key):
            return None
        domain = c.disputes.receipt_domain
        answers = c.challenges.leaf_answers(domain, 0, node=row.node)
    for answer in answers:
        e = answer.evidence
        if (e.batch_id, e.leaf_index) == (row.batch_id, row.leaf):
            return e
    return None


def challenge_leaf(v: _Validator, row: AuditRow, reason: str) -> int | None:
    """Oblige the node to post leaf ``row.leaf`` of its batch; the challenge id, or None
    if one is already open (the row waits for it) or the contract refused (settled)."""
    try:
        with v._chain() as c:
            key = leaf_key(row.node, row.batch_id, row.leaf)
            ch = c.challenges
            open_id = ch.active(ChallengeKind.WITHHELD_LEAF, key)
            if open_id is not None:
                v.state.retry(row, f"{reason}; leaf challenge {open_id} open")
                return None
            anchored = c.anchor.get(row.node, row.batch_id)
            if anchored is None:
                v.state.settle(row, "failed", f"{reason}; batch not anchored")
                return None
            tx = ch.challenge_leaf(
                v.account, row.node, row.batch_id, row.leaf, anchored.root, anchored.receipt_count
            )
    except ContractRevert as exc:
        v.state.settle(row, "unavailable", f"{reason}; leaf challenge refused: {exc.reason}")
        return None
    log.info(
        "challenged %s to post leaf %d of batch %d: %s", row.node, row.leaf, row.batch_id, reason
    )
    v.state.retry(row, f"{reason}; leaf challenge {tx.value} open")
    v.state.track_challenge(tx.value)
    return tx.value


def serve_challenges(v: _Validator, convicted: list[int]) -> None:
    """Track every new challenge; resolve those past their window with no answer."""
    with v._chain() as c:
        start = v.state.get("challenge_block", 0)
        head = c.head()
        found = c.challenges.challenges(start, to_block=head)
    for ch in found:
        v.state.track_challenge(ch.id)
    v.state.put("challenge_block", head + 1)
    for challenge_id in v.state.open_challenges():
        try:
            with v._chain() as c:
                info = c.challenges.challenge(challenge_id)
                if info.status != ChallengeStatus.OPEN:
                    v.state.finish_challenge(challenge_id)
                    continue
                if c.now() <= info.deadline:
                    continue
                conviction = c.challenges.resolve(v.account, challenge_id).value
        except ContractRevert as exc:  # lost a race with another validator: fine
            log.info("challenge %d: %s", challenge_id, exc.reason)
            continue
        v.state.finish_challenge(challenge_id)
        convicted.append(challenge_id)
        log.info(
            "convicted %s: %s (slashed %d)",
            conviction.node,
            conviction.kind.name.lower(),
            conviction.slashed,
        )
