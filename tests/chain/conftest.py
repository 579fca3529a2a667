"""Chain fixtures: one deployed chain per backend, rolled back after every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_hash.auto import keccak

from cairn.chain import Chain, DeployParams, connect
from cairn.identity import LocalSigner

ETHER = 10**18
PARAMS = DeployParams()  # the tests' constants assume the defaults
NAMES = ("alice", "bob", "carol", "judge")


def account(name: str) -> LocalSigner:
    return LocalSigner(keccak(f"cairn-test-{name}".encode()))


def _setup(chain: Chain) -> Chain:
    dev = chain.dev_keys()[0]
    chain.deploy(dev, PARAMS, record=False)
    for name in NAMES:
        chain.fund(account(name).address, 1000 * ETHER)
    chain.staking.set_slasher(dev, account("judge").address)
    return chain


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
