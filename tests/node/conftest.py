"""One real cairn node per test session: bootstrapped on the embedded chain in a
temporary data dir, served by uvicorn on a free port in a background thread."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from cairn.node import NodeContext, NodeSettings, bootstrap, create_app

sys.path.insert(0, str(Path(__file__).parent))
from _up import UpProcess, start_up

from cairn.node.server import free_port


@dataclass
class LiveNode:
    ctx: NodeContext
    url: str


def start_node(
    data_dir: Path, chain: str = "embedded://", **extra: object
) -> tuple[LiveNode, uvicorn.Server, threading.Thread]:
    port = free_port()
    settings = NodeSettings(
        data_dir=data_dir,
        port=port,
        chain=chain,
        **{  # type: ignore[arg-type]
            "batch_size": 1000,
            "batch_seconds": 3600.0,
            "max_body_bytes": 64 * 1024,
            **extra,
        },
    )
    ctx = bootstrap(settings, "test-passphrase")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return LiveNode(ctx, url), server, thread


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    live, server, thread = start_node(tmp_path_factory.mktemp("node"))
    yield live
    server.should_exit = True
    thread.join(timeout=30)
    live.ctx.close()


@pytest.fixture(scope="session")
def start() -> object:
    """``start_node`` itself, for tests that need a node of their own (another chain)."""
    return start_node


@pytest.fixture(scope="session")
def client(node: LiveNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=60) as c:
        yield c


@pytest.fixture
def cairn_up() -> UpProcess:
    """Start ``cairn up`` as its own process and wait for ``/healthz`` (3 minutes at most)."""
    return start_up
