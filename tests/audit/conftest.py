"""Fixtures for the auditor's tests: a stack good everywhere, to break one piece at a time."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from cairn.audit import Report, StackManifest, audit

GOOD: dict[str, Any] = {
    "name": "good stack",
    "layers": {
        "storage": {
            "operated_by": "three gateways",
            "operators": 3,
            "control": {"by": "nobody"},
            "on_operator_offline": "fails_over",
            "content_addressed": True,
            "gateways": 3,
        },
        "inference": {
            "operated_by": "staked nodes",
            "operators": 5,
            "control": {"by": "operators"},
            "on_operator_offline": "fails_over",
            "data": {"encrypted": ["prompts"]},
            "sybil_resistance": ["stake"],
            "location": "operator_nodes",
            "permissionless": True,
        },
        "training": {
            "operated_by": "a federation",
            "operators": 4,
            "control": {"by": "nobody"},
            "mode": "federated",
            "lineage_signed": True,
            "contributions_signed": True,
        },
        "identity_payments": {
            "operated_by": "an L2",
            "operators": 3,
            "control": {"by": "nobody"},
            "settlement": "l2",
            "custody": "self",
        },
        "governance": {
            "operated_by": "a multisig",
            "operators": 5,
            "control": {"by": "multisig", "signers": 5, "threshold": 3, "delay_s": 604800},
            "collusion_safeguards": ["slashing", "random_selection"],
        },
        "verification": {
            "operated_by": "validators",
            "operators": 5,
            "control": {"by": "nobody"},
            "sybil_resistance": ["stake"],
            "methods": ["signed_receipts", "sampled_reexecution"],
            "sampling_rate": 0.05,
            "slashing": True,
        },
    },
    "disclosure": {
        "architecture": "documented",
        "hybrid_disclosed": True,
        "latency": "explained",
        "routing": "explained",
        "verification": "explained",
    },
    "claims": ["verifiable inference"],
}


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


@pytest.fixture
def stack() -> Callable[..., dict[str, Any]]:
    """``stack({"layers.inference.operators": 1})``: the good stack with some fields changed."""

    def make(changes: dict[str, Any] | None = None) -> dict[str, Any]:
        data = copy.deepcopy(GOOD)
        for dotted, value in (changes or {}).items():
            _set(data, dotted, value)
        return data

    return make


@pytest.fixture
def report(stack: Callable[..., dict[str, Any]]) -> Callable[..., Report]:
    """``report({...changes})``: audit the good stack with some fields changed."""

    def make(changes: dict[str, Any] | None = None) -> Report:
        return audit(StackManifest.model_validate(stack(changes)))

    return make
