"""The embedded chain's gas estimate (cairn.chain._gas): a limit every transaction was
seen to succeed with, close to the least one, and the same errors as py-evm's search."""

from __future__ import annotations

from typing import Any

import pytest
from eth.estimators.gas import binary_gas_search_exact
from web3 import Web3

from cairn.chain import Chain
from cairn.chain._embedded import EmbeddedBackend
from cairn.chain.staking import Role
from cairn.errors import ChainError


def _estimates(chain: Chain, tx: dict[str, Any]) -> tuple[int, int]:
    """(cairn's estimate, the least limit that succeeds) for ``tx`` at the chain's head."""
    backend = chain.backend
    assert isinstance(backend, EmbeddedBackend)
    tester, evm_chain = backend._tester, backend._evm.chain
    ours = int(tester.estimate_gas(tx))
    evm_chain.gas_estimator = binary_gas_search_exact  # py-evm's search, to the gas
    try:
        least = int(tester.estimate_gas(tx))
    finally:
        del evm_chain.gas_estimator
    return ours, least


def _call(contract: Any, fn: str, *args: Any, sender: str) -> dict[str, Any]:
    return {
        "from": sender,
        "to": contract.address,
        "data": contract._contract.encode_abi(fn, args),
        "value": 0,
    }


def test_estimates_are_close_to_the_least_limit_and_are_what_the_chain_uses(
    embedded_chain: Chain, alice: Any
) -> None:
    chain = embedded_chain
    snap = chain.snapshot()
    try:
        dev = chain.dev_keys()[0]
        me = Web3.to_checksum_address(alice.address)
        stake = chain.staking.min_stake(Role.NODE)
        register = (int(Role.NODE), "http://a", [b"\1" * 32], b"\0" * 32)
        cases = [
            ("plain transfer", {"from": me, "to": dev.address, "value": 1, "data": "0x"}),
            ("token mint", _call(chain.token, "mint", me, 10**6, sender=dev.address)),
            ("register", _call(chain.staking, "register", *register, sender=me)),
            ("stake", {**_call(chain.staking, "stake", stake, sender=me), "value": stake}),
        ]
        for name, tx in cases:
            ours, least = _estimates(chain, tx)
            assert least <= ours <= least + least // 50 + 2300, (name, ours, least)
            if name == "register":  # staking needs a registered participant
                chain.staking.register(alice, Role.NODE, "http://a", [b"\1" * 32])
        # a transaction sent through the chain gets its limit from this estimate
        before = chain.token.balance_of(me)
        chain.token.mint(dev, me, 10**6)
        assert chain.token.balance_of(me) == before + 10**6
    finally:
        chain.revert(snap)


def test_a_transaction_that_reverts_at_any_limit_raises_its_reason(
    embedded_chain: Chain, alice: Any
) -> None:
    chain = embedded_chain
    with pytest.raises(ChainError) as err:  # alice is not the token's minter
        chain.token.mint(alice, alice.address, 1)
    assert "revert" in str(err.value).lower() or "minter" in str(err.value).lower()
