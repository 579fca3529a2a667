"""A node's reputation, computed from onchain history only.

Nothing a node says about itself counts, and neither does what nobody checked.
From the chain: its anchors (how many receipts it served under a root) and,
through the audit sample rule, how many of them were *sampled* — what
validators are obliged to audit, whether or not any validator ever ran. What was
*audited* is only what left evidence onchain: each dispute a validator opened
against the node (``DisputeOpened``: a re-execution that disagreed), each
objective challenge (``Challenged``: an input, leaf or anchor the node was
asked for) and each model conviction (``Convicted`` of an unregistered model). A
passing audit leaves no trace (validators stay silent when a node is right), so
a node nobody challenged shows none audited, not all passed. *Passed* is
evidence the node came through (a dispute CLEARED, a challenge ANSWERED);
*failed* is a dispute GUILTY, a challenge UPHELD or a model conviction; a VOID
or open one is neither. Also read: the Disputes contract's ``Resolved`` events
(stake slashed) and its jail; Staking (stake now). ``uptime`` is the share of
audits in which the node handed over what it owed (a lost NO_INPUT dispute or
an upheld withheld-input or withheld-leaf challenge is downtime when it mattered).

The score is the mean of a Beta(1, 1) prior updated with audits passed as
successes and each failed one as ten failures, times uptime; a jailed or
unstaked node scores 0. Clients that pick among nodes sort by it
(:func:`rank_nodes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from cairn.chain import Chain, ChallengeKind, ChallengeStatus, DisputeKind, Outcome, Role
from cairn.errors import NotDeployed
from cairn.verification.sampling import plan_for_anchor

__all__ = ["LOST_WEIGHT", "Reputation", "rank_nodes", "reputation"]

LOST_WEIGHT = 10
_WITHHELD = (ChallengeKind.WITHHELD_INPUT, ChallengeKind.WITHHELD_LEAF)


@dataclass(frozen=True)
class Reputation:
    """A node's record. ``sampled``: receipts the audit rule picked; ``audited``,
    ``passed``, ``failed``: audits with evidence onchain (disputes, challenges,
    model convictions) and how they ended."""

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
    sampled: int = 0
    failed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Evidence:
    """Audits of one node that left a trace onchain, by how they ended."""

    audited: int = 0
    passed: int = 0
    failed: int = 0
    unavailable: int = 0  # failed because the node withheld what it owed
    slashed: int = 0

    def __add__(self, other: _Evidence) -> _Evidence:
        return _Evidence(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


def _sampled(chain: Chain, node: str) -> tuple[int, int]:
    """Receipts anchored, and how many of them the sample rule picked for audit."""
    params = chain.disputes.params()
    history = chain.anchor.anchors(node)
    sampled = 0
    for a in history:
        plan = plan_for_anchor(chain, a, params, history)
        sampled += len(plan.leaves) if plan is not None else 0
    return sum(a.receipt_count for a in history), sampled


def _disputed(chain: Chain, node: str) -> tuple[_Evidence, int, int]:
    """Disputes opened against ``node``; also how many it lost and won."""
    kinds = {d.id: d.kind for d in chain.disputes.opened(node=node)}
    resolved = chain.disputes.resolved(node=node)
    lost = [r for r in resolved if r["outcome"] is Outcome.GUILTY]
    won = sum(1 for r in resolved if r["outcome"] is Outcome.CLEARED)
    no_input = sum(1 for r in lost if kinds.get(int(r["id"])) is DisputeKind.NO_INPUT)
    slashed = sum(int(r["slashed"]) for r in lost)
    return _Evidence(len(kinds), won, len(lost), no_input, slashed), len(lost), won


def _challenged(chain: Chain, node: str) -> _Evidence:
    """Objective challenges of ``node`` and its model convictions (none without Challenges)."""
    try:
        contract = chain.challenges
    except NotDeployed:
        return _Evidence()
    found = _Evidence()
    for c in contract.challenges(node=node):
        status = contract.challenge(c.id).status
        upheld = status is ChallengeStatus.UPHELD
        found += _Evidence(
            1,
            int(status is ChallengeStatus.ANSWERED),
            int(upheld),
            int(upheld and c.kind in _WITHHELD),
        )
    for conviction in contract.convictions(node=node):
        if conviction.kind is ChallengeKind.UNREGISTERED_MODEL:  # no challenge: decided at once
            found += _Evidence(1, 0, 1)
        found += _Evidence(slashed=conviction.slashed)
    return found


def reputation(chain: Chain, node: str) -> Reputation:
    """The node's record on ``chain`` (which must have Disputes deployed)."""
    part = chain.staking.participant(node)
    receipts, sampled = _sampled(chain, node)
    disputed, lost, won = _disputed(chain, node)
    e = disputed + _challenged(chain, node)
    uptime = 1.0 - e.unavailable / max(e.audited, 1)
    jailed = chain.disputes.is_jailed(node)
    staked = chain.staking.is_staked(node, Role.NODE)
    score = (e.passed + 1) / (e.passed + LOST_WEIGHT * e.failed + 2) * uptime
    if jailed or not staked:
        score = 0.0
    return Reputation(
        part.address,
        part.stake,
        staked,
        receipts,
        e.audited,
        e.passed,
        lost,
        won,
        e.slashed,
        jailed,
        round(uptime, 6),
        round(score, 6),
        sampled,
        e.failed,
    )


def rank_nodes(chain: Chain, nodes: Iterable[str]) -> list[Reputation]:
    """``nodes`` best first (by score, then stake)."""
    return sorted((reputation(chain, n) for n in nodes), key=lambda r: (-r.score, -r.stake))
