"""``cairn audit --live`` names the chain a node actually settles on.

A ``cairn up`` node on Anvil (its own process, the Anvil the tests start) is a
one-process development chain, rated as such — but not called an embedded chain,
which it is not; the document the node serves says which it is. The embedded
wording is held beside it from a saved document of each kind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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


def test_an_embedded_node_is_still_called_embedded(gateway: str, tmp_path: Path) -> None:
    doc = httpx.get(f"{gateway}/v1/network").json()
    doc["chain"] = {**doc["chain"], "kind": "embedded", "url": "embedded://"}
    saved = tmp_path / "network.json"
    saved.write_text(json.dumps(doc))
    reason = audit_live(f"file://{saved}").rosette["identity_payments"].reason
    assert "an embedded chain inside the node's own process" in reason
    assert "development chain" not in reason
