"""A validator's own memory in SQLite: what it scanned, audited, disputed and voted.

The salts of sealed votes live here, so a validator that restarts between
commit and reveal can still reveal (and is not penalized for silence).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cairn.chain import Vote

__all__ = ["AuditRow", "ValidatorState"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audits (
    node TEXT NOT NULL, batch_id INTEGER NOT NULL, leaf INTEGER NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, reason TEXT,
    dispute_id INTEGER, PRIMARY KEY (node, batch_id, leaf));
CREATE TABLE IF NOT EXISTS votes (
    dispute_id INTEGER PRIMARY KEY, guilty INTEGER NOT NULL, salt BLOB NOT NULL,
    revealed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS disputes (dispute_id INTEGER PRIMARY KEY, done INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS input_challenges (id INTEGER PRIMARY KEY, done INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS node_failures (
    node TEXT NOT NULL, at REAL NOT NULL, what TEXT NOT NULL, reason TEXT NOT NULL);
"""


@dataclass(frozen=True)
class AuditRow:
    node: str
    batch_id: int
    leaf: int
    status: str  # pending | passed | disputed | challenged | failed | unavailable
    attempts: int
    reason: str | None
    dispute_id: int | None


class ValidatorState:
    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            ":memory:" if path is None else path, check_same_thread=False, isolation_level=None
        )
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _q(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def get(self, key: str, default: int = 0) -> int:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return int(rows[0][0]) if rows else default  # type: ignore[call-overload]

    def put(self, key: str, value: int) -> None:
        self._q("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, value))

    def plan(self, node: str, batch_id: int, leaves: tuple[int, ...]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO audits(node, batch_id, leaf, status) VALUES (?,?,?,?)",
                [(node, batch_id, leaf, "pending") for leaf in leaves],
            )

    def pending(self) -> list[AuditRow]:
        return self.audits("pending")

    def audits(self, status: str | None = None) -> list[AuditRow]:
        sql = "SELECT node, batch_id, leaf, status, attempts, reason, dispute_id FROM audits"
        rows = self._q(
            sql + (" WHERE status=?" if status else "") + " ORDER BY rowid",
            (status,) if status else (),
        )
        return [AuditRow(*r) for r in rows]  # type: ignore[arg-type]

    def settle(
        self, row: AuditRow, status: str, reason: str | None = None, dispute_id: int | None = None
    ) -> None:
        self._q(
            "UPDATE audits SET status=?, reason=?, dispute_id=?, attempts=attempts+1 "
            "WHERE node=? AND batch_id=? AND leaf=?",
            (status, reason, dispute_id, row.node, row.batch_id, row.leaf),
        )

    def retry(self, row: AuditRow, reason: str) -> None:
        self._q(
            "UPDATE audits SET attempts=attempts+1, reason=? "
            "WHERE node=? AND batch_id=? AND leaf=?",
            (reason, row.node, row.batch_id, row.leaf),
        )

    def track(self, dispute_id: int) -> None:
        self._q("INSERT OR IGNORE INTO disputes(dispute_id, done) VALUES (?, 0)", (dispute_id,))

    def open_disputes(self) -> list[int]:
        return [
            int(r[0])  # type: ignore[call-overload]
            for r in self._q("SELECT dispute_id FROM disputes WHERE done=0 ORDER BY dispute_id")
        ]

    def finish(self, dispute_id: int) -> None:
        self._q("UPDATE disputes SET done=1 WHERE dispute_id=?", (dispute_id,))

    def track_challenge(self, challenge_id: int) -> None:
        """Watch a data-availability challenge (anyone's) until it is answered or resolved."""
        self._q("INSERT OR IGNORE INTO input_challenges(id, done) VALUES (?, 0)", (challenge_id,))

    def open_challenges(self) -> list[int]:
        rows = self._q("SELECT id FROM input_challenges WHERE done=0 ORDER BY id")
        return [int(r[0]) for r in rows]  # type: ignore[call-overload]

    def finish_challenge(self, challenge_id: int) -> None:
        self._q("UPDATE input_challenges SET done=1 WHERE id=?", (challenge_id,))

    def vote(self, dispute_id: int) -> tuple[Vote, bytes, bool] | None:
        """The sealed vote (the ``guilty`` column holds the Vote; 0 from older rows = innocent)."""
        rows = self._q("SELECT guilty, salt, revealed FROM votes WHERE dispute_id=?", (dispute_id,))
        if not rows:
            return None
        vote, salt, revealed = rows[0]
        return Vote(int(vote) or Vote.INNOCENT), bytes(salt), bool(revealed)  # type: ignore[call-overload]

    def seal(self, dispute_id: int, vote: Vote, salt: bytes) -> None:
        self._q(
            "INSERT OR REPLACE INTO votes(dispute_id, guilty, salt) VALUES (?,?,?)",
            (dispute_id, int(vote), salt),
        )

    def revealed(self, dispute_id: int) -> None:
        self._q("UPDATE votes SET revealed=1 WHERE dispute_id=?", (dispute_id,))

    def node_failed(self, node: str, what: str, reason: str) -> None:
        """Record that ``node`` failed to hand over ``what`` (a batch, a model, its endpoint)."""
        self._q(
            "INSERT INTO node_failures(node, at, what, reason) VALUES (?,?,?,?)",
            (node.lower(), time.time(), what, reason[:500]),
        )

    def node_failures(self, node: str | None = None) -> list[tuple[str, str, str]]:
        """``(node, what, reason)`` of every recorded failure, oldest first."""
        sql = "SELECT node, what, reason FROM node_failures"
        rows = self._q(
            sql + (" WHERE node=?" if node else "") + " ORDER BY rowid",
            (node.lower(),) if node else (),
        )
        return [(str(n), str(w), str(r)) for n, w, r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
