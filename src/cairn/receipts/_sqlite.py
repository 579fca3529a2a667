"""The receipt store in SQLite (the node's data dir): receipts, retained I/O, batches.

One connection guarded by a lock: the gateway writes from its request
threads, the batcher from its own. WAL mode, so readers never block the writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from cairn.receipts.base import Batch, ReceiptStore, StoredReceipt
from cairn.receipts.receipt import Receipt

__all__ = ["SqliteReceiptStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    request_id BLOB PRIMARY KEY, issued_at INTEGER NOT NULL, body TEXT NOT NULL,
    digest BLOB NOT NULL, input BLOB, output BLOB, batch_id INTEGER, leaf_index INTEGER);
CREATE INDEX IF NOT EXISTS receipts_unbatched ON receipts(batch_id, issued_at);
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY, root BLOB NOT NULL, count INTEGER NOT NULL,
    anchored INTEGER NOT NULL DEFAULT 0);
"""


class SqliteReceiptStore(ReceiptStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, receipt: Receipt, input_blob: bytes, output_blob: bytes) -> None:
        body = receipt.json_text
        with self._lock:
            self._db.execute(
                "INSERT INTO receipts(request_id, issued_at, body, digest, input, output) "
                "VALUES (?,?,?,?,?,?)",
                (
                    receipt.request_id,
                    receipt.issued_at,
                    body,
                    receipt.digest(),
                    input_blob,
                    output_blob,
                ),
            )

    def get(self, request_id: bytes) -> StoredReceipt | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body, input, output, batch_id, leaf_index FROM receipts WHERE request_id=?",
                (request_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredReceipt(Receipt.from_json(json.loads(row[0])), row[1], row[2], row[3], row[4])

    def unbatched(self, limit: int) -> list[tuple[bytes, bytes]]:
        with self._lock:
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
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO batches(batch_id, root, count) VALUES (?,?,?)",
                    (batch_id, root, len(request_ids)),
                )
                self._db.executemany(
                    "UPDATE receipts SET batch_id=?, leaf_index=? WHERE request_id=?",
                    [(batch_id, i, rid) for i, rid in enumerate(request_ids)],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

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
            cur = self._db.execute(
                "UPDATE receipts SET input=NULL, output=NULL WHERE issued_at < ? "
                "AND input IS NOT NULL",
                (issued_at,),
            )
        return cur.rowcount
