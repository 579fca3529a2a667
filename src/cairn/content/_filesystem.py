"""A blockstore in a directory: one file per block, written atomically.

Layout follows Kubo's flatfs "next-to-last/2" sharding idea: a block lives at
``<root>/<shard>/<key>`` where ``key`` is the base32 multihash plus codec, and
``shard`` is two characters of the key, so no directory grows too large.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cairn._atomic import atomic_write_bytes
from cairn.content.base import Blockstore
from cairn.content.cid import Cid

__all__ = ["FilesystemBlockstore"]


class FilesystemBlockstore(Blockstore):
    """Blocks as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, cid: Cid) -> Path:
        key = base64.b32encode(cid.multihash).decode().rstrip("=").lower()
        name = f"{cid.codec:x}-{key}"
        return self.root / key[-3:-1] / name

    def _contains(self, cid: Cid) -> bool:
        return self._path(cid).is_file()

    def _read(self, cid: Cid) -> bytes | None:
        try:
            return self._path(cid).read_bytes()
        except FileNotFoundError:
            return None

    def _write(self, cid: Cid, data: bytes) -> None:
        atomic_write_bytes(self._path(cid), data)
