"""Chain fixtures: one deployed chain per backend, rolled back after every test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak

from cairn.chain import Chain, DeployParams, connect
from cairn.identity import LocalSigner

sys.path.insert(0, str(Path(__file__).parent))
from _vyper import SLASHER, Probe, deploy

ETHER = 10**18
PARAMS = DeployParams()  # the tests' constants assume the defaults
NAMES = ("alice", "bob", "carol", "judge")


def account(name: str) -> LocalSigner:
    return LocalSigner(keccak(f"cairn-test-{name}".encode()))


def _setup(chain: Chain) -> Chain:
    """Deploy; Staking's slasher is a probe contract (tests/chain/_vyper.py: SLASHER)."""
    dev = chain.dev_keys()[0]
    chain.deploy(dev, PARAMS, record=False)
    for name in NAMES:
        chain.fund(account(name).address, 1000 * ETHER)
    probe = deploy(chain, dev, SLASHER, chain.staking.address, 3600)
    chain.staking.set_slasher(dev, probe.address)
    _PROBES[chain.chain_id, chain.url] = probe
    return chain


_PROBES: dict[tuple[int, str], Probe] = {}


@pytest.fixture(scope="session")
def embedded_chain() -> Chain:
    return _setup(connect("embedded://"))


@pytest.fixture(scope="session")
def anvil_chain(anvil: str) -> Chain:
    return _setup(connect(anvil))


@pytest.fixture(
    params=["embedded", pytest.param("anvil", marks=pytest.mark.integration)],
)
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    """A deployed chain (both backends); every test's changes are rolled back."""
    c: Chain = request.getfixturevalue(f"{request.param}_chain")
    snap = c.snapshot()
    try:
        yield c
    finally:
        c.revert(snap)


@pytest.fixture
def slasher(chain: Chain) -> Probe:
    """The probe contract that is Staking's slasher on ``chain``."""
    return _PROBES[chain.chain_id, chain.url]


@pytest.fixture
def alice() -> Any:
    return account("alice")


@pytest.fixture
def bob() -> Any:
    return account("bob")


@pytest.fixture
def carol() -> Any:
    return account("carol")


@pytest.fixture
def judge() -> Any:
    return account("judge")
