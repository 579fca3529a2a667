"""An in-memory blockstore: the fake beside the port, for tests and ``--only-hash``."""

from __future__ import annotations

from cairn.content.base import Blockstore
from cairn.content.cid import Cid

__all__ = ["MemoryBlockstore", "NullBlockstore"]


def _key(cid: Cid) -> tuple[int, bytes]:
    # v0 and v1 of the same dag-pb block are the same bytes: key by multihash + codec.
    return (cid.codec, cid.multihash)


class MemoryBlockstore(Blockstore):
    """Blocks in a dict, keyed by codec and multihash."""

    def __init__(self) -> None:
        self.blocks: dict[tuple[int, bytes], bytes] = {}

    def _contains(self, cid: Cid) -> bool:
        return _key(cid) in self.blocks

    def _read(self, cid: Cid) -> bytes | None:
        return self.blocks.get(_key(cid))

    def _write(self, cid: Cid, data: bytes) -> None:
        self.blocks[_key(cid)] = data


class NullBlockstore(Blockstore):
    """Keeps nothing: what ``cairn add --only-hash`` writes to."""

    def _contains(self, cid: Cid) -> bool:
        return False

    def _read(self, cid: Cid) -> bytes | None:
        return None

    def _write(self, cid: Cid, data: bytes) -> None:
        return None
