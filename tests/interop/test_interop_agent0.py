"""A peer we did not write reads a cairn agent: agent0-sdk (PyPI, unmodified) on Anvil.

cairn deploys the ERC-8004 registries on a fresh Anvil and registers an agent
with its Python wrapper; the agent URI is ``ipfs://CID`` of an ERC-8004
registration file, imported with cairn's own UnixFS importer. agent0-sdk, run in
its own venv (.venv-agent0) with its registry addresses overridden to that Anvil,
resolves ``ipfs://`` through an IPFS node's HTTP RPC (``ipfs="node"``: its
ipfshttpclient calls ``/api/v0/version`` and ``/api/v0/cat``), so the test serves
those two calls from a local server over the same blockstore — no gateway, no
internet. The SDK loads the agent and its endpoints, rates it, and reads the
feedback back, all chain-direct (no subgraph exists for a local chain); cairn then
reads the SDK's feedback with its own wrapper.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from cairn.chain import connect
from cairn.content import Cid, MemoryBlockstore, add_bytes, read_bytes
from cairn.errors import CairnError

pytestmark = pytest.mark.integration


class _IpfsRpc(BaseHTTPRequestHandler):
    """The two Kubo RPC calls ipfshttpclient makes to read a file."""

    store: MemoryBlockstore

    def do_POST(self) -> None:
        url = urlparse(self.path)
        if url.path == "/api/v0/version":
            return self._reply(200, json.dumps({"Version": "0.7.0", "System": "cairn-test"}))
        if url.path == "/api/v0/cat":
            try:
                cid = Cid.parse(parse_qs(url.query)["arg"][0])
                return self._reply(200, read_bytes(cid, self.store), "application/octet-stream")
            except (KeyError, IndexError, CairnError) as exc:
                return self._reply(500, json.dumps({"Message": str(exc), "Type": "error"}))
        self._reply(404, json.dumps({"Message": f"no {url.path}", "Type": "error"}))

    def _reply(self, code: int, body: str | bytes, kind: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ipfs_rpc() -> Iterator[tuple[str, MemoryBlockstore]]:
    """A local stand-in for an IPFS node's RPC; yields its multiaddr and blockstore."""
    store = MemoryBlockstore()
    handler = type("Handler", (_IpfsRpc,), {"store": store})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"/ip4/127.0.0.1/tcp/{server.server_address[1]}/http", store
    finally:
        server.shutdown()
        server.server_close()


def test_agent0_sdk_loads_a_cairn_agent(anvil, agent0_python, ipfs_rpc):
    api, store = ipfs_rpc
    chain = connect(anvil)
    dev, owner, client = chain.dev_keys()[:3]
    d = chain.deploy(dev, record=False)
    ids = chain.identity
    agent_id = ids.register(owner).value  # the id first: the file names its registration
    endpoint = "http://10.0.0.7:8080/.well-known/agent-card.json"
    card = {
        "type": "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
        "name": "cairn-node-test",
        "description": "a cairn inference node (embeddings), receipts signed and anchored",
        "image": "",
        "services": [
            {"name": "A2A", "endpoint": endpoint, "version": "0.3.0"},
            {"name": "MCP", "endpoint": "http://10.0.0.7:8080/mcp", "version": "2025-06-18"},
        ],
        "x402Support": False,
        "active": True,
        "registrations": [
            {"agentId": agent_id, "agentRegistry": f"eip155:{chain.chain_id}:{ids.address}"}
        ],
        "supportedTrust": ["reputation", "crypto-economic"],
    }
    cid = add_bytes(json.dumps(card).encode(), store)
    ids.set_agent_uri(owner, agent_id, f"ipfs://{cid}")

    job = {
        "rpc": anvil,
        "chain_id": chain.chain_id,
        "identity": d.identity,
        "reputation": d.reputation,
        "validation": d.validation,
        "ipfs_api": api,
        "agent_id": agent_id,
        "client_key": "0x" + client.private_key.hex(),
    }
    run = subprocess.run(
        [str(agent0_python), str(__file__).replace("test_interop_agent0.py", "agent0_peer.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"agent0-sdk could not read the agent:\n{run.stderr[-3000:]}"
    out = json.loads(run.stdout.strip().splitlines()[-1])

    loaded = out["loaded"]
    assert loaded["name"] == "cairn-node-test"
    assert loaded["agentURI"] == f"ipfs://{cid}"
    assert {(e["type"], e["value"]) for e in loaded["endpoints"]} == {
        ("A2A", endpoint),
        ("MCP", "http://10.0.0.7:8080/mcp"),
    }
    assert loaded["trust"] == ["reputation", "crypto-economic"]
    assert loaded["owner"] == owner.address and loaded["owners"] == [owner.address]
    assert loaded["wallet"] == owner.address  # getAgentWallet, read from the chain

    # The SDK's feedback went through cairn's registry and reads back both ways.
    assert out["client"] == client.address
    assert out["feedback"] == {"value": 87.0, "tags": ["starred"], "revoked": False}
    assert out["summary"] == {"count": 1, "average": 87.0}
    assert out["searched"] == 1
    f = chain.reputation.read_feedback(agent_id, client.address, 1)
    assert (f.value, f.decimals, f.tag1) == (87, 0, "starred")
