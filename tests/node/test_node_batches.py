"""A node under a burst anchors full batches (each batch is an anchoring transaction): a
live node on the embedded chain, real HTTP, clients at once (cairn.receipts.batcher)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx


def test_a_burst_is_anchored_in_full_batches_and_the_rest_waits(tmp_path: Path, start: Any) -> None:
    live, server, thread = start(tmp_path, batch_size=5, batch_seconds=600.0)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as client:

            def call(n: int) -> str:
                body = {"model": "all-MiniLM-L6-v2", "input": [f"stone {n}"]}
                resp = client.post("/v1/embeddings", json=body)
                assert resp.status_code == 200, resp.text
                return str(resp.json()["receipt"]["requestId"])

            with ThreadPoolExecutor(8) as pool:  # a burst: 23 answers, 4 full batches
                ids = list(pool.map(call, range(23)))

            def proofs() -> list[dict[str, Any]]:
                got = [client.get(f"/v1/receipts/{rid}/proof") for rid in ids]
                return [r.json() for r in got if r.status_code == 200]

            deadline = time.monotonic() + 60
            while len(proofs()) < 20 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # anything more would be a batch that is not full
            proven = proofs()
            assert len(proven) == 20 and {p["count"] for p in proven} == {5}
            waiting = [client.get(f"/v1/receipts/{rid}/proof") for rid in ids]
            assert sum(r.status_code == 404 for r in waiting) == 3  # sealed by the age limit
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        live.ctx.close()
