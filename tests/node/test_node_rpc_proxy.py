"""The read-only chain proxy under attack, on the session's real gateway: heavy calls are
capped, a crowd of them is refused instead of queued, anchoring and inference go on,
and ``eth_getLogs`` (on the allow-list) works."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from cairn.node.gateway import RPC_CONCURRENCY

LOOP = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP: burns every unit of gas it is given


def _call(url: str, gas: str | None) -> httpx.Response:
    tx: dict[str, Any] = {"data": LOOP}
    if gas is not None:
        tx["gas"] = gas
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [tx, "latest"]}
    return httpx.post(f"{url}/v1/chain/rpc", json=body, timeout=120)


def test_huge_gas_is_capped(node: Any) -> None:
    started = time.monotonic()
    resp = _call(node.url, hex(2**62))
    assert resp.status_code == 200 and "Out of gas" in resp.json()["error"]["message"]
    assert time.monotonic() - started < 10  # the cap (5M gas), not 2**62


def test_forty_heavy_calls_starve_neither_inference_nor_anchoring(node: Any) -> None:
    embed = {"model": "all-MiniLM-L6-v2", "input": ["under siege"]}
    httpx.post(f"{node.url}/v1/embeddings", json=embed, timeout=60).raise_for_status()
    with ThreadPoolExecutor(40) as pool:
        calls = [pool.submit(_call, node.url, hex(10**12)) for _ in range(40)]
        time.sleep(0.3)  # the crowd is in
        started = time.monotonic()
        answer = httpx.post(f"{node.url}/v1/embeddings", json=embed, timeout=60)
        inference_s = time.monotonic() - started
        flushed: list[int] = []
        anchoring = threading.Thread(target=lambda: flushed.append(node.ctx.batcher.flush()))
        started = time.monotonic()
        anchoring.start()
        anchoring.join(timeout=60)
        anchor_s = time.monotonic() - started
        statuses = [c.result().status_code for c in calls]
    assert answer.status_code == 200 and inference_s < 5, inference_s
    assert flushed and flushed[0] >= 1 and anchor_s < 10, anchor_s
    assert statuses.count(429) >= 40 - 2 * RPC_CONCURRENCY, statuses
    assert set(statuses) <= {200, 429}
    refused = httpx.post(
        f"{node.url}/v1/chain/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
    )
    assert refused.status_code == 200  # the crowd is gone: the proxy serves again
    assert "cairn_rpc_refused_total" in httpx.get(f"{node.url}/metrics").text


def test_eth_get_logs_works_through_the_proxy(node: Any, client: httpx.Client) -> None:
    resp = client.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": ["logged"]})
    assert resp.status_code == 200
    assert node.ctx.batcher.flush() == 1, node.ctx.batcher.last_error
    anchor = node.ctx.chain.deployment.anchor
    for params in (
        {"fromBlock": "0x0", "toBlock": "latest", "address": anchor},
        {"fromBlock": "earliest", "address": [anchor], "topics": [None]},
    ):
        body = {"jsonrpc": "2.0", "id": 7, "method": "eth_getLogs", "params": [params]}
        reply = client.post("/v1/chain/rpc", json=body).json()
        assert "result" in reply, reply
        logs = reply["result"]
        assert logs and all(log["address"].lower() == anchor.lower() for log in logs)
        assert all(log["blockNumber"].startswith("0x") for log in logs)
