"""Arweave peers for the content tests: arlocal (npm, a gateway we did not write) and a proxy."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # _arweave_peers, beside the tests

from _arweave_peers import Proxy

NODE_BIN = Path(__file__).resolve().parents[2] / "node_modules" / ".bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def arlocal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """npm arlocal 1.1.66 on a free port, its database in a temp dir; yields its http URL."""
    exe = NODE_BIN / "arlocal"
    if not exe.exists():
        pytest.fail("npm peers missing: run `make test` (it runs `npm ci`)")
    port = _free_port()
    cwd = tmp_path_factory.mktemp("arlocal")
    log = (cwd / "arlocal.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), str(port), "--hidelogs", "--dbpath=db"], cwd=cwd, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/info", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"arlocal exited: {(cwd / 'arlocal.log').read_text()[-500:]}")
            time.sleep(0.1)
        else:
            pytest.fail("arlocal did not answer /info within 20 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def proxy(arlocal: str) -> Iterator[Proxy]:
    p = Proxy(arlocal)
    yield p
    p.close()
