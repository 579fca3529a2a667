"""The trustless-gateway client against a small gateway served in the test.

The in-test server speaks the trustless-gateway protocol from a blockstore; the
real gateway (cairn.node) is tested against @helia/verified-fetch elsewhere.
Here the server can lie, which a real one would not do on request.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cairn import content
from cairn.content.cid import Cid
from cairn.errors import BlockNotFound, GatewayError


class _Gateway:
    def __init__(self, store: content.Blockstore) -> None:
        self.store = store
        self.corrupt: set[str] = set()
        self.drop: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                cid = Cid.parse(self.path.removeprefix("/ipfs/").split("?")[0])
                if str(cid) in outer.drop or not outer.store.has(cid):
                    self.send_response(404)
                    self.end_headers()
                    return
                if "car" in self.headers.get("Accept", ""):
                    buf = io.BytesIO()
                    blocks = [
                        (c, b)
                        for c, b in content.walk_blocks(cid, outer.store)
                        if str(c) not in outer.drop
                    ]
                    content.write_car([cid], [(c, outer._maybe(c, b)) for c, b in blocks], buf)
                    body = buf.getvalue()
                else:
                    body = outer._maybe(cid, outer.store.get(cid))
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _maybe(self, cid: Cid, block: bytes) -> bytes:
        return block[:-1] + bytes([block[-1] ^ 1]) if str(cid) in self.corrupt else block


@pytest.fixture
def gateway() -> Iterator[_Gateway]:
    gw = _Gateway(content.MemoryBlockstore())
    thread = threading.Thread(target=gw.server.serve_forever, daemon=True)
    thread.start()
    yield gw
    gw.server.shutdown()


def _file_dag(gw: _Gateway) -> tuple[Cid, list[Cid]]:
    p = content.get_profile("unixfs-v1-2025").with_overrides(chunk_size=1000)
    root = content.add_bytes(bytes(range(256)) * 20, gw.store, p)
    return root, [c for c, _ in content.walk_blocks(root, gw.store)]


@pytest.mark.parametrize("car", [True, False])
def test_fetch_verifies_and_stores(gateway: _Gateway, tmp_path: Path, car: bool) -> None:
    root, blocks = _file_dag(gateway)
    local = content.FilesystemBlockstore(tmp_path / "b")
    assert content.fetch(root, gateway.url, local, car=car) == len(blocks)
    assert content.read_bytes(root, local) == bytes(range(256)) * 20


@pytest.mark.parametrize("car", [True, False])
def test_a_lying_gateway_changes_nothing(gateway: _Gateway, car: bool) -> None:
    root, blocks = _file_dag(gateway)
    gateway.corrupt.add(str(blocks[-1]))
    local = content.MemoryBlockstore()
    with pytest.raises(GatewayError, match=r"sent (a bad CAR|bad data)"):
        content.fetch(root, gateway.url, local, car=car)
    assert local.blocks == {}


@pytest.mark.parametrize("car", [True, False])
def test_an_incomplete_dag_changes_nothing(gateway: _Gateway, car: bool) -> None:
    root, blocks = _file_dag(gateway)
    gateway.drop.add(str(blocks[2]))
    local = content.MemoryBlockstore()
    with pytest.raises(GatewayError, match="incomplete DAG"):
        content.fetch(root, gateway.url, local, car=car)
    assert local.blocks == {}


def test_missing_root_and_unreachable_gateway(gateway: _Gateway) -> None:
    with pytest.raises(BlockNotFound):
        content.fetch(Cid.of(b"absent"), gateway.url, content.MemoryBlockstore())
    with pytest.raises(GatewayError, match="unreachable"):
        content.fetch(Cid.of(b"x"), "http://127.0.0.1:9", content.MemoryBlockstore())


def test_gateway_blockstore_is_verified_and_read_only(gateway: _Gateway) -> None:
    root, blocks = _file_dag(gateway)
    remote = content.open_blockstore(gateway.url)
    assert content.read_bytes(root, remote) == bytes(range(256)) * 20
    gateway.corrupt.add(str(blocks[1]))
    with pytest.raises(Exception, match="does not match its CID"):
        content.read_bytes(root, remote)
    with pytest.raises(GatewayError, match="read-only"):
        remote.put(Cid.of(b"new"), b"new")
