"""The zk tier over HTTP, as users meet it: `cairn zk setup` on a node's digits model, the
node proving receipts in the background, the proof served at /v1/receipts/{id}/zk and
checked with `cairn zk verify` — and refused once a byte of it changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.inference import DIGITS_NAME, digits_samples

pytestmark = pytest.mark.slow


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAIRN_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "cairn", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_node_proves_receipts_and_clients_verify(tmp_path: Path, start: Any) -> None:
    data = tmp_path / "data"
    first, server, thread = start(data)  # bootstrap once: the model is in the blockstore
    cid = first.ctx.models[DIGITS_NAME].cid
    server.should_exit = True
    thread.join(timeout=30)
    first.ctx.close()
    setup = _cli(data, "zk", "setup", cid, "--dev-srs")
    assert setup.returncode == 0, setup.stderr

    live, server, thread = start(data)
    try:
        assert live.ctx.prover is not None
        row = digits_samples()[0][0]
        body = {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": row.tolist()}}}
        resp = httpx.post(f"{live.url}/v1/infer/{DIGITS_NAME}", json=body, timeout=60)
        rid, access = resp.json()["receipt"]["requestId"], resp.headers["Cairn-Access"]
        deadline, proof = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            resp = httpx.get(f"{live.url}/v1/receipts/{rid}/zk", timeout=30)
            if resp.status_code == 200:
                proof = resp.content
                break
            assert resp.status_code == 404
            time.sleep(0.5)
        assert proof is not None, "the node never proved the receipt"
        path = tmp_path / "proof.json"
        path.write_bytes(proof)
        ok = _cli(data, "zk", "verify", str(path), "--node", live.url, "--access", access)
        assert ok.returncode == 0 and "ok:" in ok.stdout, ok.stderr
        doc = json.loads(proof)
        inner = doc["proof"]  # EZKL's proof object; its "proof" bytes are what verify reads
        inner["proof"][len(inner["proof"]) // 2] ^= 1
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(doc))
        refused = _cli(data, "zk", "verify", str(bad), "--node", live.url, "--access", access)
        assert refused.returncode == 1, refused.stdout
        assert "Traceback" not in refused.stderr and "error:" in refused.stderr
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        live.ctx.close()
