"""The receipt store in SQLite (the node's data dir): receipts, retained I/O, batches.

Writes go through a :class:`~cairn._journal.Journal` (WAL, group commit): a
receipt is durable before :meth:`SqliteReceiptStore.add` returns, and under load
one commit carries many requests. With WAL and ``synchronous=NORMAL`` a
committed row survives the process being killed (``kill -9``); only a power loss
can take the last transactions. The node's voucher store writes through the same
journal (:attr:`SqliteReceiptStore.journal`), so that a paid call's voucher rides
its receipt's commit.
"""

from __future__ import annotations

import json
from pathlib import Path

from cairn._journal import Journal
from cairn.errors import ReceiptError
from cairn.receipts.base import Batch, ReceiptStore, StoredReceipt
from cairn.receipts.receipt import Receipt

__all__ = ["SqliteReceiptStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    request_id BLOB PRIMARY KEY, issued_at INTEGER NOT NULL, body TEXT NOT NULL,
    digest BLOB NOT NULL, input BLOB, output BLOB, batch_id INTEGER, leaf_index INTEGER,
    access BLOB);
CREATE INDEX IF NOT EXISTS receipts_unbatched ON receipts(batch_id, issued_at);
CREATE INDEX IF NOT EXISTS receipts_retained ON receipts(issued_at) WHERE input IS NOT NULL;
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY, root BLOB NOT NULL, count INTEGER NOT NULL,
    anchored INTEGER NOT NULL DEFAULT 0);
"""


_INSERT = (  # idempotent, as a spooled statement must be (cairn._journal)
    "INSERT OR IGNORE INTO receipts(request_id, issued_at, body, digest, input, output, access) "
    "VALUES (?,?,?,?,?,?,?)"
)


class SqliteReceiptStore(ReceiptStore):
    def __init__(self, path: Path) -> None:
        self.journal = Journal(path, tended=True)  # by the batcher's thread
        self._db, self._lock = self.journal.db, self.journal.lock
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(receipts)")}
        if "access" not in columns:  # a store written before clients got access tokens
            self._db.execute("ALTER TABLE receipts ADD COLUMN access BLOB")

    def close(self) -> None:
        self.journal.close()

    def checkpoint(self) -> None:
        self.journal.checkpoint()

    def add(
        self, receipt: Receipt, input_blob: bytes, output_blob: bytes, access: bytes | None = None
    ) -> None:
        row = (
            receipt.request_id,
            receipt.issued_at,
            receipt.json_text,
            receipt.digest(),
            input_blob,
            output_blob,
            access,
        )
        self.journal.write(_INSERT, [row])  # returns once durable, with all queued before it

    def drain(self) -> int:
        """Commit every queued and spooled write to SQLite; return how many were queued."""
        return self.journal.drain()

    def get(self, request_id: bytes) -> StoredReceipt | None:
        with self._lock:
            self.journal.drain_locked()
            row = self._db.execute(
                "SELECT body, input, output, batch_id, leaf_index, access FROM receipts "
                "WHERE request_id=?",
                (request_id,),
            ).fetchone()
        if row is None:
            return None
        receipt = Receipt.from_json(json.loads(row[0]))
        return StoredReceipt(receipt, row[1], row[2], row[3], row[4], row[5])

    def unbatched(self, limit: int) -> list[tuple[bytes, bytes]]:
        with self._lock:
            self.journal.drain_locked()
            rows = self._db.execute(
                "SELECT request_id, digest FROM receipts WHERE batch_id IS NULL "
                "ORDER BY rowid LIMIT ?",
                (limit,),
            ).fetchall()
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    def batch_digests(self, batch_id: int) -> list[bytes]:
        with self._lock:
            rows = self._db.execute(
                "SELECT digest FROM receipts WHERE batch_id=? ORDER BY leaf_index", (batch_id,)
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    def record_batch(self, batch_id: int, root: bytes, request_ids: list[bytes]) -> None:
        with self._lock:
            self.journal.drain_locked()  # the receipts named may still be spooled
            with self.journal.transaction():
                self._db.execute(
                    "INSERT INTO batches(batch_id, root, count) VALUES (?,?,?)",
                    (batch_id, root, len(request_ids)),
                )
                cur = self._db.executemany(
                    "UPDATE receipts SET batch_id=?, leaf_index=? "
                    "WHERE request_id=? AND batch_id IS NULL",
                    [(batch_id, i, rid) for i, rid in enumerate(request_ids)],
                )
                if cur.rowcount != len(request_ids):  # rolled back: one batch per receipt
                    raise ReceiptError(f"batch {batch_id}: a receipt is already in another batch")

    def renumber_batch(self, batch_id: int, new_id: int) -> None:
        with self._lock, self.journal.transaction():
            cur = self._db.execute(
                "UPDATE batches SET batch_id=? WHERE batch_id=? AND anchored=0", (new_id, batch_id)
            )
            if cur.rowcount != 1:
                raise ReceiptError(f"batch {batch_id} is not an unanchored batch")
            self._db.execute("UPDATE receipts SET batch_id=? WHERE batch_id=?", (new_id, batch_id))

    def mark_anchored(self, batch_id: int) -> None:
        with self._lock:
            self._db.execute("UPDATE batches SET anchored=1 WHERE batch_id=?", (batch_id,))

    def batch(self, batch_id: int) -> Batch | None:
        with self._lock:
            row = self._db.execute(
                "SELECT batch_id, root, count, anchored FROM batches WHERE batch_id=?", (batch_id,)
            ).fetchone()
        return Batch(row[0], row[1], row[2], bool(row[3])) if row else None

    def batch_members(self, batch_id: int) -> list[Receipt]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM receipts WHERE batch_id=? ORDER BY leaf_index", (batch_id,)
            ).fetchall()
        return [Receipt.from_json(json.loads(r[0])) for r in rows]

    def unanchored_batches(self) -> list[Batch]:
        with self._lock:
            rows = self._db.execute(
                "SELECT batch_id, root, count, anchored FROM batches WHERE anchored=0 "
                "ORDER BY batch_id"
            ).fetchall()
        return [Batch(r[0], r[1], r[2], False) for r in rows]

    def next_batch_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(batch_id), 0) FROM batches").fetchone()
        return int(row[0]) + 1

    def purge_before(self, issued_at: int) -> int:
        """Drop retained inputs and outputs older than the audit window (receipts stay)."""
        with self._lock:
            self.journal.drain_locked()
            cur = self._db.execute(
                "UPDATE receipts SET input=NULL, output=NULL WHERE issued_at < ? "
                "AND input IS NOT NULL",
                (issued_at,),
            )
        return cur.rowcount
