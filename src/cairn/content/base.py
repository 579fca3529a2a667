"""The blockstore port: where content-addressed blocks live.

Three methods (``has``, ``get``, ``put``). Verification is written once here:
``get`` checks every block against its CID whatever the backend, so a corrupt
disk, a lying gateway or a tampered file can never hand back wrong bytes. A
backend fills in the raw hooks ``_read``/``_write``/``_contains``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from cairn.content.cid import Cid
from cairn.errors import BlockNotFound

__all__ = ["Blockstore"]


class Blockstore(ABC):
    """Stores blocks by CID. ``get`` always verifies; ``put`` is idempotent."""

    def has(self, cid: Cid) -> bool:
        return self._contains(cid)

    def get(self, cid: Cid) -> bytes:
        """The verified bytes of ``cid``; :class:`BlockNotFound` if absent."""
        data = self._read(cid)
        if data is None:
            raise BlockNotFound(f"block {cid} is not in the blockstore")
        return cid.verify(data)

    def put(self, cid: Cid, data: bytes, *, verified: bool = False) -> None:
        """Store ``data`` under ``cid``, checking it first unless the caller just hashed it."""
        if not verified:
            cid.verify(data)
        if not self._contains(cid):
            self._write(cid, data)

    @abstractmethod
    def _contains(self, cid: Cid) -> bool: ...

    @abstractmethod
    def _read(self, cid: Cid) -> bytes | None: ...

    @abstractmethod
    def _write(self, cid: Cid, data: bytes) -> None: ...
