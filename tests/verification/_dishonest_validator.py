"""A validator that audits honestly but votes the opposite of what it finds (a test double).

Usage: ``_dishonest_validator.py DATA_DIR CHAIN_URL KEY_HEX``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from cairn import content
from cairn.chain import OpenedDispute, Vote, connect
from cairn.client import GatewayNodeSource
from cairn.config import DataDir
from cairn.identity import LocalSigner
from cairn.node import run_validator
from cairn.verification import Reexecutor, Validator, ValidatorState


class Dishonest(Validator):
    def judge(self, opened: OpenedDispute) -> Vote:
        honest = super().judge(opened)
        flipped = {Vote.GUILTY: Vote.INNOCENT, Vote.INNOCENT: Vote.GUILTY}
        return flipped.get(honest, honest)


def main() -> None:
    root, url, key = sys.argv[1:4]
    dd = DataDir(Path(root)).ensure()
    chain = connect(url, dd)
    signer = LocalSigner.from_hex(key)
    v = Dishonest(
        chain,
        signer,
        Reexecutor(content.open_blockstore(dd)),
        ValidatorState(dd.root / "validator.sqlite"),
        sources=lambda node: GatewayNodeSource(node, signer=signer),
        patience=1,
    )
    print("READY", flush=True)
    run_validator(v, threading.Event(), 0.3, on_tick=lambda r: print(r, flush=True))


if __name__ == "__main__":
    main()
