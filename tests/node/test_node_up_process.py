"""`cairn up` as a user runs it: a real process, the CLI clients against it, a clean
SIGTERM, and a restart that keeps the node, its models and its receipts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _up import UpProcess, up_env

from cairn.node.server import free_port

pytestmark = pytest.mark.slow


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cairn", *args],
        env=up_env(data_dir),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_up_serve_verify_stop_restart(tmp_path: Path, cairn_up: UpProcess) -> None:
    data, port = tmp_path / "data", free_port()
    gw = f"http://127.0.0.1:{port}"
    proc = cairn_up(data, port)
    try:
        saved = tmp_path / "answer.json"
        first = _cli(data, "embed", "--gateway", gw, "--online", "-o", str(saved), "hello trail")
        assert first.returncode == 0, first.stderr
        assert "verified offline and onchain" in first.stderr
        request = tmp_path / "request.json"
        request.write_text(json.dumps({"model": "all-MiniLM-L6-v2", "input": ["hello trail"]}))
        ok = _cli(data, "receipt", "verify", str(saved), "--input", str(request))
        assert ok.returncode == 0, ok.stderr
        body = json.loads(saved.read_text())
        body["data"][0]["embedding"][0] = -body["data"][0]["embedding"][0] or 0.5
        bad = tmp_path / "tampered.json"
        bad.write_text(json.dumps(body))
        refused = _cli(data, "receipt", "verify", str(bad))
        assert refused.returncode == 1 and "does not match" in refused.stderr
        node = httpx.get(f"{gw}/healthz").json()["node"]
        models = httpx.get(f"{gw}/v1/models").json()["data"]
        # a second node on the same data dir would write the embedded chain's state over
        # the first's: refused in one line, and the first serves on untouched
        second = _cli(data, "up", "--port", str(free_port()))
        assert second.returncode == 1, second.stderr
        assert f"another cairn node (pid {proc.pid}) is running from" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1, second.stderr
        still = _cli(data, "embed", "--gateway", gw, "--online", "still here")
        assert still.returncode == 0, still.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped cleanly" in out

    again = cairn_up(data, port)
    try:
        assert httpx.get(f"{gw}/healthz").json()["node"] == node
        assert httpx.get(f"{gw}/v1/models").json()["data"][0]["cid"] == models[0]["cid"]
        rid = body["receipt"]["requestId"]
        proof = httpx.get(f"{gw}/v1/receipts/{rid}/proof").json()
        assert proof["anchored"] is True
        online = _cli(data, "receipt", "verify", str(saved), "--online", "--gateway", gw)
        assert online.returncode == 0, online.stderr
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=60)
