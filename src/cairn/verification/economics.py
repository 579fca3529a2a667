"""What a framing attempt is worth: the expected value to a coalition that disputes an honest node.

A coalition of validators holding a share ``q`` of the juror pool's stake opens a
dispute against a receipt it knows is honest and votes *guilty* with every seat
it wins; honest jurors re-execute and vote *innocent*. The ``k`` seats of a
committee are drawn **by stake, with replacement** (a juror may hold several
seats and votes with each), from a seed nobody knew when the candidates were
fixed — so the coalition's seats are ``a ~ Binomial(k, q)`` however it splits its
stake into identities. With every juror revealing, the verdict is GUILTY exactly
when ``a > k/2`` (docs/verification.md, "Framing never pays").

Payoffs (:func:`settle`, the Python model of ``Disputes.resolve`` that the
contract tests hold the contract to, to the wei), with ``S`` the node's stake,
``B`` the challenge bond, ``π`` the juror penalty:

- GUILTY: the challenger's reward ``R = min(S·slash·reward, m·B)`` — capped at
  ``m`` bonds — and the guilty seats' share of ``min(S·slash·jurorReward, a·π)``
  — at most ``π`` a seat — so that framing a richer node pays no more; bond returned.
- CLEARED: the bond ``B`` is lost, and each coalition seat, in the minority, loses ``π``.

    EV = P·(R + E[a | G]·π) − (1 − P)·(B + E[a | ¬G]·π),   P = P(a > k/2)

Since ``R ≤ m·B`` and ``P < 1/2`` for ``q < 1/2``, EV < 0 whenever
``m < (1 − P)/P`` at the largest ``q`` considered: for ``q < 1/3`` and ``k = 5``,
``P < 0.21`` and any ``m ≤ 3`` will do. :func:`framing_ev` computes EV exactly
(:func:`framing_ev_exact`) and by simulating the draw; gas is ignored (it only
lowers the attacker's value).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cairn.chain import DisputeParams, Outcome, Vote

__all__ = [
    "FramingResult",
    "Settlement",
    "convict",
    "escape_probability",
    "framing_ev",
    "framing_ev_exact",
    "majority_probability",
    "outcome_payoff",
    "settle",
]

BPS = 10_000


@dataclass(frozen=True)
class Settlement:
    """What ``Disputes.resolve`` does with one dispute, to the wei."""

    outcome: Outcome
    slashed: int
    reward: int
    challenger_credit: int  # bond returned (GUILTY, VOID) + reward (GUILTY)
    paid: Counter[str] = field(default_factory=Counter)  # per juror, credited to claim
    penalties: Counter[str] = field(default_factory=Counter)  # per juror, taken from stake
    burned: int = 0


def settle(
    params: DisputeParams,
    seats: Mapping[str, int],
    votes: Mapping[str, Vote | None],
    slashable: int,
) -> Settlement:
    """The outcome and every payout of a dispute whose committee holds ``seats`` (juror →
    seat count) and revealed ``votes``; ``slashable`` is the node's bonded + unbonding stake."""
    guilty = sum(n for j, n in seats.items() if votes.get(j) is Vote.GUILTY)
    innocent = sum(n for j, n in seats.items() if votes.get(j) is Vote.INNOCENT)
    bond, slashed, reward, pot = params.challenge_bond, 0, 0, 0
    winning: Vote | None = None
    if guilty + innocent < sum(seats.values()) // 2 + 1:
        outcome, credit = Outcome.VOID, bond
    elif guilty > innocent:
        outcome, winning = Outcome.GUILTY, Vote.GUILTY
        slashed = slashable * params.slash_bps // BPS
        reward = min(slashed * params.reward_bps // BPS, params.max_reward_bonds * bond)
        pot = min(slashed * params.juror_reward_bps // BPS, guilty * params.juror_penalty)
        credit = bond + reward
    else:
        outcome, winning, credit = Outcome.CLEARED, Vote.INNOCENT, 0
        pot = bond * params.juror_reward_bps // BPS
    winners = guilty if winning is Vote.GUILTY else innocent
    share = pot // winners if winning is not None and winners else 0
    paid, penalties = Counter[str](), Counter[str]()
    for juror, n in seats.items():
        vote = votes.get(juror)
        if vote is None or (winning is not None and vote not in (winning, Vote.ABSTAIN)):
            penalties[juror] = n * params.juror_penalty
        elif vote is winning:
            paid[juror] = n * share
    burned = slashed + bond - credit - sum(paid.values()) + sum(penalties.values())
    return Settlement(outcome, slashed, reward, credit, paid, penalties, burned)


def convict(params: DisputeParams, slashable: int, bond: int) -> Settlement:
    """What an objective conviction (``Disputes.convict``: an unanswered input, leaf or
    anchor challenge, ``bond`` = the challenge bond; a model challenge, ``bond`` = 0) does,
    to the wei: no
    jury, so the slash is split between the challenger's capped reward and the burn."""
    slashed = slashable * params.slash_bps // BPS
    reward = min(
        slashed * params.reward_bps // BPS, params.max_reward_bonds * params.challenge_bond
    )
    return Settlement(Outcome.GUILTY, slashed, reward, bond + reward, burned=slashed - reward)


@dataclass(frozen=True)
class FramingResult:
    """A coalition's expected value per attempt (wei) and how often it wins."""

    share: float
    ev_wei: float
    p_guilty: float
    trials: int


def outcome_payoff(params: DisputeParams, node_stake: int, attacker_seats: int) -> int:
    """The coalition's net wei for one framing dispute, every juror revealing: its seats vote
    guilty, the honest seats innocent (penalties are a loss of stake, counted as wei)."""
    honest = params.committee_size - attacker_seats
    seats = {"coalition": attacker_seats, "honest": honest}
    result = settle(params, seats, {"coalition": Vote.GUILTY, "honest": Vote.INNOCENT}, node_stake)
    return (
        result.challenger_credit
        - params.challenge_bond
        + result.paid["coalition"]
        - result.penalties["coalition"]
    )


def framing_ev_exact(params: DisputeParams, node_stake: int, share: float) -> FramingResult:
    """EV for a coalition with stake share ``share`` of the candidates: a ~ Binomial(k, q)."""
    k = params.committee_size
    ev = p_guilty = 0.0
    for a in range(k + 1):
        p = math.comb(k, a) * share**a * (1 - share) ** (k - a)
        ev += p * outcome_payoff(params, node_stake, a)
        p_guilty += p if 2 * a > k else 0.0
    return FramingResult(share, ev, p_guilty, 0)


def framing_ev(
    params: DisputeParams,
    node_stake: int,
    honest: Sequence[int],
    attacker: Sequence[int],
    trials: int = 20_000,
    seed: int = 0,
) -> FramingResult:
    """Simulate ``trials`` committees drawn seat by seat, by stake, with replacement (as the
    Disputes contract draws them) from a pool of ``honest`` and ``attacker`` stakes;
    ``attacker[0]`` is the challenger, who cannot sit."""
    if not attacker:
        raise ValueError("the coalition needs at least its challenger")
    stakes = np.asarray([*honest, *attacker[1:]], dtype=np.float64)
    sits = np.asarray([False] * len(honest) + [True] * (len(attacker) - 1))
    rng = np.random.default_rng(seed)
    draws = rng.choice(len(stakes), size=(trials, params.committee_size), p=stakes / stakes.sum())
    seats = sits[draws].sum(axis=1)
    payoff = {a: outcome_payoff(params, node_stake, a) for a in range(params.committee_size + 1)}
    share = float(sum(attacker[1:])) / float(stakes.sum())
    guilty = float(np.mean(2 * seats > params.committee_size))
    return FramingResult(share, float(np.mean([payoff[int(a)] for a in seats])), guilty, trials)


def majority_probability(committee_size: int, share: float) -> float:
    """P(a party holding ``share`` of the stake wins a strict majority of the seats)."""
    k = committee_size
    return sum(
        math.comb(k, a) * share**a * (1 - share) ** (k - a) for a in range(k + 1) if 2 * a > k
    )


def escape_probability(
    rate: float, cheat: float, requests: int, committee_size: int, colluding_share: float
) -> float:
    """P(a node cheating on a fraction ``cheat`` of ``requests`` is never convicted).

    Each wrong answer is sampled with probability ``rate`` and then disputed; each
    dispute is judged by a fresh committee, which convicts unless validators
    colluding with the node (``colluding_share`` of the stake) win its majority:
    ``(1 − rate·cheat·P(convict))^requests``.
    """
    convict = majority_probability(committee_size, 1.0 - colluding_share)
    return float((1.0 - rate * cheat * convict) ** requests)
