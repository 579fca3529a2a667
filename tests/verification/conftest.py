"""Verification fixtures: a chain with Disputes deployed, a staked node, a pool of validators."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.chain import Chain, connect

sys.path.insert(0, str(Path(__file__).parent))
from _vnet import setup_network


@pytest.fixture(scope="session")
def embedded_net() -> Chain:
    return setup_network(connect("embedded://"))


@pytest.fixture(scope="session")
def anvil_net(anvil: str) -> Chain:
    return setup_network(connect(anvil))


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.integration)])
def net(request: pytest.FixtureRequest) -> Iterator[Chain]:
    """A chain with Disputes (both backends); every test's changes are rolled back."""
    c: Chain = request.getfixturevalue(f"{request.param}_net")
    snap = c.snapshot()
    try:
        yield c
    finally:
        c.revert(snap)
