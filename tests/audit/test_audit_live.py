"""``cairn audit --live``: the /v1/network contract and the manifest a chain's answers imply.

The document is served by a tiny in-test HTTP server (the real gateway, cairn.node,
serves the same model); what the chain says is given as ChainFacts here, and read
from real chains in test_audit_live_chain.py and test_audit_live_anvil.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cairn.audit import NetworkDocument, audit, audit_live, manifest_from_network
from cairn.audit.live import _published as publish
from cairn.audit.onchain import ChainFacts, ModelOwner, Staker
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
            "BatchSettlement": "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003",
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


def _facts(**changes: Any) -> ChainFacts:
    """What a chain might say: five nodes staking 30/20/20/15/15, seven validators, a 4-owner
    registry with a week's delay, 5% sampling, Disputes as the slasher."""
    base: dict[str, Any] = {
        "url": "https://mainnet.base.org",
        "chain_id": 8453,
        "contracts": dict(EMBEDDED["chain"]["contracts"]),
        "nodes": tuple(Staker(f"0x{i}", s) for i, s in enumerate([30, 20, 20, 15, 15])),
        "idle": (),
        "validators": tuple(Staker(f"0xv{i}", 10) for i in range(7)),
        "jurors": tuple(f"0xv{i}" for i in range(7)),
        "models": (ModelOwner("m", "0xo1", 604800, owner_is_contract=False, served=True),),
        "jailed": (),
        "disputes_open": 0,
        "disputes_resolved": 0,
        "sampling_rate": 0.05,
        "slashing": True,
        "min_node_stake": 1,
        "min_validator_stake": 1,
    }
    return ChainFacts(**(base | changes))


def test_stakes_from_the_chain_become_the_nakamoto_shares() -> None:
    report = audit(manifest_from_network(_facts(), NetworkDocument.model_validate(PRODUCTION)))
    assert report.nakamoto["inference"].coefficient == 3  # 30 + 20 + 20 of 100
    assert report.nakamoto["verification"].coefficient == 3  # 3 of 7 equal > 1/3
    assert report.rosette["verification"].rating == "good"
    assert report.rosette["identity_payments"].rating == "good"
    # five staked nodes, but no test proves requests fail over between them yet
    assert report.rosette["inference"].rating == "warning"
    assert "do not fail over" in report.rosette["inference"].reason


def test_one_owner_is_one_admin_key_whatever_the_node_says() -> None:
    m = manifest_from_network(_facts(), NetworkDocument.model_validate(PRODUCTION))
    assert m.layers.governance.control.by == "admin"  # the doc's 7 owners are not read
    assert m.layers.governance.control.delay_s == 604800


def test_an_embedded_chain_is_called_what_it_is() -> None:
    facts = _facts(url="http://127.0.0.1:8000/v1/chain/rpc", chain_id=2**31 + 5)
    report = audit(manifest_from_network(facts, embedded=True))
    assert "an embedded chain inside the node's own process" in (
        report.rosette["identity_payments"].reason
    )
    assert report.stage.stage == 0


def test_dev_and_unknown_chains() -> None:
    dev = manifest_from_network(_facts(chain_id=31337, url="http://127.0.0.1:8545"))
    assert dev.layers.identity_payments.settlement == "local_process"
    other = audit(manifest_from_network(_facts(chain_id=987654)))
    assert other.rosette["identity_payments"].rating == "warning"  # a sidechain


def test_no_validators_means_nothing_checks_outputs() -> None:
    report = audit(manifest_from_network(_facts(validators=())))
    assert report.rosette["verification"].rating == "bad"


def test_no_staked_node_is_said_plainly() -> None:
    m = manifest_from_network(_facts(nodes=()))
    assert (m.layers.inference.operated_by, m.layers.inference.operators) == ("no staked node", 1)


def test_without_a_node_what_only_a_node_knows_is_taken_at_its_worst() -> None:
    m = manifest_from_network(_facts())
    assert m.layers.inference.data.private == ["prompts", "outputs"]
    assert m.layers.storage.gateways == 1


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


def test_a_saved_embedded_document_needs_a_chain_to_read(tmp_path: Path) -> None:
    path = tmp_path / "network.json"
    path.write_text(json.dumps(EMBEDDED))
    with pytest.raises(AuditError, match="embedded in its node; give --chain"):
        audit_live(path.as_uri())


def test_a_document_without_the_contracts_is_refused() -> None:
    doc = NetworkDocument.model_validate(
        {**EMBEDDED, "chain": {**EMBEDDED["chain"], "contracts": {}}}
    )
    with pytest.raises(
        AuditError, match="names no ReceiptAnchor, Staking, ModelRegistry, Disputes"
    ):
        publish(doc, "http://node", None)


def test_a_node_must_be_asked_or_a_network_named() -> None:
    with pytest.raises(AuditError, match="--network NAME"):
        audit_live()
