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


def _raw(path: str, body: bytes) -> tuple[str, bytes]:
    return path, body


_EMBED = b'{"model":"all-MiniLM-L6-v2","input":%s}'
_PIXELS = b'{"inputs":{"pixels":{"dtype":"float32","shape":[1,64],"data":%s}}}'
HOSTILE = [
    # deep nesting (the 200 kB that segfaulted a `cairn up` process: test_node_durability.py;
    # this node takes 64 kB bodies): py-evm raises the recursion limit to 100 000
    _raw("/v1/embeddings", b"[" * 30_000 + b"]" * 30_000),
    _raw("/v1/embeddings", _EMBED % (b"[" * 30_000 + b"]" * 30_000)),
    _raw("/v1/infer/digits-logreg", _PIXELS % (b"[" * 30_000 + b"]" * 30_000)),
    _raw("/v1/chain/rpc", b'{"method":"eth_call","params":' + b"[" * 30_000 + b"]" * 30_000 + b"}"),
    _raw(
        "/v1/embeddings", b'{"model":"all-MiniLM-L6-v2","input":' + b'{"a":' * 40 + b"1" + b"}" * 41
    ),
    # lone surrogates, in a text, in a list, in a field, in a key, in the RPC proxy
    _raw("/v1/embeddings", _EMBED % b'"\\ud800"'),
    _raw("/v1/embeddings", _EMBED % b'["fine", "\\udfff tail"]'),
    _raw("/v1/embeddings", b'{"model":"\\ud800","input":"x"}'),
    _raw("/v1/embeddings", _EMBED % b'"x","dimensions":"\\ud83d"'),
    _raw(
        "/v1/infer/digits-logreg",
        b'{"inputs":{"\\udc00":{"dtype":"float32","shape":[1],"data":[1]}}}',
    ),
    _raw("/v1/chain/rpc", b'{"method":"eth_call","params":[{"to":"\\ud800"}]}'),
    _raw("/v1/embeddings", b'{"model":"all-MiniLM-L6-v2","input":"\xed\xa0\x80"}'),  # as UTF-8
    _raw("/v1/embeddings", b"\xff\xfe{\x00}\x00"),  # UTF-16
    # huge numbers, NaN and Infinity literals where numbers, strings or ids are expected
    _raw("/v1/embeddings", _EMBED % (b'"x","dimensions":' + b"9" * 5000)),
    _raw("/v1/embeddings", _EMBED % b'"x","dimensions":1e99999'),
    _raw("/v1/embeddings", _EMBED % b'"x","dimensions":NaN'),
    _raw("/v1/embeddings", _EMBED % b'"x","dimensions":-Infinity'),
    _raw("/v1/embeddings", _EMBED % b"[NaN, Infinity]"),
    _raw(
        "/v1/infer/digits-logreg",
        b'{"inputs":{"pixels":{"dtype":"float32","shape":[1e300],"data":[]}}}',
    ),
    _raw(
        "/v1/infer/digits-logreg",
        b'{"inputs":{"pixels":{"dtype":"float32","shape":[NaN],"data":[]}}}',
    ),
    _raw(
        "/v1/infer/digits-logreg",
        b'{"inputs":{"pixels":{"dtype":"float32","shape":[' + b"9" * 4000 + b'],"data":[]}}}',
    ),
    _raw("/v1/chain/rpc", b'{"id":NaN,"method":"eth_chainId"}'),
    _raw("/v1/chain/rpc", b'{"id":1e999,"method":"eth_blockNumber"}'),
    _raw("/v1/chain/rpc", b'{"method":"eth_call","params":[{"to":NaN,"gas":Infinity}]}'),
    _raw("/v1/chain/rpc", b'{"method":"eth_call","params":[{"gas":"0x' + b"f" * 200 + b'"}]}'),
    _raw("/v1/chain/rpc", b'{"method":"eth_getLogs","params":[{"fromBlock":NaN,"toBlock":[]}]}'),
    # wrong types everywhere
    _raw("/v1/embeddings", b'{"model":["x"],"input":{"a":1}}'),
    _raw("/v1/embeddings", b'{"model":"all-MiniLM-L6-v2","input":[[1.5,"x"]]}'),
    _raw("/v1/embeddings", b"null"),
    _raw("/v1/embeddings", b'"just a string"'),
    _raw("/v1/infer/digits-logreg", b'{"inputs":{"pixels":{"dtype":7,"shape":"x","data":{}}}}'),
    _raw("/v1/infer/digits-logreg", b'{"inputs":{"pixels":[]}}'),
    _raw("/v1/chain/rpc", b'{"method":7,"params":{}}'),
    _raw("/v1/chain/rpc", b'{"method":"eth_getBalance","params":[[],{}]}'),
    _raw("/v1/chain/rpc", b"[]"),
]


@pytest.mark.parametrize(("path", "body"), HOSTILE, ids=[f"{i}" for i in range(len(HOSTILE))])
def test_hostile_bodies_are_refused_with_4xx(client: Any, path: str, body: bytes) -> None:
    resp = client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= resp.status_code < 500 or (
        path == "/v1/chain/rpc" and resp.status_code == 200 and "error" in resp.json()
    ), f"{resp.status_code} {resp.text[:300]}"
    assert "detail" in resp.json() or "error" in resp.json()


def test_nesting_and_lone_surrogates_are_one_line_400s(client: Any) -> None:
    deep = client.post(
        "/v1/embeddings",
        content=b"[" * 30_000 + b"]" * 30_000,
        headers={"content-type": "application/json"},
    )
    assert deep.status_code == 400 and "nests deeper than" in deep.json()["detail"]
    lone = client.post(
        "/v1/embeddings",
        content=_EMBED % b'["ok", "\\ud800"]',
        headers={"content-type": "application/json"},
    )
    assert lone.status_code == 400
    detail = lone.json()["detail"]
    assert "\\ud800" in detail and "Unicode scalar values" in detail and "\n" not in detail
    paired = client.post(  # a surrogate pair is one emoji, and fine
        "/v1/embeddings",
        content=_EMBED % b'"a cairn \\ud83e\\udea8"',
        headers={"content-type": "application/json"},
    )
    assert paired.status_code == 200


def test_the_process_survives_the_corpus(client: Any) -> None:
    for path, body in HOSTILE:
        client.post(path, content=body, headers={"content-type": "application/json"})
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ok = client.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": "still here"})
    assert ok.status_code == 200
