"""A node's reputation, computed from onchain history only.

Nothing a node says about itself counts. From the chain: its anchors (how many
receipts it served under a root) and, through the audit sample rule, how many of
them were audited; the Disputes contract's ``Resolved`` events (disputes lost
and won, stake slashed) and its jail; Staking (stake now). ``uptime`` is the
share of audited receipts whose input the node handed over (a lost NO_INPUT
dispute is downtime when it mattered).

The score is the mean of a Beta(1, 1) prior updated with audits passed as
successes and each lost dispute as ten failures, times uptime; a jailed or
unstaked node scores 0. Clients that pick among nodes sort by it
(:func:`rank_nodes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from cairn.chain import Chain, DisputeKind, Outcome, Role
from cairn.verification.sampling import plan_for_anchor

__all__ = ["LOST_WEIGHT", "Reputation", "rank_nodes", "reputation"]

LOST_WEIGHT = 10


@dataclass(frozen=True)
class Reputation:
    node: str
    stake: int
    staked: bool
    receipts: int
    audited: int
    passed: int
    disputes_lost: int
    disputes_won: int
    slashed_wei: int
    jailed: bool
    uptime: float
    score: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _audited(chain: Chain, node: str) -> tuple[int, int]:
    params = chain.disputes.params()
    history = chain.anchor.anchors(node)
    audited = 0
    for a in history:
        plan = plan_for_anchor(chain, a, params, history)
        audited += len(plan.leaves) if plan is not None else 0
    return sum(a.receipt_count for a in history), audited


def reputation(chain: Chain, node: str) -> Reputation:
    """The node's record on ``chain`` (which must have Disputes deployed)."""
    part = chain.staking.participant(node)
    receipts, audited = _audited(chain, node)
    kinds = {d.id: d.kind for d in chain.disputes.opened(node=node)}
    resolved = chain.disputes.resolved(node=node)
    lost = [r for r in resolved if r["outcome"] is Outcome.GUILTY]
    won = [r for r in resolved if r["outcome"] is Outcome.CLEARED]
    no_input = sum(1 for r in lost if kinds.get(int(r["id"])) is DisputeKind.NO_INPUT)
    passed = max(audited - len(lost), 0)
    uptime = 1.0 - no_input / max(audited, no_input, 1)
    jailed = chain.disputes.is_jailed(node)
    staked = chain.staking.is_staked(node, Role.NODE)
    score = (passed + 1) / (passed + LOST_WEIGHT * len(lost) + 2) * uptime
    if jailed or not staked:
        score = 0.0
    return Reputation(
        part.address,
        part.stake,
        staked,
        receipts,
        audited,
        passed,
        len(lost),
        len(won),
        sum(int(r["slashed"]) for r in lost),
        jailed,
        round(uptime, 6),
        round(score, 6),
    )


def rank_nodes(chain: Chain, nodes: Iterable[str]) -> list[Reputation]:
    """``nodes`` best first (by score, then stake)."""
    return sorted((reputation(chain, n) for n in nodes), key=lambda r: (-r.score, -r.stake))
