"""Schemathesis against the published OpenAPI schema: whatever it sends, no 5xx.

Driven through hypothesis directly, one operation at a time (schemathesis's pytest
plugin does not load under pytest 9)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cairn.node import create_app

pytestmark = pytest.mark.slow


def _operations(node: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(node.ctx))
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_is_covered(node: Any) -> None:
    paths = {op.path for op in _operations(node)}
    assert {
        "/v1/embeddings",
        "/v1/infer/{model}",
        "/ipfs/{cid}",
        "/v1/receipts/{request_id}/proof",
        "/v1/chain/rpc",
    } <= paths


def test_no_server_errors(node: Any) -> None:
    failures: list[str] = []
    for op in _operations(node):

        @given(case=op.as_strategy())
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: Any) -> None:
            response = case.call()
            case.validate_response(response, checks=(not_a_server_error,))

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:400]}")
    assert not failures, "\n".join(failures)
