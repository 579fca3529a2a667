"""A node whose key stays in a wallet (issue 15): ``cairn up --signer URL``.

Anvil plays the wallet and the chain. The node asks it for every signature --
the receipt of each answer (``eth_signTypedData_v4``), the transactions that
register, stake and anchor (``eth_signTransaction``) -- and the answer verifies
against Anvil's own RPC exactly as a keystore node's does: the receipt is signed
by the wallet's account, anchored, and proven onchain. The node says where its key
is, and the auditor names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.audit import audit_live
from cairn.chain import Network
from cairn.client import GatewayClient, verify_answer

pytestmark = pytest.mark.integration

# Anvil's default mnemonic, account 2: a published development account.
ACCOUNT = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_a_node_signs_everything_through_its_wallet(
    wall_clock_anvil: str, tmp_path: Path, start: Any
) -> None:
    live, server, thread = start(
        tmp_path / "data",
        chain=wall_clock_anvil,
        signer=f"{wall_clock_anvil}#{ACCOUNT}",
        models=("all-MiniLM-L6-v2",),
    )
    try:
        assert live.ctx.signer.address == ACCOUNT
        assert not (tmp_path / "data" / "keystore").exists() or not any(
            (tmp_path / "data" / "keystore").iterdir()
        )  # no key of the node's was made or kept here
        request = {"model": "all-MiniLM-L6-v2", "input": ["signed by a wallet"]}
        answer = httpx.post(f"{live.url}/v1/embeddings", json=request, timeout=60)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        live.ctx.batcher.flush()
        receipt = verify_answer(body, request)
        assert receipt.signer() == receipt.node == ACCOUNT
        staked = live.ctx.chain.staking.participant(ACCOUNT)
        assert staked.role is not None  # registered and staked by wallet-signed transactions
        network = httpx.get(f"{live.url}/v1/network", timeout=30).json()
        assert network["identity"] == {"node_keys": "external_wallet"}
        petal = audit_live(live.url).rosette["identity_payments"]
        assert "held outside it, by a wallet" in petal.reason
        with GatewayClient(live.url) as gateway:
            gateway.verify_online(
                receipt,
                Network.from_deployment("anvil", live.ctx.chain.deployment, wall_clock_anvil),
            )
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        live.ctx.close()
