"""The framing expected value (docs/verification.md, "Framing never pays"): the exact formula
and the simulated draw agree, splitting stake into Sybils buys nothing, and with the network's
default parameters a coalition under a third of the stake loses money by framing."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from cairn.chain import DisputeParams, Outcome, Vote
from cairn.verification.economics import (
    escape_probability,
    framing_ev,
    framing_ev_exact,
    majority_probability,
    settle,
)

ETHER = 10**18
PARAMS = DisputeParams()  # the defaults a network deploys with
STAKE = 2 * ETHER


def test_simulated_draw_matches_the_formula() -> None:
    honest, attacker = [ETHER] * 20, [ETHER // 10] * 101  # attacker[0] is the challenger
    sim = framing_ev(PARAMS, STAKE, honest, attacker, trials=40_000, seed=3)
    exact = framing_ev_exact(PARAMS, STAKE, sim.share)
    assert sim.p_guilty == pytest.approx(exact.p_guilty, abs=0.01)
    assert sim.ev_wei == pytest.approx(exact.ev_wei, abs=0.0005 * ETHER)


def test_splitting_stake_into_identities_buys_no_seats() -> None:
    honest = [ETHER] * 20
    one = framing_ev(PARAMS, STAKE, honest, [ETHER, 9 * ETHER], trials=40_000, seed=1)
    many = framing_ev(PARAMS, STAKE, honest, [ETHER] + [ETHER // 10] * 90, trials=40_000, seed=2)
    assert one.share == pytest.approx(many.share)
    assert one.p_guilty == pytest.approx(many.p_guilty, abs=0.01)


@pytest.mark.parametrize("share", [0.05, 0.2, 0.3, 0.333])
@pytest.mark.parametrize("node_stake", [STAKE, 1000 * ETHER])
def test_framing_loses_money_below_a_third(share: float, node_stake: int) -> None:
    assert framing_ev_exact(PARAMS, node_stake, share).ev_wei < 0


def test_a_majority_can_frame_and_uncapped_rewards_would_pay_a_minority() -> None:
    assert framing_ev_exact(PARAMS, STAKE, 0.6).ev_wei > 0
    uncapped = replace(PARAMS, max_reward_bonds=10**9)
    assert framing_ev_exact(uncapped, 1000 * ETHER, 0.3).ev_wei > 0


def test_settlement_of_each_outcome() -> None:
    seats = Counter({"a": 2, "b": 2, "c": 1})
    guilty = settle(PARAMS, seats, {"a": Vote.GUILTY, "b": Vote.GUILTY, "c": None}, STAKE)
    assert guilty.outcome is Outcome.GUILTY and guilty.slashed == STAKE // 2
    assert guilty.reward == 3 * PARAMS.challenge_bond  # capped at three bonds
    assert guilty.paid["a"] == 2 * PARAMS.juror_penalty  # at most one penalty per seat
    assert guilty.penalties == Counter({"c": PARAMS.juror_penalty})
    cleared = settle(PARAMS, seats, {"a": Vote.INNOCENT, "b": Vote.INNOCENT, "c": Vote.GUILTY}, 1)
    assert cleared.outcome is Outcome.CLEARED and cleared.challenger_credit == 0
    void = settle(PARAMS, seats, {"a": Vote.ABSTAIN, "b": Vote.ABSTAIN, "c": Vote.GUILTY}, STAKE)
    assert void.outcome is Outcome.VOID and void.slashed == 0 and not void.penalties
    for s in (guilty, cleared, void):  # nothing created or lost: bond + slash = credits + burn
        credits = s.challenger_credit + sum(s.paid.values())
        assert s.slashed + PARAMS.challenge_bond + sum(s.penalties.values()) == credits + s.burned


def test_escape_probability() -> None:
    assert majority_probability(5, 1.0) == 1.0 and majority_probability(5, 0.0) == 0.0
    alone = escape_probability(0.05, 0.01, 10_000, 5, 0.0)
    assert alone == pytest.approx((1 - 0.05 * 0.01) ** 10_000)
    assert alone < escape_probability(0.05, 0.01, 10_000, 5, 1 / 3) < 0.05
