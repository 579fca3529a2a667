"""Test-only contracts: compile a Vyper source, deploy it, send and read through it.

The cairn wrappers only know the shipped artifacts; tests that need a contract of
their own (a slasher probe, a challenger that refuses ETH) use these helpers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cairn.chain import Chain, _tx
from cairn.identity import Signer


@cache
def _compiled(source: str) -> tuple[str, str]:
    import json

    import vyper

    out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    return json.dumps(out["abi"]), out["bytecode"]


class Probe:
    """A deployed test contract."""

    def __init__(self, chain: Chain, abi: str, address: str) -> None:
        self.chain = chain
        self.address = address
        self.contract = chain._w3.eth.contract(address=address, abi=abi)

    def send(self, signer: Signer, fn: str, *args: Any, value: int = 0) -> _tx.Tx[None]:
        call = getattr(self.contract.functions, fn)(*args)
        receipt = _tx.send(self.chain._w3, self.chain.backend, "Probe", call, signer, value)
        return _tx.tx_of(receipt, None)

    def call(self, fn: str, *args: Any) -> Any:
        return _tx.call("Probe", getattr(self.contract.functions, fn)(*args))


def deploy(chain: Chain, signer: Signer, source: str, *args: Any) -> Probe:
    abi, bytecode = _compiled(source)
    factory = chain._w3.eth.contract(abi=abi, bytecode=bytecode)
    receipt = _tx.send(chain._w3, chain.backend, "Probe", factory.constructor(*args), signer)
    return Probe(chain, abi, str(receipt["contractAddress"]))


# Stands in for Disputes as Staking's slasher: settable lock and dispute length,
# and a forwarder for slash (which pays the slashed stake to this contract).
SLASHER = """
# pragma version ~=0.4.1
interface IStaking:
    def slash(who: address, amount: uint256) -> uint256: nonpayable

staking: public(immutable(IStaking))
maxDisputeDuration: public(uint256)
lockOf: public(HashMap[address, uint8])

@deploy
def __init__(_staking: address, _duration: uint256):
    staking = IStaking(_staking)
    self.maxDisputeDuration = _duration

@external
def setLock(who: address, lock: uint8):
    self.lockOf[who] = lock

@external
def slash(who: address, amount: uint256) -> uint256:
    return extcall staking.slash(who, amount)

@payable
@external
def __default__():
    pass
"""

# A contract account that forwards any call (with value) and refuses plain ETH:
# it has no __default__, so every plain transfer to it reverts.
REFUSER = """
# pragma version ~=0.4.1
@payable
@external
def forward(target: address, data: Bytes[8192]):
    raw_call(target, data, value=msg.value)

@payable
@external
def forward2(target: address, first: Bytes[8192], second: Bytes[8192]):
    raw_call(target, first, value=msg.value)
    raw_call(target, second)
"""
