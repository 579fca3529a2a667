"""Stack manifests: valid ones load, invalid ones fail with one line-numbered error per field."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.audit import load_stack_manifest, parse_manifest
from cairn.errors import CairnError, StackManifestError

PRODUCTION = Path(__file__).parents[2] / "examples" / "stacks" / "cairn-production.yaml"

BROKEN = """\
version: 1
name: broken
layers:
  storage:
    operated_by: x
    operators: 1
    content_addressed: yes
  inference:
    operated_by: y
    operators: -3
    location: on the moon
  training: {operated_by: z, operators: 1, mode: none}
  identity_payments: {operated_by: z, operators: 1, settlement: l2}
  governance:
    operated_by: z
    operators: 1
    controll: {by: admin}
  verification: {operated_by: z, operators: "3", methods: [none]}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(StackManifestError) as info:
        parse_manifest(text, source="stack.yaml")
    return str(info.value).splitlines()


def test_one_line_numbered_error_per_bad_field() -> None:
    assert _errors(BROKEN) == [
        "stack.yaml:10: layers.inference.operators: must be a positive integer",
        "stack.yaml:11: layers.inference.location: must be one of client_device, single_server, "
        "centralized_api, operator_nodes or open_market",
        "stack.yaml:17: layers.governance.controll: unknown field (did you mean 'control'?)",
        "stack.yaml:18: layers.verification.operators: must be a positive integer",
    ]


def test_missing_field_points_at_its_parent() -> None:
    text = BROKEN.replace("    location: on the moon\n", "").replace(
        "operators: -3", "operators: 3"
    )
    errors = _errors(text)
    assert errors[0] == "stack.yaml:8: layers.inference.location: is required"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "stack.yaml:2: invalid YAML"),
        ("- a list\n", "stack.yaml:1: a stack manifest must be a YAML mapping"),
        ("", "stack.yaml:1: a stack manifest must be a YAML mapping"),
        ("name: x\n", "stack.yaml:1: layers: is required"),
        ("name: x\nname2: y\n", "stack.yaml:2: name2: unknown field"),
        ("a: 1\n---\nb: 2\n", "stack.yaml:2: invalid YAML: but found another document"),
        ("name: !!python/object:os.system x\n", "stack.yaml:1: invalid YAML"),
        ("? [a]\n: 1\n", "stack.yaml:1: invalid YAML"),
    ],
)
def test_yaml_problems_name_the_line(text: str, expected: str) -> None:
    assert any(line.startswith(expected) for line in _errors(text))


def test_shares_must_fit_the_operators(stack: Callable[..., dict[str, Any]]) -> None:
    data = stack({"layers.inference.shares": [0.5, 0.4, 0.3]})
    errors = _errors(yaml.safe_dump(data, sort_keys=False))
    assert len(errors) == 1
    assert errors[0].endswith("layers.inference.shares: must add up to at most 1")
    data = stack({"layers.inference.operators": 2, "layers.inference.shares": [0.5, 0.3, 0.2]})
    assert (
        "at most one share per operator (2 operators, 3 shares)" in _errors(yaml.safe_dump(data))[0]
    )


def test_multisig_threshold_within_signers(stack: Callable[..., dict[str, Any]]) -> None:
    data = stack({"layers.governance.control.threshold": 9})
    (error,) = _errors(yaml.safe_dump(data, sort_keys=False))
    assert error.endswith("layers.governance.control.threshold: must not exceed signers")


def test_strings_are_not_coerced(stack: Callable[..., dict[str, Any]]) -> None:
    data = stack({"layers.storage.content_addressed": "true", "layers.inference.operators": 2.5})
    errors = _errors(yaml.safe_dump(data, sort_keys=False))
    assert [e.split(": ", 1)[1] for e in errors] == [
        "layers.storage.content_addressed: must be true or false",
        "layers.inference.operators: must be a positive integer",
    ]


def test_valid_manifest_loads_from_a_file(
    tmp_path: Path, stack: Callable[..., dict[str, Any]]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(stack()))
    assert load_stack_manifest(path).layers.inference.operators == 5
    with pytest.raises(StackManifestError, match="cannot read"):
        load_stack_manifest(tmp_path / "absent.yaml")


def test_not_utf8() -> None:
    with pytest.raises(StackManifestError, match="not UTF-8"):
        parse_manifest(b"name: \xff\xfe\n")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(StackManifestError):
        parse_manifest("name: " + "[" * 5000 + "]" * 5000)


def test_too_many_errors_are_summarised() -> None:
    text = "name: x\nlayers: {}\n" + "".join(f"extra{i}: 1\n" for i in range(40))
    errors = _errors(text)
    assert len(errors) == 21
    assert errors[-1].startswith("... and ")


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "layers",
                    "storage",
                    "inference",
                    "operators",
                    "control",
                    "by",
                    "shares",
                    "claims",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_only_raises_cairn_errors(text: str) -> None:
    with contextlib.suppress(CairnError):
        parse_manifest(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_cairn_errors(data: bytes) -> None:
    with contextlib.suppress(CairnError):
        parse_manifest(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_yaml_values)
def test_arbitrary_yaml_documents_only_raise_cairn_errors(value: Any) -> None:
    with contextlib.suppress(CairnError):
        parse_manifest(yaml.safe_dump(value))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "layers.inference.operators",
            "layers.storage.gateways",
            "layers.governance.control",
            "layers.verification.methods",
            "layers.inference.shares",
            "claims",
            "name",
            "token.emissions_share",
        ]
    ),
    _yaml_values,
)
def test_any_value_in_any_field_gives_a_line_numbered_error_or_a_report(
    field: str, value: Any
) -> None:
    data = yaml.safe_load(PRODUCTION.read_text())
    *parents, last = field.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        parse_manifest(text, source="s.yaml")
    except StackManifestError as exc:
        assert all(
            line.startswith("s.yaml:") or line.startswith("...") for line in str(exc).splitlines()
        )
