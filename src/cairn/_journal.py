"""One SQLite database written by group commit: what a node must not lose, in few commits.

A node keeps two records that must be on disk before an answer leaves: the
call's receipt (:mod:`cairn.receipts._sqlite`) and, for a call paid with a
batch-settlement voucher, the channel's new charged total and voucher
(:mod:`cairn.payments._vouchers`). Each store writes through a :class:`Journal`;
given the same journal, a paid call's voucher and receipt share one transaction
instead of paying for two commits (and two rounds of thread handoffs).

Group commit (the receipt store's since issue 3): a writer queues its rows
(:meth:`Journal.queue`), then takes the connection's lock; whoever holds it
commits every row queued so far in one transaction, so under load one commit
carries many calls, and a writer that finds its rows already committed returns
at once. A failed commit raises to the writer that ran it and puts its rows back
at the head of the queue, so every writer whose rows it carried retries them and
sees the failure itself: no writer returns before its rows are on disk.

WAL with ``synchronous=NORMAL``: a committed row survives the process being
killed (``kill -9``), since the operating system holds the write; only a power
loss can take the last transactions, which ``synchronous=FULL`` would cover at
the price of an fsync per commit. Checkpoints (copying the WAL into the database,
with an fsync) are not left to the writer whose commit crosses SQLite's threshold:
that writer would hold the lock, and every caller queued behind it, for the whole
copy (about 60 ms every 1 600 receipts). An owner with a background thread opens
the journal ``checkpointed`` and calls :meth:`Journal.checkpoint`, which copies
from a connection of its own while writers go on (``PASSIVE``); SQLite's own
threshold stays as the bound, raised for such a journal, SQLite's default otherwise.
Another database can be attached (:meth:`Journal.attach`); a transaction then
commits to both files in one ``COMMIT``, durable in each (SQLite does not make WAL
commits atomic across files, and nothing here needs that).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Entry", "Journal"]

Row = Sequence[Any]

#: WAL pages (4 KiB) after which a commit of a ``checkpointed`` journal checkpoints by
#: itself, should its owner fall behind (SQLite's default, kept otherwise, is 1 000).
AUTO_CHECKPOINT_PAGES = 16_384
SQLITE_AUTO_CHECKPOINT_PAGES = 1000


class Entry:
    """Rows waiting for their commit; ``done`` is set under the lock, once committed."""

    __slots__ = ("done", "rows", "sql")

    def __init__(self, sql: str, rows: Sequence[Row]) -> None:
        self.sql, self.rows, self.done = sql, rows, False


class Journal:
    """The SQLite database at ``path`` (WAL), written by group commit.

    ``lock`` guards ``db``: hold it to read, or to run a transaction of your own
    (:meth:`transaction`); :meth:`drain_locked` first if the read must see what
    was queued.
    """

    def __init__(self, path: Path, *, checkpointed: bool = False) -> None:
        """``checkpointed``: the owner calls :meth:`checkpoint` from a thread of its own,
        so commits checkpoint only past :data:`AUTO_CHECKPOINT_PAGES`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._auto_pages = AUTO_CHECKPOINT_PAGES if checkpointed else SQLITE_AUTO_CHECKPOINT_PAGES
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # see the module docstring
        self.db.execute(f"PRAGMA wal_autocheckpoint={self._auto_pages}")
        self.lock = threading.Lock()
        self._attached: list[tuple[Path, str]] = []
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointing = threading.Lock()
        self._queue: list[Entry] = []
        self._queued = threading.Lock()
        self._closed = False

    def attach(self, path: Path, name: str) -> None:
        """Attach the database at ``path`` as schema ``name`` (WAL, as this one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock:
            self.db.execute("ATTACH DATABASE ? AS " + name, (str(path),))
            self.db.execute(f"PRAGMA {name}.journal_mode=WAL")
            self.db.execute(f"PRAGMA {name}.synchronous=NORMAL")
            self.db.execute(f"PRAGMA {name}.wal_autocheckpoint={self._auto_pages}")
        self._attached.append((path, name))

    def checkpoint(self) -> None:
        """Copy the committed WAL into each database file, from a connection of its own,
        without stopping writers (``PASSIVE``; what a busy reader still needs stays)."""
        with self._checkpointing:
            if self._closed:
                return
            if self._checkpointer is None:
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                for path, name in self._attached:
                    db.execute("ATTACH DATABASE ? AS " + name, (str(path),))
                self._checkpointer = db
            # no schema named: SQLite checkpoints every attached database
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def queue(self, sql: str, rows: Sequence[Row]) -> Entry:
        """Queue ``rows`` for ``sql``, committed by the next commit; returns at once."""
        entry = Entry(sql, rows)
        with self._queued:
            if self._closed:
                raise sqlite3.ProgrammingError("the journal is closed")
            self._queue.append(entry)
        return entry

    def wait(self, entry: Entry) -> None:
        """Return once ``entry`` is committed (committing it, and all queued, if need be)."""
        if entry.done:  # set only once its commit returned (a paid call's voucher, by then)
            return
        with self.lock:  # the holder commits for everyone queued behind it
            if not entry.done:
                self.drain_locked()

    def write(self, sql: str, rows: Sequence[Row]) -> None:
        """Queue ``rows`` and return once they are committed."""
        self.wait(self.queue(sql, rows))

    def drain(self) -> int:
        """Commit every queued entry in one transaction; return how many."""
        with self.lock:
            return self.drain_locked()

    def drain_locked(self) -> int:
        """:meth:`drain`, for a caller that holds :attr:`lock`."""
        with self._queued:
            batch, self._queue = self._queue, []
        if not batch:
            return 0
        try:
            self._write(batch)
        except BaseException:
            with self._queued:  # retried by the next writer or reader
                self._queue[:0] = batch
            raise
        for entry in batch:
            entry.done = True
        return len(batch)

    def _write(self, batch: Sequence[Entry]) -> None:
        if len(batch) == 1 and len(batch[0].rows) == 1:  # one row commits by itself
            self.db.execute(batch[0].sql, batch[0].rows[0])
            return
        by_statement: dict[str, list[Row]] = {}  # in queue order within each statement
        for entry in batch:
            by_statement.setdefault(entry.sql, []).extend(entry.rows)
        with self.transaction():
            for sql, rows in by_statement.items():
                self.db.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction on :attr:`db`, for a caller that holds :attr:`lock`."""
        self.db.execute("BEGIN")  # deferred: IMMEDIATE would also lock every attached file
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        """Commit what is queued and close the connection; later writes are refused."""
        with self._queued:
            self._closed = True
        with self._checkpointing:
            if self._checkpointer is not None:
                self._checkpointer.close()
        with self.lock:
            try:
                self.drain_locked()
            finally:
                self.db.close()
