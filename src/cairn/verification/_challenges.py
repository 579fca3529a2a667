"""A validator's objective challenges: a withheld input goes to the contract, not a jury.

Jurors cannot judge an input they cannot see (they abstain), so a receipt whose
input the node would not hand over for ``patience`` ticks is not disputed: the
validator opens ``Disputes.challengeInput`` (:mod:`cairn.chain.challenges`) and
the node must post the input onchain within the response window. Every tick the
validator also resolves any challenge past its window with no answer — its own
or another validator's: anyone may — and its credits are claimed with the
dispute payouts (:meth:`cairn.verification.Validator.tick`).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Protocol

from cairn.chain import Chain
from cairn.chain.challenges import ChallengeStatus
from cairn.errors import ContractRevert
from cairn.identity import Signer
from cairn.receipts import Receipt
from cairn.verification._state import AuditRow, ValidatorState
from cairn.verification.reexecute import evidence_for

__all__ = ["challenge_withheld", "serve_challenges"]

log = logging.getLogger(__name__)


class _Validator(Protocol):
    """What of :class:`cairn.verification.Validator` a challenge needs."""

    account: Signer
    state: ValidatorState

    def _chain(self) -> AbstractContextManager[Chain]: ...


def challenge_withheld(
    v: _Validator, row: AuditRow, receipt: Receipt, members: list[Receipt], reason: str
) -> int | None:
    """Oblige the node to post ``receipt``'s input onchain; the challenge id, or None if the
    receipt is already challenged, posted or judged (recorded as unavailable)."""
    evidence = evidence_for(receipt, members, row.batch_id)
    digest = receipt.digest()
    try:
        with v._chain() as c:
            d = c.disputes
            if d.verdict_of(digest) or d.input_posted(digest) or d.active_input_challenge(digest):
                v.state.settle(row, "unavailable", f"{reason}; already challenged or posted")
                return None
            tx = d.challenge_input(v.account, evidence)
    except ContractRevert as exc:
        v.state.settle(row, "unavailable", f"{reason}; challenge refused: {exc.reason}")
        return None
    log.info("challenged %s to post the input of leaf %d: %s", row.node, row.leaf, reason)
    v.state.settle(row, "challenged", f"input challenge {tx.value}: {reason}")
    v.state.track_challenge(tx.value)
    return tx.value


def serve_challenges(v: _Validator, convicted: list[int]) -> None:
    """Track every new input challenge; resolve those past their window with no answer."""
    with v._chain() as c:
        start = v.state.get("challenge_block", 0)
        head = c.head()
        found = c.disputes.input_challenges(start, to_block=head)
    for ch in found:
        v.state.track_challenge(ch.id)
    v.state.put("challenge_block", head + 1)
    for challenge_id in v.state.open_challenges():
        try:
            with v._chain() as c:
                info = c.disputes.input_challenge(challenge_id)
                if info.status != ChallengeStatus.OPEN:
                    v.state.finish_challenge(challenge_id)
                    continue
                if c.now() <= info.deadline:
                    continue
                conviction = c.disputes.resolve_input(v.account, challenge_id).value
        except ContractRevert as exc:  # lost a race with another validator: fine
            log.info("input challenge %d: %s", challenge_id, exc.reason)
            continue
        v.state.finish_challenge(challenge_id)
        convicted.append(challenge_id)
        log.info("convicted %s: input withheld (slashed %d)", conviction.node, conviction.slashed)
