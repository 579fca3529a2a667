"""Each rosette colour, each red flag and each stage, triggered by a minimal change."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest

from cairn.audit import LAYERS, Report
from cairn.audit.rules import FLAG_RULES

Make = Callable[..., Report]


def test_the_good_stack_is_good_everywhere_and_stage_2(report: Make) -> None:
    r = report()
    assert {k: p.rating for k, p in r.rosette.items()} == dict.fromkeys(LAYERS, "good")
    assert r.red_flags == ()
    assert (r.stage.stage, r.stage.missing) == (2, ())
    assert len(r.questions) == 8


PETALS: list[tuple[str, str, dict[str, Any], str]] = [
    ("storage", "warning", {"layers.storage.gateways": 1}, "1 gateway"),
    ("storage", "bad", {"layers.storage.content_addressed": False}, "not content-addressed"),
    (
        "inference",
        "good",
        {"layers.inference.location": "client_device", "layers.inference.operators": 1},
        "own device",
    ),
    ("inference", "warning", {"layers.inference.permissionless": False}, "permissioned"),
    ("inference", "warning", {"layers.inference.on_operator_offline": "halts"}, "fail over"),
    ("inference", "bad", {"layers.inference.operators": 1}, "one operator"),
    (
        "training",
        "warning",
        {"layers.training.mode": "centralized", "layers.training.operators": 1},
        "lineage is signed",
    ),
    ("training", "warning", {"layers.training.contributions_signed": False}, "unsigned"),
    (
        "training",
        "bad",
        {"layers.training.mode": "none", "layers.training.lineage_signed": False},
        "taken on trust",
    ),
    ("identity_payments", "good", {"layers.identity_payments.settlement": "l1"}, "public L1"),
    (
        "identity_payments",
        "warning",
        {"layers.identity_payments.settlement": "sidechain"},
        "sidechain",
    ),
    (
        "identity_payments",
        "warning",
        {"layers.identity_payments.custody": "custodial"},
        "custodial",
    ),
    (
        "identity_payments",
        "warning",
        {"layers.identity_payments.settlement": "none"},
        "no payments",
    ),
    (
        "identity_payments",
        "bad",
        {"layers.identity_payments.settlement": "local_process"},
        "settlement runs in one local process",
    ),
    ("identity_payments", "bad", {"layers.identity_payments.settlement": "database"}, "database"),
    (
        "identity_payments",
        "good",
        {"layers.identity_payments.node_keys": "external_wallet"},
        "the node's keys are held outside it, by a wallet",
    ),
    ("governance", "good", {"layers.governance.control": {"by": "nobody"}}, "immutable"),
    ("governance", "warning", {"layers.governance.control.delay_s": 86400}, "1 day"),
    (
        "governance",
        "warning",
        {"layers.governance.control": {"by": "admin", "delay_s": 604800}},
        "one admin key",
    ),
    ("governance", "bad", {"layers.governance.control": {"by": "admin"}}, "no delay"),
    ("governance", "bad", {"layers.governance.control.delay_s": 0}, "3-of-5 multisig"),
    (
        "verification",
        "good",
        {"layers.verification.methods": ["zk_proof"], "layers.verification.slashing": False},
        "zk",
    ),
    ("verification", "warning", {"layers.verification.slashing": False}, "nothing is slashed"),
    ("verification", "warning", {"layers.verification.operators": 1}, "one verifier"),
    ("verification", "bad", {"layers.verification.methods": ["none"]}, "cannot be checked"),
    ("verification", "bad", {"layers.verification.sampling_rate": 0.0}, "cannot be checked"),
]


@pytest.mark.parametrize(("layer", "rating", "changes", "words"), PETALS)
def test_each_petal_colour(
    report: Make, layer: str, rating: str, changes: dict[str, Any], words: str
) -> None:
    petal = report(changes).rosette[layer]
    assert petal.rating == rating
    assert words in petal.reason


def test_every_layer_reaches_every_colour() -> None:
    seen = {(layer, rating) for layer, rating, _, _ in PETALS}
    seen |= {(layer, "good") for layer in LAYERS}
    assert seen == {(layer, r) for layer in LAYERS for r in ("good", "warning", "bad")}


FLAGS: list[tuple[str, dict[str, Any], str]] = [
    (
        "decentralized-without-details",
        {"claims": ["A fully decentralized AI network"], "disclosure.architecture": None},
        "disclosure.architecture",
    ),
    (
        "token-over-demand",
        {
            "claims": ["Earn 30% APY", "$ABC token airdrop"],
            "token": {"symbol": "ABC", "value_source": "emissions", "emissions_share": 0.8},
        },
        "80% of rewards",
    ),
    (
        "unexplained-operations",
        {"disclosure.latency": None, "disclosure.routing": None},
        "latency, routing",
    ),
    (
        "storage-as-execution",
        {
            "claims": ["Our AI is decentralized because the weights are on IPFS"],
            "layers.inference.operators": 1,
        },
        "only storage is decentralized",
    ),
    (
        "no-collusion-safeguards",
        {"layers.governance.collusion_safeguards": []},
        "collusion_safeguards is empty",
    ),
    (
        "undisclosed-hybrid",
        {"layers.inference.operators": 1, "disclosure.hybrid_disclosed": False},
        "inference",
    ),
    (
        "claim-contradicted",
        {"claims": ["censorship-resistant"], "layers.storage.gateways": 1},
        "single gateway",
    ),
    (
        "claim-contradicted",
        {"claims": ["trustless"], "layers.storage.control": {"by": "admin"}},
        "no delay",
    ),
    (
        "claim-contradicted",
        {"claims": ["fully decentralized"], "layers.verification.operators": 1},
        "verification",
    ),
    (
        "claim-contradicted",
        {"claims": ["private by design"], "layers.inference.data": {"private": ["prompts"]}},
        "plaintext",
    ),
    ("claim-contradicted", {"claims": ["no fees"]}, "users pay fees"),
    (
        "claim-contradicted",
        {"claims": ["permissionless"], "layers.inference.permissionless": False},
        "permissioned",
    ),
    (
        "claim-contradicted",
        {"claims": ["verifiable AI"], "layers.verification.methods": ["none"]},
        "nothing checks",
    ),
    (
        "claim-contradicted",
        {"claims": ["decentralized inference"], "layers.inference.operators": 1},
        "one operator",
    ),
]


@pytest.mark.parametrize(("flag_id", "changes", "words"), FLAGS)
def test_each_red_flag(report: Make, flag_id: str, changes: dict[str, Any], words: str) -> None:
    flags = [f for f in report(changes).red_flags if f.id == flag_id]
    assert flags, f"{flag_id} did not fire"
    assert any(words in f.evidence for f in flags), [f.evidence for f in flags]


def test_every_flag_rule_is_exercised() -> None:
    assert {f for f, _, _ in FLAGS} == set(FLAG_RULES)


def test_token_talk_with_paid_demand_is_not_a_red_flag(report: Make) -> None:
    r = report(
        {
            "claims": ["Earn tokens", "token rewards"],
            "token": {"symbol": "T", "value_source": "paid_demand"},
        }
    )
    assert not [f for f in r.red_flags if f.id == "token-over-demand"]


def test_honest_claims_raise_no_flags(report: Make) -> None:
    assert (
        report(
            {
                "claims": [
                    "censorship-resistant",
                    "trustless",
                    "permissionless",
                    "private",
                    "verifiable",
                ]
            }
        ).red_flags
        == ()
    )


STAGES: list[tuple[int, dict[str, Any], str]] = [
    (0, {"layers.verification.methods": ["signed_receipts"]}, "check outputs"),
    (0, {"layers.storage.content_addressed": False}, "content-addressed"),
    (0, {"layers.identity_payments.settlement": "local_process"}, "one local process"),
    (0, {"layers.governance.control": {"by": "admin"}}, "instant reach"),
    (0, {"layers.verification.control": {"by": "multisig", "signers": 3}}, "instant reach"),
    (0, {"layers.identity_payments.custody": "custodial"}, "funds"),
    (0, {"disclosure.hybrid_disclosed": False, "layers.inference.operators": 1}, "disclosed"),
    (1, {"layers.verification.slashing": False}, "Verification is rated good"),
    (1, {"layers.inference.permissionless": False}, "Inference is rated good"),
    (1, {"layers.governance.control.delay_s": 3600}, "Governance is rated good"),
    (1, {"layers.identity_payments.settlement": "sidechain"}, "public L1 or L2"),
    (1, {"layers.governance.collusion_safeguards": []}, "collusion"),
    (1, {"disclosure.latency": None}, "No red flags"),
    (2, {}, ""),
]


@pytest.mark.parametrize(("level", "changes", "missing"), STAGES)
def test_each_stage(report: Make, level: int, changes: dict[str, Any], missing: str) -> None:
    stage = report(changes).stage
    assert stage.stage == level
    assert any(missing in m for m in stage.missing) if missing else stage.missing == ()


NAKAMOTO: list[tuple[str, dict[str, Any], int | None]] = [
    ("inference", {"layers.inference.operators": 5}, 3),  # 3 of 5 equal > 1/2
    ("verification", {"layers.verification.operators": 5}, 2),  # 2 of 5 equal > 1/3
    ("verification", {"layers.verification.operators": 3}, 2),  # exactly 1/3 is not enough
    ("inference", {"layers.inference.shares": [0.6, 0.1, 0.1, 0.1, 0.1]}, 1),
    ("inference", {"layers.inference.shares": [0.5, 0.5, 0, 0, 0]}, 2),  # exactly 1/2 is not >
    # 0.3 + 0.1, then 167 of the 998 others at 0.6/998 each to pass 1/2
    ("inference", {"layers.inference.operators": 1000, "layers.inference.shares": [0.3, 0.1]}, 169),
    ("governance", {}, 3),  # a 3-of-5 multisig
    ("governance", {"layers.governance.control": {"by": "nobody"}}, None),
    ("governance", {"layers.governance.control": {"by": "admin"}}, 1),
]


@pytest.mark.parametrize(("layer", "changes", "expected"), NAKAMOTO)
def test_nakamoto(report: Make, layer: str, changes: dict[str, Any], expected: int | None) -> None:
    assert report(changes).nakamoto[layer].coefficient == expected


def test_nakamoto_thresholds_are_stated(report: Make) -> None:
    n = report().nakamoto
    assert n["verification"].threshold == Fraction(1, 3)
    assert n["identity_payments"].threshold == Fraction(1, 3)
    assert n["storage"].threshold == Fraction(1, 2)
    assert set(report().to_dict()["nakamoto"]["storage"]) == {"coefficient", "threshold", "basis"}


# One disclosed inference operator whose outputs are verified; updates, settlement,
# verification and funds out of one key's instant reach (the seed's rule fix).
ONE_OPERATOR: dict[str, Any] = {
    "layers.inference.operators": 1,
    "layers.inference.location": "single_server",
    "layers.inference.control": {"by": "admin"},  # the operator's own key, at once
    "layers.inference.on_operator_offline": "halts",
    "layers.inference.permissionless": False,
    "claims": ["every answer carries a signed, verifiable receipt"],
}


def test_a_disclosed_verified_single_operator_reaches_stage_1(report: Make) -> None:
    r = report(ONE_OPERATOR)
    assert r.rosette["inference"].rating == "bad"  # liveness still rests on one party
    assert r.stage.stage == 1, r.stage.missing
    assert any("Inference is rated good" in m for m in r.stage.missing)


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"disclosure.hybrid_disclosed": False}, "disclosed"),
        ({"layers.verification.methods": ["signed_receipts"]}, "check outputs"),
        ({"claims": ["decentralized inference"]}, "no claim is contradicted"),
    ],
    ids=["undisclosed", "unverified", "claims-more"],
)
def test_an_undisclosed_or_unverified_single_operator_stays_at_stage_0(
    report: Make, change: dict[str, Any], missing: str
) -> None:
    stage = report(ONE_OPERATOR | change).stage
    assert stage.stage == 0
    assert any(missing in m for m in stage.missing), stage.missing
