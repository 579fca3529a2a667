"""The framing expected value (docs/verification.md, "Framing never pays"): the exact formula
and the simulated draw agree, splitting stake into Sybils buys nothing, and a coalition under
a third of the stake loses money by framing."""

from __future__ import annotations

import pytest

from cairn.verification.economics import (
    FramingModel,
    escape_probability,
    framing_ev,
    framing_ev_exact,
    majority_probability,
)

ETHER = 10**18
MODEL = FramingModel(
    committee_size=5,
    challenge_bond=ETHER // 100,
    slash_bps=5000,
    reward_bps=5000,
    max_reward_bonds=3,
    juror_penalty=ETHER // 100,
    node_stake=2 * ETHER,
)


def test_simulated_draw_matches_the_formula() -> None:
    honest, attacker = [ETHER] * 20, [ETHER // 10] * 101  # attacker[0] is the challenger
    sim = framing_ev(MODEL, honest, attacker, trials=40_000, seed=3)
    exact = framing_ev_exact(MODEL, sim.share)
    assert sim.p_guilty == pytest.approx(exact.p_guilty, abs=0.01)
    assert sim.ev_wei == pytest.approx(exact.ev_wei, abs=0.0005 * ETHER)


def test_splitting_stake_into_identities_buys_no_seats() -> None:
    honest = [ETHER] * 20
    one = framing_ev(MODEL, honest, [ETHER, 9 * ETHER], trials=40_000, seed=1)
    many = framing_ev(MODEL, honest, [ETHER] + [ETHER // 10] * 90, trials=40_000, seed=2)
    assert one.share == pytest.approx(many.share)
    assert one.p_guilty == pytest.approx(many.p_guilty, abs=0.01)


@pytest.mark.parametrize("share", [0.05, 0.2, 0.3, 0.333])
def test_framing_loses_money_below_a_third_and_pays_above_a_half(share: float) -> None:
    assert framing_ev_exact(MODEL, share).ev_wei < 0
    rich_node = FramingModel(**{**MODEL.__dict__, "node_stake": 1000 * ETHER})
    assert framing_ev_exact(rich_node, share).ev_wei < 0  # the reward cap holds it down
    assert framing_ev_exact(MODEL, 0.6).ev_wei > 0  # a majority of the stake can frame


def test_uncapped_rewards_would_make_framing_a_rich_node_pay() -> None:
    uncapped = FramingModel(**{**MODEL.__dict__, "max_reward_bonds": 10**9, "node_stake": 10**21})
    assert framing_ev_exact(uncapped, 0.3).ev_wei > 0


def test_escape_probability() -> None:
    assert majority_probability(5, 1.0) == 1.0 and majority_probability(5, 0.0) == 0.0
    alone = escape_probability(0.05, 0.01, 10_000, 5, 0.0)
    assert alone == pytest.approx((1 - 0.05 * 0.01) ** 10_000)
    assert alone < escape_probability(0.05, 0.01, 10_000, 5, 1 / 3) < 0.05
