"""``cairn audit --live``: the /v1/network contract, read from a tiny in-test HTTP server.

The real gateway (cairn.node) will serve the same document; these tests pin the
contract and the auditor's reading of it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cairn.audit import NetworkDocument, audit, audit_live, manifest_from_network, read_network
from cairn.audit._memory import MemorySource
from cairn.audit.sources import open_source
from cairn.errors import AuditError

EMBEDDED: dict[str, Any] = {
    "name": "cairn (embedded)",
    "chain": {
        "url": "embedded://",
        "chain_id": 31337,
        "kind": "embedded",
        "contracts": {
            "ModelRegistry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "Staking": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            "ReceiptAnchor": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
            "PaymentChannels": "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
            "Disputes": "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
        },
    },
    "operators": {"gateway": ["0xf39F"], "inference": ["0xf39F"], "validator": ["0xf39F"]},
    "nodes": [{"address": "0xf39F", "stake": 10**18, "endpoint": "http://127.0.0.1:8000"}],
    "validators": [{"address": "0xf39F", "stake": 10**18}],
    "registry": {"update_delay_s": 0, "owners": ["0xf39F"]},
    "storage": {"gateways": ["http://127.0.0.1:8000"], "blockstore": "filesystem"},
    "inference": {"operators": 1, "runtime": "onnxruntime"},
    "verification": {
        "sampling_rate": 0.05,
        "slashing": True,
        "disputes": True,
        "min_stake": 10**17,
    },
}

PRODUCTION: dict[str, Any] = {
    **EMBEDDED,
    "name": "cairn on Base",
    "chain": {
        **EMBEDDED["chain"],
        "url": "https://mainnet.base.org",
        "chain_id": 8453,
        "kind": "rpc",
    },
    "nodes": [
        {"address": f"0x{i}", "stake": s, "endpoint": f"https://n{i}.example"}
        for i, s in enumerate([30, 20, 20, 15, 15])
    ],
    "validators": [{"address": f"0xv{i}", "stake": 10} for i in range(7)],
    "registry": {"update_delay_s": 604800, "owners": [f"0xo{i}" for i in range(7)], "threshold": 4},
    "storage": {
        "gateways": ["https://a.example", "https://b.example", "https://c.example"],
        "blockstore": "filesystem",
    },
    "inference": {
        "operators": 5,
        "runtime": "onnxruntime",
        "permissionless": True,
        "sealed_requests": True,
    },
    "future_field": {"ignored": True},
}


class _Handler(BaseHTTPRequestHandler):
    documents: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.documents.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body or b'{"error": "not found"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """An HTTP server on a free port serving two networks and some junk."""
    _Handler.documents = {
        "/embedded/v1/network": json.dumps(EMBEDDED).encode(),
        "/base/v1/network": json.dumps(PRODUCTION).encode(),
        "/junk/v1/network": b"<html>not json</html>",
        "/wrong/v1/network": b'{"chain": {"url": "x"}}',
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_embedded_network_is_called_what_it_is(server: str) -> None:
    report = audit_live(f"{server}/embedded")
    assert report.rosette["identity_payments"].rating == "bad"
    assert "settlement runs in one local process" in report.rosette["identity_payments"].reason
    assert report.rosette["inference"].rating == "bad"
    assert "inference has one operator" in report.rosette["inference"].reason
    assert report.stage.stage == 0
    assert report.nakamoto["inference"].coefficient == 1


def test_production_network_reads_stake_owners_and_delay(server: str) -> None:
    report = audit_live(f"{server}/base/")
    assert report.rosette["identity_payments"].rating == "good"
    assert report.rosette["inference"].rating == "good"
    assert report.rosette["governance"].rating == "good"
    assert report.rosette["verification"].rating == "good"
    assert report.nakamoto["governance"].coefficient == 4
    assert report.nakamoto["inference"].coefficient == 3  # 30 + 20 + 20 of 100
    assert report.nakamoto["verification"].coefficient == 3  # 3 of 7 equal > 1/3
    assert report.stage.stage == 2, report.stage.missing


def test_dev_chain_over_rpc_is_still_one_process() -> None:
    doc = {
        **EMBEDDED,
        "chain": {**EMBEDDED["chain"], "kind": "rpc", "url": "http://127.0.0.1:8545"},
    }
    m = manifest_from_network(read_network(MemorySource(doc)))
    assert m.layers.identity_payments.settlement == "local_process"


def test_unknown_chain_is_a_sidechain() -> None:
    doc = {**PRODUCTION, "chain": {**PRODUCTION["chain"], "chain_id": 987654}}
    report = audit(manifest_from_network(NetworkDocument.model_validate(doc)))
    assert report.rosette["identity_payments"].rating == "warning"


def test_no_validators_means_nothing_checks_outputs() -> None:
    doc = {**EMBEDDED, "validators": []}
    report = audit(manifest_from_network(NetworkDocument.model_validate(doc)))
    assert report.rosette["verification"].rating == "bad"


def test_saved_document_via_file_url(tmp_path: Path) -> None:
    path = tmp_path / "network.json"
    path.write_text(json.dumps(EMBEDDED))
    assert audit_live(path.as_uri()).rosette["inference"].rating == "bad"


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        ("/missing", "HTTP 404"),
        ("/junk", "did not return JSON"),
        ("/wrong", "not a cairn /v1/network document: chain.chain_id"),
    ],
)
def test_bad_gateways_are_audit_errors(server: str, suffix: str, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        audit_live(server + suffix)


def test_unreachable_gateway_is_an_audit_error() -> None:
    with pytest.raises(AuditError, match="cannot reach"):
        audit_live("http://127.0.0.1:9", timeout_s=2)


def test_unknown_scheme_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="http"):
        open_source("ftp://x")
    with pytest.raises(AuditError, match="cannot read"):
        audit_live((tmp_path / "absent.json").as_uri())


def test_the_contract_has_a_json_schema() -> None:
    schema = NetworkDocument.model_json_schema()
    assert {"chain", "registry", "inference"} <= set(schema["required"])
    assert {"nodes", "validators", "storage", "verification", "operators"} <= set(
        schema["properties"]
    )
