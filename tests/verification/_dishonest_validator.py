"""A validator that audits honestly but votes the opposite of what it finds (a test double).

Usage: ``_dishonest_validator.py DATA_DIR CHAIN_URL KEY_HEX``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from cairn import content
from cairn.chain import OpenedDispute, connect
from cairn.config import DataDir
from cairn.verification import Reexecutor, Validator, ValidatorState


class Dishonest(Validator):
    def judge(self, opened: OpenedDispute) -> bool:
        return not super().judge(opened)


def main() -> None:
    root, url, key = sys.argv[1:4]
    dd = DataDir(Path(root)).ensure()
    chain = connect(url, dd)
    v = Dishonest(
        chain,
        key,
        Reexecutor(content.open_blockstore(dd)),
        ValidatorState(dd.root / "validator.sqlite"),
        patience=1,
    )
    print("READY", flush=True)
    v.run(threading.Event(), 0.3, on_tick=lambda r: print(r, flush=True))


if __name__ == "__main__":
    main()
