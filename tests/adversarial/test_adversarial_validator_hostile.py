"""The validator never dies and never hangs (#9): hostile nodes against real HTTP servers.

Each node below is a real HTTP server on a free port that answers as an
adversary would: one byte every two seconds (in its headers or its body), a body
that is not JSON, a body far over any cap, a redirect to another host, a batch
with a malformed receipt, a model whose root declares 61 GiB; and one node
registers an endpoint with a path and user info. A validator tick over all of
them finishes within a bounded time, records each failure against its node, and
still reaches its jury duties.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cairn.chain import Chain, DisputeParams, Role, connect
from cairn.client import GatewayNodeSource
from cairn.content import Cid, MemoryBlockstore
from cairn.content._pb import PBNode, UnixFSData, encode_node, encode_unixfs
from cairn.content.cid import DAG_PB
from cairn.errors import NodeUnavailable
from cairn.identity import LocalSigner
from cairn.receipts import MerkleTree, Receipt
from cairn.verification import Reexecutor, Validator, ValidatorState
from cairn.verification.validator import plain_base_url

GIB = 1 << 30
DEADLINE = 3.0  # each request's overall deadline in these tests


def _declares_61_gib() -> tuple[Cid, bytes]:
    data = encode_unixfs(UnixFSData(type=2, filesize=61 * GIB, blocksizes=(61 * GIB,)))
    block = encode_node(PBNode(links=(), data=data))
    return Cid.of(block, codec=DAG_PB), block


HUGE_CID, HUGE_ROOT = _declares_61_gib()


class Hostile(BaseHTTPRequestHandler):
    mode = "drip"
    elsewhere = ""
    batch_json = b""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with contextlib.suppress(OSError):  # the validator hung up, as it should
            getattr(self, f"_{self.mode.replace('-', '_')}")()

    def _send(self, body: bytes, kind: str = "application/json", status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        for byte in b'{"receipts": [' * 100:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(2)

    def _drip_headers(self) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(2)

    def _not_json(self) -> None:
        self._send(b"<html>this is not json</html>", "text/html")

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()  # no length: it just keeps coming
        chunk = b"[" * 65536
        for _ in range(4096):  # 256 MiB if nobody stops reading
            self.wfile.write(chunk)

    def _redirect(self) -> None:
        self.send_response(302)
        self.send_header("Location", f"{self.elsewhere}{self.path}")
        self.end_headers()

    def _bad_receipt(self) -> None:
        self._send(self.batch_json)

    def _huge_model(self) -> None:
        if self.path.startswith("/ipfs/"):
            self._send(HUGE_ROOT, "application/vnd.ipld.raw")
        else:
            self._send(b"{}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hostile() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(mode: str, **attrs: Any) -> str:
        handler = type(f"Hostile_{mode}", (Hostile,), {"mode": mode, **attrs})
        server = ThreadingHTTPServer(("127.0.0.1", _free_port()), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _timed(fn: Any) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        fn()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


@pytest.mark.parametrize("mode", ["drip", "drip-headers", "not-json", "huge", "redirect"])
def test_each_hostile_answer_is_contained_within_the_deadline(hostile: Any, mode: str) -> None:
    url = hostile(mode, elsewhere=hostile("not-json"))
    source = GatewayNodeSource(url, timeout=DEADLINE)
    took, error = _timed(lambda: source.batch(1))
    assert isinstance(error, NodeUnavailable), error
    assert took < DEADLINE + 2.5, f"{mode} took {took:.1f}s"
    assert "\n" not in str(error)


def test_a_model_declaring_61_gib_is_refused_before_fetching(hostile: Any) -> None:
    source = GatewayNodeSource(hostile("huge-model"), timeout=DEADLINE)
    with pytest.raises(NodeUnavailable, match=r"declares 65,498,251,264 bytes, over the"):
        source.fetch_model(HUGE_CID, MemoryBlockstore())
    small = GatewayNodeSource(hostile("huge-model"), timeout=DEADLINE, max_model_bytes=100 * GIB)
    took, error = _timed(lambda: small.fetch_model(HUGE_CID, MemoryBlockstore()))
    assert isinstance(error, NodeUnavailable) and took < DEADLINE + 2.5  # the CAR is not there


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8000/evil/path",
        "http://user:pw@127.0.0.1:8000",
        "http://127.0.0.1:8000?x=1",
        "http://127.0.0.1:8000#frag",
        "file:///etc/passwd",
        "ftp://127.0.0.1",
        "http://",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:80 0",
    ],
)
def test_only_plain_base_urls_are_followed(endpoint: str) -> None:
    with pytest.raises(NodeUnavailable, match="refused"):
        plain_base_url(endpoint)


def test_plain_base_urls_pass() -> None:
    assert plain_base_url("https://node.example:8443/") == "https://node.example:8443"
    assert plain_base_url("http://[::1]:8000") == "http://[::1]:8000"


# -- a whole tick ----------------------------------------------------------------------


def _node(chain: Chain, name: str, endpoint: str) -> LocalSigner:
    signer = LocalSigner(name.encode().ljust(32, b"\1"))
    chain.fund(signer.address, 10 * 10**18)
    chain.staking.register(signer, Role.NODE, endpoint, ["m"])
    chain.staking.stake(signer, 10**18)
    return signer


def _anchor(chain: Chain, signer: LocalSigner) -> None:
    domain = chain.disputes.receipt_domain
    receipts = [
        Receipt(
            str(HUGE_CID),
            os.urandom(32),
            os.urandom(32),
            signer.address,
            os.urandom(32),
            1_700_000_000,
            "rt",
            0,
            domain,
        ).sign(signer)
        for _ in range(2)
    ]
    tree = MerkleTree.build([r.digest() for r in receipts])
    chain.anchor.anchor(signer, 1, tree.root, len(receipts))


def test_a_tick_over_hostile_nodes_ends_records_each_and_still_serves_disputes(
    hostile: Any,
) -> None:
    chain = connect("embedded://")
    chain.deploy(chain.dev_keys()[0], disputes=DisputeParams(full_audit_receipts=10))
    endpoints = {
        "drip": hostile("drip"),
        "not-json": hostile("not-json"),
        "huge": hostile("huge"),
        "redirect": hostile("redirect", elsewhere=hostile("not-json")),
        "path": hostile("not-json") + "/some/path",
    }
    nodes = {name: _node(chain, name, url) for name, url in endpoints.items()}
    for signer in nodes.values():
        _anchor(chain, signer)
    chain.increase_time(1)

    me = LocalSigner(b"validator".ljust(32, b"\2"))
    chain.fund(me.address, 10 * 10**18)
    state = ValidatorState(None)
    v = Validator(
        chain,
        me,
        Reexecutor(MemoryBlockstore()),
        state,
        sources=lambda url: GatewayNodeSource(url, timeout=DEADLINE),
        patience=1,
    )
    v.ensure_joined()
    chain.increase_time(1)
    started = time.monotonic()
    report = v.tick()
    took = time.monotonic() - started
    # every node is contacted at most once per tick, each request within its deadline
    assert took < len(nodes) * (DEADLINE + 2.5), f"tick took {took:.1f}s"
    assert report.planned == 2 * len(nodes)
    failed = {node for node, _what, _reason in state.node_failures()}
    assert failed == {n.address.lower() for n in nodes.values()}
    reasons = " | ".join(r for _n, _w, r in state.node_failures())
    assert "refused" in reasons and "non-JSON" in reasons and "cap" in reasons
    assert "302" in reasons and "within 3 s" in reasons
    # no listing, so each sampled leaf is now owed onchain (a leaf challenge each)
    assert len(report.challenged) == 2 * len(nodes)
    assert all(
        row.status == "pending" and "leaf challenge" in (row.reason or "") for row in state.audits()
    )
    # and the tick went on to its jury duties: the dispute scan moved to the head
    assert state.get("dispute_block") == chain.head() + 1
