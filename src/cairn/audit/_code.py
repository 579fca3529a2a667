"""Is the contract at an address cairn's own? Its runtime code, hashed, against the artifact's.

An auditor that reads a network's contracts must first know they are cairn's:
a look-alike ``Staking`` whose ``stakeOf`` answers what its author likes would
make every onchain answer a node's word again. So each address is checked
against the compiled artifact shipped with cairn (:mod:`cairn.chain._artifacts`).

Vyper 0.4 lays out a contract's initcode as ``[constructor][runtime][auxdata][len]``:
the last two bytes give the length of a CBOR auxdata block (itself included) that
reads ``[integrity, runtime_size, data_section_sizes, immutables_size, {"vyper":
version}]`` (vyper ``compile_code``'s bytecode output, 0.4.x). At deployment the
constructor returns the runtime code followed by the ``immutables_size`` bytes of
its immutables (``Staking.minNodeStake``, ``Disputes.staking``, ...), so two honest
deployments differ exactly there. The check therefore hashes the *prefix*: the
deployed code must be ``runtime_size + immutables_size`` bytes long and its first
``runtime_size`` bytes must hash (keccak-256) to the artifact's runtime. The
immutables are constructor arguments -- parameters, not code -- and the auditor
reads the ones it needs through their getters and cross-checks the addresses among
them (:func:`cairn.chain.check_network`). Masking the immutables inside the code was
the alternative; the suffix layout makes a prefix compare exact and simpler.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cbor2
from eth_hash.auto import keccak

from cairn.chain import Chain
from cairn.chain._artifacts import load_artifact
from cairn.errors import AuditError

__all__ = ["RuntimeCode", "check_code", "runtime_code"]


@dataclass(frozen=True)
class RuntimeCode:
    """What a deployment of one cairn contract must hold: this runtime, then immutables."""

    name: str
    code: bytes
    immutables: int

    @property
    def code_hash(self) -> bytes:
        return keccak(self.code)


@cache
def runtime_code(name: str) -> RuntimeCode:
    """The runtime code of cairn's contract ``name``, cut out of its shipped initcode."""
    init = bytes.fromhex(load_artifact(name).bytecode.removeprefix("0x"))
    size = int.from_bytes(init[-2:], "big")
    aux = cbor2.loads(init[-size:-2])
    runtime_size, immutables = int(aux[1]), int(aux[3])
    end = len(init) - size
    return RuntimeCode(name, init[end - runtime_size : end], immutables)


def check_code(chain: Chain, name: str, address: str) -> None:
    """Refuse (one line) unless ``address`` on ``chain`` runs cairn's ``name``."""
    want = runtime_code(name)
    found = bytes.fromhex(str(chain.rpc("eth_getCode", [address, "latest"])).removeprefix("0x"))
    if not found:
        raise AuditError(f"{name} {address}: no contract there on chain {chain.chain_id}")
    head = found[: len(want.code)]
    if len(found) != len(want.code) + want.immutables or keccak(head) != want.code_hash:
        raise AuditError(
            f"{name} {address} is not cairn's {name}: its runtime code hash "
            f"0x{keccak(head).hex()[:16]}… differs from the compiled contract's "
            f"0x{want.code_hash.hex()[:16]}…"
        )
