"""``cairn audit --live`` against a real node on a real chain: it reads the chain itself.

A ``cairn up`` node on Anvil (its own process, the Anvil the tests start) is a
one-process development chain, rated as such — but not called an embedded chain,
which it is not. Its contracts are read from Anvil after their code hashes are
checked; a gateway that lies about stakes, owners or operator counts (a small
server serving a doctored copy of the node's own document) is reported by what
Anvil says, each lie flagged; one that names contracts whose code is not cairn's
is refused in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))
from _up import start_up, up_env

from cairn.audit import audit_live
from cairn.chain.devnet import free_port

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def gateway(anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data, port = tmp_path_factory.mktemp("anvil-node"), free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CAIRN_CHAIN", anvil)
        env.setenv("CAIRN_MODELS", "digits-logreg")
        proc = start_up(data, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def test_an_anvil_node_is_called_a_development_chain_not_an_embedded_one(
    gateway: str, anvil: str, tmp_path: Path
) -> None:
    chain = httpx.get(f"{gateway}/v1/network").json()["chain"]
    assert (chain["kind"], chain["chain_id"], chain["url"]) == ("rpc", 31337, anvil)
    shown = subprocess.run(
        [sys.executable, "-m", "cairn", "audit", "--live", gateway, "--format", "json"],
        env=up_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    petal = json.loads(shown.stdout)["rosette"]["identity_payments"]
    assert petal["rating"] == "bad"  # one block producer can rewrite every balance
    assert f"a development chain, chain 31337 at {anvil}" in petal["reason"]
    assert "embedded" not in petal["reason"]


def _serve(doc: dict[str, Any]) -> tuple[ThreadingHTTPServer, str]:
    """A node that serves ``doc`` as its /v1/network: the attacker's gateway."""
    body = json.dumps(doc).encode()

    class Lying(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/v1/network" else 404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Lying)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def test_the_live_audit_reads_the_chain_and_marks_the_nodes_word(gateway: str) -> None:
    report = audit_live(gateway)
    assert report.live is not None
    assert report.live.counts["inference_operators"] == 1  # the chain says so
    assert report.live.checked.startswith("addresses published by the node, checked by code hash")
    assert report.live.node_word[0].startswith("which chain this is: read through the RPC")
    assert "runtime" in " ".join(report.live.node_word)
    assert report.rosette["storage"].reason.endswith("(rests on the node's word)")
    assert not [f for f in report.red_flags if f.id == "node-contradicts-chain"]


def test_a_node_lying_about_stakes_and_owners_is_caught(gateway: str) -> None:
    doc = httpx.get(f"{gateway}/v1/network").json()
    me = doc["nodes"][0]
    lie = {
        **doc,
        "nodes": [
            {**me, "stake": me["stake"] * 1000},
            {"address": "0x" + "ab" * 20, "stake": 10**21},
        ],
        "registry": {**doc["registry"], "owners": ["0x" + "cd" * 20], "update_delay_s": 604800},
        "inference": {**doc["inference"], "operators": 5},
    }
    httpd, url = _serve(lie)
    try:
        report = audit_live(url)
    finally:
        httpd.shutdown()
        httpd.server_close()
    text = "\n".join(f.evidence for f in report.red_flags if f.id == "node-contradicts-chain")
    assert f"stakes {me['stake'] * 1000} wei; the chain: {me['stake']}" in text
    assert "0xabab" in text.lower() and "not a staked node" in text
    assert "registry owner(s) 0x" + "cd" * 20 in text
    assert "updates wait 604800 s" in text
    assert "5 inference operators; the chain counts 1" in text
    assert report.live is not None and report.live.counts["inference_operators"] == 1
    assert report.nakamoto["inference"].coefficient == 1
    assert report.stage.stage == 0


def test_addresses_that_are_not_cairns_code_are_refused(gateway: str, tmp_path: Path) -> None:
    doc = httpx.get(f"{gateway}/v1/network").json()
    contracts = doc["chain"]["contracts"]
    forged = {
        **doc,
        "chain": {
            **doc["chain"],
            "contracts": {**contracts, "Staking": contracts["ReceiptAnchor"]},
        },
    }
    httpd, url = _serve(forged)
    try:
        shown = subprocess.run(
            [sys.executable, "-m", "cairn", "audit", "--live", url, "--json"],
            env=up_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert shown.returncode == 1 and shown.stdout == ""
    assert "is not cairn's Staking: its runtime code hash" in shown.stderr
    assert shown.stderr.strip().count("\n") == 0
