"""The sampling rule itself (docs/verification.md, "Sampling"): known answers, first-K at
100%, and one plan for an anchor whoever draws it (validator and reputation alike)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from eth_hash.auto import keccak

from cairn.chain import Anchor, DisputeParams
from cairn.errors import EvidenceMismatch
from cairn.verification import (
    audit_seed,
    detection_probability,
    is_sampled,
    plan_batch,
    plan_for_anchor,
    requests_to_detect,
    simulate_detection,
)

NODE = "0x" + "ab" * 20
HASH = bytes.fromhex("11" * 32)


def test_seed_and_draw_follow_the_documented_formula() -> None:
    seed = audit_seed(HASH, NODE, 7)
    assert seed == keccak(HASH + bytes.fromhex("ab" * 20) + (7).to_bytes(32, "big"))
    for leaf in range(50):
        draw = int.from_bytes(keccak(seed + leaf.to_bytes(32, "big")), "big")
        assert is_sampled(seed, leaf, 50_000) == (draw * 1_000_000 < 50_000 * 2**256)
    assert all(is_sampled(seed, i, 1_000_000) for i in range(20))
    assert not any(is_sampled(seed, i, 0) for i in range(20))
    # the rate is in parts per million exactly: this leaf's draw lies in the top millionth
    # (found by search), so 100% samples it and 99.9999% does not
    assert is_sampled(seed, 5_196_369, 1_000_000)
    assert not is_sampled(seed, 5_196_369, 999_999)


def test_first_k_receipts_are_always_audited_then_the_rate_applies() -> None:
    full = plan_batch(HASH, NODE, 1, count=10, first_index=0, rate_ppm=0, full_audit_receipts=4)
    assert full.leaves == (0, 1, 2, 3)
    later = plan_batch(HASH, NODE, 2, count=10, first_index=4, rate_ppm=0, full_audit_receipts=4)
    assert later.leaves == ()
    straddle = plan_batch(HASH, NODE, 2, count=10, first_index=2, rate_ppm=0, full_audit_receipts=4)
    assert straddle.leaves == (0, 1)
    # at 5%, a realistic first-K of 100 and a batch of 10 000 draws about 500 leaves
    big = plan_batch(HASH, NODE, 3, 10_000, 100, 50_000, 100)
    assert 400 < len(big.leaves) < 600


@dataclass
class _Anchors:
    history: list[Anchor]

    def anchors(self, node: str) -> list[Anchor]:
        return list(self.history)


@dataclass
class _Chain:
    head_block: int
    anchor: _Anchors
    hashes: dict[int, bytes] = field(default_factory=dict)

    def head(self) -> int:
        return self.head_block

    def block_hash(self, number: int) -> bytes:
        return self.hashes.setdefault(number, keccak(number.to_bytes(8, "big")))


def test_plan_for_anchor_numbers_receipts_in_chain_order_and_waits_for_the_next_block() -> None:
    history = [Anchor(NODE, b, b"\0" * 32, 3, 10 + b, "0x") for b in (1, 2, 3)]
    chain = _Chain(head_block=13, anchor=_Anchors(history))
    params = DisputeParams(audit_rate_ppm=0, full_audit_receipts=5)
    first = plan_for_anchor(chain, history[0], params)  # type: ignore[arg-type]
    second = plan_for_anchor(chain, history[1], params)  # type: ignore[arg-type]
    assert first is not None and first.leaves == (0, 1, 2)  # receipts 0..2
    assert second is not None and second.leaves == (0, 1)  # receipts 3, 4 (first-K = 5)
    assert plan_for_anchor(chain, history[2], params) is None  # type: ignore[arg-type]
    chain.head_block = 14
    third = plan_for_anchor(chain, history[2], params)  # type: ignore[arg-type]
    assert third is not None and third.leaves == ()
    assert third.seed == audit_seed(chain.block_hash(14), NODE, 3)


def test_an_anchor_missing_from_the_history_is_refused_not_numbered() -> None:
    history = [Anchor(NODE, b, b"\0" * 32, 3, 10 + b, "0x") for b in (1, 2)]
    stranger = Anchor(NODE, 9, b"\0" * 32, 3, 11, "0x")  # same block as batch 1, other id
    chain = _Chain(head_block=20, anchor=_Anchors(history))
    with pytest.raises(EvidenceMismatch, match="batch 9 is not among"):
        plan_for_anchor(chain, stranger, DisputeParams(), history)  # type: ignore[arg-type]


def test_detection_probability_known_answers() -> None:
    """1 - (1 - p·f)^n at p = 5%, f = 10%: 919 requests reach 99%, 918 do not."""
    assert detection_probability(0.05, 0.1, 100) == pytest.approx(1 - 0.995**100, rel=1e-12)
    assert detection_probability(0.05, 0.1, 0) == 0.0
    assert requests_to_detect(0.05, 0.1) == 919
    assert detection_probability(0.05, 0.1, 919) >= 0.99 > detection_probability(0.05, 0.1, 918)
    assert requests_to_detect(0.05, 0.1, target=0.9) == 460


def test_simulated_detection_matches_the_formula() -> None:
    rate, caught = simulate_detection(0.5, 1.0, n=1, trials=2000, seed=3)
    assert set(caught) == {1} and rate == len(caught) / 2000
    assert 0.45 < rate < 0.55
    rate, caught = simulate_detection(0.05, 0.1, n=919, trials=20_000)
    assert abs(rate - detection_probability(0.05, 0.1, 919)) < 0.005
    assert max(caught) <= 919
