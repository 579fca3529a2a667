"""Compiled contracts, shipped with the package and checked against their sources.

Compiling Vyper takes seconds, so the ABI and bytecode of each contract are
generated once into ``contracts/build/<Name>.json`` (``python -m
cairn.chain._artifacts``) and loaded from there; installed users never compile
and never need write access to the package. Each artifact records the sha256 of
its source and the compiler version, and a test recompiles every contract and
compares, so a stale artifact cannot ship.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cairn._atomic import atomic_write_bytes

__all__ = ["CONTRACTS", "Artifact", "compile_contract", "load_artifact", "write_artifacts"]

CONTRACTS = (
    "ModelRegistry",
    "Staking",
    "ReceiptAnchor",
    "Disputes",
    "Challenges",
    "IdentityRegistry",
    "ReputationRegistry",
    "ValidationRegistry",
    "BatchSettlement",
    "ERC3009DepositCollector",
    "CairnUSD",
    "RevenueSplitter",
    "ValidatorPool",
)
SOURCES = Path(__file__).with_name("contracts")
BUILD = SOURCES / "build"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what web3 needs to deploy and call it."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    source_sha256: str
    compiler: str


def source_sha256(name: str) -> str:
    return hashlib.sha256((SOURCES / f"{name}.vy").read_bytes()).hexdigest()


def compile_contract(name: str) -> Artifact:
    """Compile ``contracts/<name>.vy`` with the installed vyper (slow: seconds)."""
    import vyper  # only the build step and its test need the compiler

    source = (SOURCES / f"{name}.vy").read_text()
    out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    return Artifact(name, out["abi"], out["bytecode"], source_sha256(name), vyper.__version__)


@cache
def load_artifact(name: str) -> Artifact:
    """The shipped artifact of ``name``."""
    data = json.loads((BUILD / f"{name}.json").read_text())
    return Artifact(**data)


def write_artifacts(names: tuple[str, ...] = CONTRACTS) -> None:
    for name in names:
        art = compile_contract(name)
        blob = json.dumps(art.__dict__, indent=1, sort_keys=True) + "\n"
        atomic_write_bytes(BUILD / f"{name}.json", blob.encode())
        print(f"wrote {BUILD / name}.json", file=sys.stderr)


if __name__ == "__main__":  # python -m cairn.chain._artifacts [NAME ...]
    unknown = [n for n in sys.argv[1:] if n not in CONTRACTS]
    if unknown:
        sys.exit(f"unknown contract {unknown[0]!r}: one of {', '.join(CONTRACTS)}")
    write_artifacts(tuple(sys.argv[1:]) or CONTRACTS)
