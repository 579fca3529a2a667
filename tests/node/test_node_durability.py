"""A real `cairn up` process attacked: 200 kB of nested JSON does not kill it, and `kill -9`
under load loses no receipt a client already holds (restart, then every one is there)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from _up import UpProcess

from cairn.node.server import free_port

pytestmark = pytest.mark.slow


def test_nesting_does_not_kill_and_kill_9_loses_no_receipt(
    tmp_path: Path, cairn_up: UpProcess
) -> None:
    data, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    proc = cairn_up(data, port)
    held: list[str] = []  # request ids of receipts clients received
    stop = threading.Event()
    try:
        deep = httpx.post(
            f"{url}/v1/embeddings",
            content=b"[" * 100_000 + b"]" * 100_000,  # 200 kB: segfaulted the process
            headers={"content-type": "application/json"},
            timeout=60,
        )
        assert deep.status_code == 400 and proc.poll() is None
        assert httpx.get(f"{url}/healthz").json()["anchor_failures"] == 0

        def load(n: int) -> None:
            with httpx.Client(timeout=30) as c:
                i = 0
                while not stop.is_set():
                    body = {"model": "all-MiniLM-L6-v2", "input": [f"client {n} text {i}"]}
                    try:
                        resp = c.post(f"{url}/v1/embeddings", json=body)
                    except httpx.HTTPError:
                        return  # the node is gone
                    if resp.status_code == 200:
                        held.append(resp.json()["receipt"]["requestId"])
                    i += 1

        workers = [threading.Thread(target=load, args=(n,)) for n in range(6)]
        for w in workers:
            w.start()
        time.sleep(4)
        proc.send_signal(signal.SIGKILL)  # mid-flight: requests are being answered
        proc.wait(timeout=30)
        stop.set()
        for w in workers:
            w.join(timeout=30)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    assert len(held) > 20, len(held)
    again = cairn_up(data, port)
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            missing = [rid for rid in held if c.get(f"/v1/receipts/{rid}").status_code != 200]
            assert not missing, f"{len(missing)} of {len(held)} receipts lost: {missing[:3]}"
            deadline = time.monotonic() + 60  # and the restarted node anchors them all
            while time.monotonic() < deadline:
                if c.get(f"/v1/receipts/{held[-1]}/proof").json().get("anchored"):
                    break
                time.sleep(0.5)
            assert c.get(f"/v1/receipts/{held[-1]}/proof").json()["anchored"] is True
            health = c.get("/healthz").json()
            assert health["anchor_error"] is None, health
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
