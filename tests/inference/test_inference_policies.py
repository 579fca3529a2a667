"""Comparison policies: each agrees and disagrees on crafted cases; parsing is strict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cairn.errors import InferenceError
from cairn.inference import (
    Cosine,
    Exact,
    PolicyError,
    Tensor,
    Tolerance,
    TopK,
    Ulp,
    Verdict,
    parse_policy,
)


def out(arr: Any, dtype: Any = np.float32, name: str = "y") -> dict[str, Tensor]:
    return {name: Tensor.from_numpy(np.asarray(arr, dtype=dtype))}


def next_up(x: float, n: int = 1) -> float:
    v = np.float32(x)
    for _ in range(n):
        v = np.nextafter(v, np.float32(np.inf))
    return float(v)


BASE = [0.5, -1.25, 3.0]


def test_verdict_is_truthy_only_when_it_agrees() -> None:
    assert Verdict(True, "ok")
    assert not Verdict(False, "no")


@pytest.mark.parametrize("policy", [Exact(), Tolerance(1e-3), Ulp(2), TopK(1), Cosine(0.99)])
def test_every_policy_rejects_a_different_signature(policy: Any) -> None:
    assert policy.agrees(out(BASE), out(BASE))
    names = policy.agrees(out(BASE), out(BASE, name="z"))
    assert not names and "names differ" in names.reason
    dtype = policy.agrees(out(BASE), out(BASE, np.float64))
    assert not dtype and "expected float32[3]" in dtype.reason
    shape = policy.agrees(out([BASE]), out(BASE))
    assert not shape


def test_exact() -> None:
    assert Exact().agrees(out(BASE), out(BASE))
    verdict = Exact().agrees(out(BASE), out([0.5, -1.25, next_up(3.0)]))
    assert not verdict and "first at byte 8" in verdict.reason
    assert not Exact().agrees(out([0.0]), out([-0.0]))


def test_tolerance_atol_and_rtol() -> None:
    assert Tolerance(1e-3).agrees(out(BASE), out([0.5009, -1.2491, 3.0]))
    verdict = Tolerance(1e-3).agrees(out(BASE), out([0.502, -1.25, 3.0]))
    assert not verdict and "> atol" in verdict.reason
    assert Tolerance(0.0, rtol=1e-2).agrees(out([100.0]), out([100.9]))
    assert not Tolerance(0.0, rtol=1e-2).agrees(out([100.0]), out([101.1]))


def test_tolerance_nan_and_inf() -> None:
    assert Tolerance(1e-6).agrees(out([np.nan, np.inf]), out([np.nan, np.inf]))
    verdict = Tolerance(1e-6).agrees(out([np.nan, 1.0]), out([1.0, 1.0]))
    assert not verdict and "NaN" in verdict.reason
    assert not Tolerance(1e6).agrees(out([np.inf]), out([-np.inf]))


def test_tolerance_on_integers_means_equal() -> None:
    assert Tolerance(1e-5).agrees(out([3, 7], np.int64), out([3, 7], np.int64))
    assert not Tolerance(1e-5).agrees(out([3, 7], np.int64), out([3, 8], np.int64))


def test_ulp() -> None:
    assert Ulp(4).agrees(out(BASE), out([next_up(0.5, 4), -1.25, 3.0]))
    verdict = Ulp(4).agrees(out(BASE), out([next_up(0.5, 5), -1.25, 3.0]))
    assert not verdict and "5 ulp apart" in verdict.reason
    assert Ulp(0).agrees(out([0.0]), out([-0.0]))
    tiny = float(np.nextafter(np.float32(0), np.float32(1)))
    assert Ulp(2).agrees(out([tiny]), out([-tiny]))  # straddling zero: 2 steps
    assert not Ulp(1).agrees(out([tiny]), out([-tiny]))
    assert Ulp(0).agrees(out([np.nan]), out([np.nan]))
    assert Ulp(1).agrees(out([1.0], np.float64), out([float(np.nextafter(1.0, 2.0))], np.float64))
    assert Ulp(1).agrees(out([1.0], np.float16), out([np.nextafter(np.float16(1), 2)], np.float16))
    verdict = Ulp(1).agrees(out([1], np.int64), out([1], np.int64))
    assert not verdict and "float dtype" in verdict.reason


def test_topk_unordered_and_ordered() -> None:
    e = out([[0.1, 0.9, 0.5, 0.7], [4.0, 3.0, 2.0, 1.0]])
    swapped = out([[0.1, 0.7, 0.5, 0.9], [4.0, 3.0, 2.0, 1.0]])  # same top-2 set, other order
    assert TopK(2).agrees(e, swapped)
    verdict = TopK(2, ordered=True).agrees(e, swapped)
    assert not verdict and "row 0" in verdict.reason
    changed = out([[0.1, 0.9, 0.8, 0.7], [4.0, 3.0, 2.0, 1.0]])
    assert not TopK(2).agrees(e, changed)
    assert not TopK(1).agrees(e, out([[0.1, 0.9, 0.5, 0.7], [1.0, 3.0, 2.0, 4.0]]))
    verdict = TopK(5).agrees(e, e)
    assert not verdict and "last axis" in verdict.reason


def test_topk_ties_break_by_lower_index() -> None:
    assert TopK(1, ordered=True).agrees(out([1.0, 1.0, 0.0]), out([1.0, 1.0, 0.0]))
    assert TopK(2).agrees(out([2.0, 1.0, 1.0]), out([2.0, 1.0, 0.99]))
    assert not TopK(2).agrees(out([2.0, 1.0, 1.0]), out([2.0, 0.99, 1.0]))


def test_cosine_per_row() -> None:
    e = out([[1.0, 0.0], [0.6, 0.8]])
    assert Cosine(0.999).agrees(e, out([[2.0, 0.001], [0.6, 0.8]]))  # scale does not matter
    verdict = Cosine(0.999).agrees(e, out([[1.0, 0.0], [0.8, 0.6]]))
    assert not verdict and "cosine 0.96" in verdict.reason
    assert Cosine(1.0).agrees(out([[0.0, 0.0]]), out([[0.0, 0.0]]))
    assert not Cosine(0.5).agrees(out([[0.0, 0.0]]), out([[1.0, 0.0]]))
    assert not Cosine(0.5).agrees(out([[np.nan, 0.0]]), out([[np.nan, 0.0]]))


@pytest.mark.parametrize(
    ("obj", "policy"),
    [
        ({"kind": "exact"}, Exact()),
        ({"kind": "tolerance", "atol": 1e-5}, Tolerance(1e-5)),
        ({"kind": "tolerance", "atol": 0, "rtol": 0.01}, Tolerance(0.0, 0.01)),
        ({"kind": "ulp", "max_ulp": 4}, Ulp(4)),
        ({"kind": "topk", "k": 5}, TopK(5)),
        ({"kind": "topk", "k": 5, "ordered": True}, TopK(5, ordered=True)),
        ({"kind": "cosine", "min": 0.999}, Cosine(0.999)),
    ],
)
def test_parse_and_round_trip(obj: dict[str, Any], policy: Any) -> None:
    assert parse_policy(obj) == policy
    assert parse_policy(policy.to_dict()) == policy


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ("exact", "an object"),
        ({}, "unknown policy kind None"),
        ({"kind": "cosin", "min": 0.9}, "did you mean 'cosine'"),
        ({"kind": "exact", "atol": 1}, "unknown \\['atol'\\]"),
        ({"kind": "tolerance"}, "missing \\['atol'\\]"),
        ({"kind": "tolerance", "atol": -1}, "invalid atol"),
        ({"kind": "tolerance", "atol": float("nan")}, "invalid atol"),
        ({"kind": "tolerance", "atol": "1e-5"}, "invalid atol"),
        ({"kind": "ulp", "max_ulp": 1.5}, "invalid max_ulp"),
        ({"kind": "topk", "k": 0}, "invalid k"),
        ({"kind": "topk", "k": True}, "invalid k"),
        ({"kind": "topk", "k": 3, "ordered": 1}, "invalid ordered"),
        ({"kind": "cosine", "min": 1.5}, "invalid min"),
    ],
)
def test_parse_errors(obj: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as info:
        parse_policy(obj)
    assert isinstance(info.value, InferenceError)
    assert isinstance(info.value, ValueError)


def test_multiple_outputs_all_must_agree() -> None:
    e = {**out([0.2, 0.8], name="probabilities"), **out([1], np.int64, name="label")}
    a = {**out([0.2, 0.8], name="probabilities"), **out([0], np.int64, name="label")}
    verdict = Tolerance(1e-5).agrees(e, a)
    assert not verdict and verdict.reason.startswith("label:")
