"""A colluding validator: it opens no disputes and, seated on a jury, re-executes honestly
and votes the opposite of what it finds (a test double).

It never audits, so it never opens a dispute: a challenger sits on no jury of its own
dispute, and a liar that opened some would have fewer juries left to draw a seat on (it
then drew none in about one run in 25, and the test could not tell it had lied).

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
from cairn.verification import Reexecutor, TickReport, Validator, ValidatorState


class Dishonest(Validator):
    def _audit(self, report: TickReport) -> None:
        return  # it hides what it would find

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
