"""Fixtures every layer's tests share: the golden vectors, the npm peers, a data dir, Anvil."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A copy of ../shared/vectors (byte-exact; provenance in tests/vectors/SOURCES.md),
# so that a fresh clone carries its own golden vectors.
VECTORS = ROOT / "tests" / "vectors"
NODE_BIN = ROOT / "node_modules" / ".bin"


@pytest.fixture(scope="session", autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI keeps its rendered help in $XDG_CACHE_HOME: the tests' own, not the user's."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def vectors() -> Path:
    """Golden vectors from the specs (see tests/vectors/SOURCES.md)."""
    if not VECTORS.is_dir():
        pytest.fail(f"golden vectors not found at {VECTORS}")
    return VECTORS


@pytest.fixture(scope="session")
def node_bin() -> Path:
    """node_modules/.bin, installed by `make test` (ipfs-car, anvil)."""
    if not (NODE_BIN / "ipfs-car").exists():
        pytest.fail("npm peers missing: run `make test` (it runs `npm ci`)")
    return NODE_BIN


@pytest.fixture(scope="session")
def node_exe() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("node is not installed")
    return exe


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, empty cairn data dir."""
    d = tmp_path / "cairn-data"
    d.mkdir()
    return d


def _anvil() -> Iterator[str]:
    from cairn.chain.devnet import Anvil
    from cairn.errors import ChainUnreachable

    node = Anvil(NODE_BIN / "anvil")
    try:
        url = node.start()
    except ChainUnreachable as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        node.stop()


@pytest.fixture(scope="session")
def anvil() -> Iterator[str]:
    """A fresh Anvil (npm @foundry-rs/anvil) on a free port; yields its JSON-RPC URL.

    Its default accounts are prefunded (mnemonic "test test ... junk"); chain id 31337.
    """
    yield from _anvil()


@pytest.fixture(scope="module")
def wall_clock_anvil() -> Iterator[str]:
    """An Anvil of this module's own, whose clock no other test has moved: for what is
    checked against the wall clock and the chain's clock both (EIP-3009 windows, which
    x402 clients sign from the wall clock, expire on the chain's)."""
    yield from _anvil()
