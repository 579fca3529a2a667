"""What a framing attempt is worth: the expected value to a coalition that disputes an honest node.

A coalition of validators holding a share ``q`` of the juror pool's stake opens a
dispute against a receipt it knows is honest and votes *guilty* with every seat
it wins; honest jurors re-execute and vote *innocent*. The ``k`` seats of a
committee are drawn **by stake, with replacement** (a juror may hold several
seats and votes with each), from a seed nobody knew when the candidates were
fixed — so the coalition's seats are ``a ~ Binomial(k, q)`` however it splits its
stake into identities. With every juror revealing, the verdict is GUILTY exactly
when ``a > k/2`` (docs/verification.md, "Framing never pays").

Payoffs, with ``S`` the node's stake, ``B`` the challenge bond, ``π`` the juror
penalty (and the pay of a juror voting with the majority):

- GUILTY: the challenger's reward ``R = min(S·slash·reward, m·B)`` — capped at
  ``m`` bonds, so that framing a richer node pays no more — plus ``π`` for each
  of the coalition's seats (the whole majority is the coalition's); bond returned.
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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FramingModel",
    "FramingResult",
    "escape_probability",
    "framing_ev",
    "framing_ev_exact",
    "majority_probability",
    "outcome_payoff",
]

BPS = 10_000


@dataclass(frozen=True)
class FramingModel:
    """The parameters that price a framing attempt (wei, basis points, bonds)."""

    committee_size: int
    challenge_bond: int
    slash_bps: int
    reward_bps: int
    max_reward_bonds: int
    juror_penalty: int
    node_stake: int

    def reward(self) -> int:
        slashed = self.node_stake * self.slash_bps // BPS
        return min(slashed * self.reward_bps // BPS, self.max_reward_bonds * self.challenge_bond)


@dataclass(frozen=True)
class FramingResult:
    """A coalition's expected value per attempt (wei) and how often it wins."""

    share: float
    ev_wei: float
    p_guilty: float
    trials: int


def outcome_payoff(model: FramingModel, attacker_seats: int) -> int:
    """The coalition's net wei for one dispute, every juror revealing."""
    k = model.committee_size
    if 2 * attacker_seats > k:
        return model.reward() + attacker_seats * model.juror_penalty
    return -model.challenge_bond - attacker_seats * model.juror_penalty


def framing_ev_exact(model: FramingModel, share: float) -> FramingResult:
    """EV for a coalition with stake share ``share`` of the candidates: a ~ Binomial(k, q)."""
    k = model.committee_size
    ev = p_guilty = 0.0
    for a in range(k + 1):
        p = math.comb(k, a) * share**a * (1 - share) ** (k - a)
        ev += p * outcome_payoff(model, a)
        p_guilty += p if 2 * a > k else 0.0
    return FramingResult(share, ev, p_guilty, 0)


def framing_ev(
    model: FramingModel,
    honest: Sequence[int],
    attacker: Sequence[int],
    trials: int = 20_000,
    seed: int = 0,
) -> FramingResult:
    """Simulate ``trials`` committees drawn seat by seat, by stake, with replacement, from a
    pool of ``honest`` and ``attacker`` stakes; ``attacker[0]`` is the challenger, who
    cannot sit."""
    if not attacker:
        raise ValueError("the coalition needs at least its challenger")
    stakes = np.asarray([*honest, *attacker[1:]], dtype=np.float64)
    sits = np.asarray([False] * len(honest) + [True] * (len(attacker) - 1))
    rng = np.random.default_rng(seed)
    draws = rng.choice(len(stakes), size=(trials, model.committee_size), p=stakes / stakes.sum())
    seats = sits[draws].sum(axis=1)
    payoffs = [outcome_payoff(model, int(a)) for a in seats]
    share = float(sum(attacker[1:])) / float(stakes.sum())
    guilty = float(np.mean(2 * seats > model.committee_size))
    return FramingResult(share, float(np.mean(payoffs)), guilty, trials)


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
