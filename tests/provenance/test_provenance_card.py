"""Cards, comparison policies, SPDX licenses and the in-toto Statement layout."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.errors import CairnError, ManifestError
from cairn.inference import PolicyError, parse_policy, parse_policy_text
from cairn.provenance import Card, Statement, Subject, check_license

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
CID_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
SHA = "a" * 64


@pytest.mark.parametrize(
    "good",
    [
        "MIT",
        "Apache-2.0",
        "MPL-2.0+",
        "MIT OR Apache-2.0",
        "LicenseRef-cairn-model",
        "CC-BY-4.0 AND ODbL-1.0",
    ],
)
def test_good_licenses(good: str) -> None:
    assert check_license(good) == good


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("apache-2.0", "did you mean 'Apache-2.0'"),
        ("Apache-2", "did you mean"),
        ("", "SPDX"),
        ("MIT OR", "not an SPDX id"),
        ("M I T", "not an SPDX id"),
        ("Proprietary", "unknown SPDX"),
    ],
)
def test_bad_licenses(bad: str, match: str) -> None:
    with pytest.raises(ManifestError, match=match):
        check_license(bad)


@pytest.mark.parametrize(
    ("text", "doc"),
    [
        ("exact", {"kind": "exact"}),
        ("tolerance:1e-5", {"kind": "tolerance", "atol": 1e-5}),
        (
            '{"kind":"tolerance","atol":0,"rtol":0.01}',
            {"kind": "tolerance", "atol": 0.0, "rtol": 0.01},
        ),
        ("ulp:4", {"kind": "ulp", "max_ulp": 4}),
        ("topk:5", {"kind": "topk", "k": 5}),
        ("cosine:0.999", {"kind": "cosine", "min": 0.999}),
    ],
)
def test_policies(text: str, doc: dict[str, Any]) -> None:
    policy = parse_policy_text(text)
    assert policy.to_dict() == doc
    assert parse_policy(policy.to_dict()) == policy


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "fuzzy",
        "exact:1",
        "tolerance",
        "tolerance:-1",
        "tolerance:nan",
        "ulp:1.5",
        "ulp:-2",
        "topk:0",
        "cosine:1.5",
        "cosine:0",
        '{"kind":"topk","k":5,"x":1}',
        '{"kind":"ulp"}',
        '{"kind":"topk","k":true}',
        "{bad json",
        "[1]",
    ],
)
def test_bad_policies(bad: str) -> None:
    with pytest.raises(PolicyError):
        parse_policy_text(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_policy_parser_only_raises_manifest_error(text: str) -> None:
    try:
        parse_policy_text(text)
    except CairnError as exc:
        assert isinstance(exc, PolicyError)


def _card(**over: Any) -> Card:
    base: dict[str, Any] = {"kind": "model", "name": "m", "version": "1", "license": "MIT"}
    return Card(**{**base, **over})


def test_card_validation() -> None:
    card = _card(
        base_model=CID,
        datasets=(CID_V0,),
        config=CID,
        evaluations=(CID,),
        contributors=("alice",),
        policy=parse_policy_text("topk:3"),
    )
    assert Card.from_dict(card.to_dict()) == card
    assert card.predicate_type == "https://cairn.dev/ModelCard/v1"
    assert _card(kind="dataset").predicate_type == "https://cairn.dev/DatasetCard/v1"
    bads: list[dict[str, Any]] = [
        {"kind": "weights"},
        {"name": " "},
        {"version": ""},
        {"base_model": "nope"},
        {"datasets": ("Qm",)},
        {"contributors": ("",)},
        {"license": "mit"},
    ]
    for bad in bads:
        with pytest.raises(ManifestError):
            _card(**bad)


def test_statement_layout() -> None:
    stmt = Statement((Subject(CID, SHA, "model.onnx", "file"),), _card())
    doc = json.loads(stmt.to_json())
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["subject"] == [
        {
            "name": CID,
            "digest": {"sha256": SHA},
            "annotations": {"filename": "model.onnx", "type": "file"},
        }
    ]
    assert doc["predicateType"] == "https://cairn.dev/ModelCard/v1"
    assert doc["predicate"]["license"] == "MIT"
    assert Statement.parse(stmt.to_json()) == stmt


def test_statement_rejects() -> None:
    good = json.loads(Statement((Subject(CID, SHA),), _card()).to_json())
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"),
        lambda d: d.update(subject=[]),
        lambda d: d.update(subject={}),
        lambda d: d.update(predicateType="https://cairn.dev/DatasetCard/v1"),
        lambda d: d["subject"][0].update(name="not-a-cid"),
        lambda d: d["subject"][0]["digest"].update(sha256="ABC"),
        lambda d: d["subject"][0]["annotations"].update(type="socket"),
        lambda d: d.update(predicate=[]),
    ]
    for mutate in mutations:
        doc = json.loads(json.dumps(good))
        mutate(doc)
        with pytest.raises(ManifestError):
            Statement.parse(json.dumps(doc).encode())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "_type",
                    "subject",
                    "predicateType",
                    "predicate",
                    "name",
                    "digest",
                    "sha256",
                    "kind",
                    "license",
                    "datasets",
                    "comparisonPolicy",
                    "k",
                ]
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_statement_parser_only_raises_manifest_error(doc: Any) -> None:
    try:
        Statement.parse(json.dumps(doc).encode())
    except CairnError as exc:
        assert isinstance(exc, ManifestError)
