"""The embedded chain on disk: a snapshot plus an append-only log of what changed.

py-evm keeps a chain as one key-value store (trie nodes, headers, receipts, the
transaction index). Writing it whole after every transaction made each one cost
in proportion to the chain's age: 1.3 ms at 33 blocks, 23 ms of a 37 ms
transaction at 6 000 blocks (a 5.3 MB file), and a chain that follows the clock
gains a block a second. Now a transaction appends only the keys written or
deleted since the last one.

Files, in ``<data dir>/chain/``:

- ``embedded.db``: a whole store (``CAIRNEVM2`` magic, the chain id, then
  length-prefixed keys and values; ``CAIRNEVM1`` files from before chain ids
  still load), written atomically (temporary file, fsync, rename).
- ``embedded.log``: ``CAIRNLOG1`` magic, then records appended and fsynced one
  per transaction: ``length (4 bytes) ‖ crc32 (4) ‖ entries``, each entry
  ``key length ‖ key ‖ value length ‖ value``, a value length of ``0xFFFFFFFF``
  meaning the key was deleted.

Loading replays the log over the snapshot in order. A record cut short or
failing its checksum (a crash mid-append) ends the replay there: the state is
the last whole transaction's, and the torn tail is cut off so later records
follow a whole one. When the log outgrows the snapshot (and 1 MiB), the store is
written whole again, once the transaction's record is appended, and only then is
the log emptied. A crash between those two steps leaves a complete log over a
snapshot of the same state: replaying it leaves each key at its last value, the
value the snapshot holds. A new store (no snapshot yet) empties any log left
beside it before writing its first snapshot.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cairn._atomic import atomic_write
from cairn.errors import ChainError

__all__ = ["LEGACY_CHAIN_ID", "StateFile", "Tracked"]

_MAGIC_V1 = b"CAIRNEVM1\n"  # no chain id: eth-tester's
_MAGIC = b"CAIRNEVM2\n"  # followed by the chain id (8 bytes, big-endian)
_LOG_MAGIC = b"CAIRNLOG1\n"
_LEN = struct.Struct(">I")
_ID = struct.Struct(">Q")
_RECORD = struct.Struct(">II")  # payload length, crc32 of the payload
_DELETED = 0xFFFFFFFF
LEGACY_CHAIN_ID = 131277322940537
MIN_COMPACT_BYTES = 1 << 20


class Tracked(dict[bytes, bytes]):
    """py-evm's key-value store (a ``MemoryDB``'s ``kv_store``), remembering the keys
    set or deleted since :meth:`StateFile.commit` last took them. ``MemoryDB`` writes
    only through ``store[key] = value`` and ``del store[key]``."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.dirty: set[bytes] = set()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        super().__setitem__(key, value)
        self.dirty.add(key)

    def __delitem__(self, key: bytes) -> None:
        super().__delitem__(key)
        self.dirty.add(key)


class StateFile:
    """The snapshot at ``path`` and its log beside it (``.log`` for ``.db``)."""

    def __init__(self, path: Path) -> None:
        self.path, self.log = path, path.with_suffix(".log")
        self._snapshot_bytes = 0
        self._log_bytes = 0

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> tuple[int, Tracked]:
        """The chain id and the store: the snapshot with the log's whole records replayed."""
        blob = self.path.read_bytes()
        chain_id, kv = _load(blob)
        self._snapshot_bytes = len(blob)
        self._log_bytes = self._replay(kv)
        return chain_id, Tracked(kv)

    def commit(self, store: dict[bytes, bytes], chain_id: int) -> None:
        """Make ``store`` what a restart loads: append what changed; write it whole the
        first time, for a store that does not track its changes, and when the log has
        outgrown the snapshot (after appending, so the log stays complete until the new
        snapshot is in place)."""
        if not isinstance(store, Tracked) or not self.path.exists():
            self._empty_log()  # a log left by another store must never replay over this one
            self._write_whole(store, chain_id)
            return
        if store.dirty:
            self._append(store)
        if self._log_bytes > max(MIN_COMPACT_BYTES, self._snapshot_bytes):
            self._write_whole(store, chain_id)
            self._empty_log()  # a crash before this replays the log onto the same state

    def _append(self, store: Tracked) -> None:
        payload = _encode((key, store.get(key)) for key in store.dirty)
        record = _RECORD.pack(len(payload), zlib.crc32(payload)) + payload
        with open(self.log, "ab") as fh:
            if fh.tell() == 0:
                fh.write(_LOG_MAGIC)
            fh.write(record)
            fh.flush()
            os.fsync(fh.fileno())
            self._log_bytes = fh.tell()
        store.dirty.clear()

    def _write_whole(self, store: dict[bytes, bytes], chain_id: int) -> None:
        blob = _dump(store, chain_id)
        with atomic_write(self.path, 0o600) as fh:
            fh.write(blob)
        self._snapshot_bytes = len(blob)
        if isinstance(store, Tracked):
            store.dirty.clear()

    def _empty_log(self) -> None:
        if self.log.exists():
            self._cut_log(0)
        self._log_bytes = 0

    def _cut_log(self, size: int) -> None:
        with open(self.log, "r+b") as fh:
            fh.truncate(size)
            os.fsync(fh.fileno())

    def _replay(self, store: dict[bytes, bytes]) -> int:
        """Apply the log's whole records to ``store``; cut a torn tail; the log's length."""
        try:
            blob = self.log.read_bytes()
        except FileNotFoundError:
            return 0
        if not blob:
            return 0
        if not blob.startswith(_LOG_MAGIC):
            raise ChainError(f"{self.log} is not a cairn chain log")
        pos = good = len(_LOG_MAGIC)
        while pos + _RECORD.size <= len(blob):
            size, crc = _RECORD.unpack_from(blob, pos)
            payload = blob[pos + _RECORD.size : pos + _RECORD.size + size]
            if len(payload) != size or zlib.crc32(payload) != crc:
                break
            try:
                for key, value in _pairs(payload, 0):
                    if value is None:
                        store.pop(key, None)
                    else:
                        store[key] = value
            except struct.error as exc:  # whole and checksummed, yet not entries: not ours
                raise ChainError(f"{self.log} holds a malformed record") from exc
            pos = good = pos + _RECORD.size + size
        if good != len(blob):  # a torn last append: the state is the record before it
            self._cut_log(good)
        return good


def _encode(pairs: Iterable[tuple[bytes, bytes | None]]) -> bytes:
    """Length-prefixed keys and values (``None``: the key was deleted)."""
    parts: list[bytes] = []
    for key, value in pairs:
        parts += [_LEN.pack(len(key)), key]
        parts += [_LEN.pack(_DELETED)] if value is None else [_LEN.pack(len(value)), value]
    return b"".join(parts)


def _pairs(blob: bytes, pos: int) -> Iterator[tuple[bytes, bytes | None]]:
    """What :func:`_encode` wrote, from ``pos`` (``struct.error`` if it is cut short)."""
    view = memoryview(blob)
    while pos < len(blob):
        (n,) = _LEN.unpack_from(view, pos)
        key = bytes(view[pos + 4 : pos + 4 + n])
        pos += 4 + n
        (n,) = _LEN.unpack_from(view, pos)
        if n == _DELETED:
            yield key, None
            pos += 4
        else:
            yield key, bytes(view[pos + 4 : pos + 4 + n])
            pos += 4 + n


def _dump(kv: dict[bytes, bytes], chain_id: int) -> bytes:
    return _MAGIC + _ID.pack(chain_id) + _encode(kv.items())


def _load(blob: bytes) -> tuple[int, dict[bytes, bytes]]:
    """The chain id and the key-value store of a saved chain."""
    if blob.startswith(_MAGIC_V1):
        return LEGACY_CHAIN_ID, _kv(blob, len(_MAGIC_V1))
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _ID.size:
        raise ChainError("embedded chain state is not a cairn chain database")
    (chain_id,) = _ID.unpack_from(blob, len(_MAGIC))
    return chain_id, _kv(blob, len(_MAGIC) + _ID.size)


def _kv(blob: bytes, pos: int) -> dict[bytes, bytes]:
    try:
        return {key: value for key, value in _pairs(blob, pos) if value is not None}
    except struct.error as exc:
        raise ChainError("embedded chain state is truncated") from exc
