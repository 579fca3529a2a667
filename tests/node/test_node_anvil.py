"""The same node on a real chain: Anvil. Receipts anchor there, and a client checks
them against Anvil's own RPC — not against anything the node serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.chain import Network
from cairn.client import GatewayClient, verify_answer

pytestmark = pytest.mark.integration


def test_node_on_anvil_anchors_and_verifies_against_anvil(
    anvil: str, tmp_path: Path, start: Any
) -> None:
    live, server, thread = start(tmp_path / "data", chain=anvil)
    try:
        assert live.ctx.domain.chain_id == 31337
        request = {"model": "all-MiniLM-L6-v2", "input": ["anchored on anvil"]}
        body = httpx.post(f"{live.url}/v1/embeddings", json=request, timeout=60).json()
        live.ctx.batcher.flush()
        receipt = verify_answer(body, request)
        with GatewayClient(live.url) as gateway:
            gateway.verify_online(
                receipt, Network.from_deployment("anvil", live.ctx.chain.deployment, anvil)
            )
        assert receipt.domain.chain_id == 31337
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        live.ctx.close()
