"""One SQLite database written by group commit: what a node must not lose, in few commits.

A node keeps two records that must be on disk before an answer leaves: the
call's receipt (:mod:`cairn.receipts._sqlite`) and, for a call paid with a
batch-settlement voucher, the channel's new charged total and voucher
(:mod:`cairn.payments._vouchers`). Each store writes through a :class:`Journal`;
given the same journal, a paid call's voucher and receipt share one write
instead of paying for two (and two rounds of thread handoffs).

Group commit (the receipt store's since issue 3): a writer queues its rows
(:meth:`Journal.queue`), then takes the writers' lock; whoever holds it writes
every row queued so far at once, so under load one write carries many calls,
and a writer that finds its rows already written returns at once. A failed
write raises to the writer that ran it and puts its rows back at the head of
the queue, so every writer whose rows it carried retries them and sees the
failure itself: no writer returns before its rows are on disk.

WAL with ``synchronous=NORMAL``: a committed row survives the process being
killed (``kill -9``), since the operating system holds the write; only a power
loss can take the last transactions, which ``synchronous=FULL`` would cover at
the price of an fsync per commit. Checkpoints (copying the WAL into the database,
with an fsync) are not left to the writer whose commit crosses SQLite's threshold:
that writer would hold the lock, and every caller queued behind it, for the whole
copy (about 60 ms every 1 600 receipts).

**A tended journal** (``tended=True``: its owner has a thread that calls
:meth:`Journal.checkpoint` on a schedule, as the batcher does for the receipt store)
does not commit to SQLite on the request path at all. A writer appends its rows to a
spool file next to the database (``<name>-spool``): one ``write(2)`` of a framed
record (sequence number, length, CRC-32, the rows), durable on the same terms as a
WAL commit with ``synchronous=NORMAL`` (a killed process loses nothing written; a
power loss can take the last writes). Under load a SQLite commit of one receipt
touches four B-tree pages, cold in the cache after each inference, and cost 200-250
us of CPU a call in the gateway, the largest part of a receipt's cost; the append
costs about half of that in the same place (113 us), and the move, one transaction
for many rows, runs on the owner's thread. Whoever reads takes :attr:`Journal.lock`
and calls :meth:`Journal.drain_locked`, which moves the spool into SQLite first (one
transaction for everything spooled since the last move, so rows share pages), and
the owner's tick does the same, then checkpoints ``PASSIVE`` from a connection of
its own while writers go on. Writers never wait for a reader: they take a lock of
their own.

One journal owns a database's spool (an exclusive ``flock`` on ``<name>-spool.lock``,
which the kernel drops if the process dies); another tended journal on the same file,
in this process or another, commits straight to SQLite instead, and sees the owner's
rows once the owner has moved them (its next tick or read).

Moving the spool is exact: each record's sequence number is stored in the same
transaction as its rows, in every attached database (SQLite does not make a WAL
commit atomic across files, and a process killed between the two would otherwise
lose one file's half), and a record at or below every database's number is
skipped. A record that is still re-applied (one file had it) must change nothing
the second time, so spooled statements are idempotent: ``INSERT OR IGNORE`` of a
row keyed by a random id, ``INSERT OR REPLACE`` of a whole record. A record cut
short by a crash is the last one in its file and was never acknowledged (its
``write`` had not returned): it is dropped. Any other damage is
:class:`~cairn.errors.JournalCorrupt`, naming the file and the offset, and
nothing is moved.

Another database can be attached (:meth:`Journal.attach`); a transaction then
commits to both files in one ``COMMIT``, durable in each.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import marshal
import os
import sqlite3
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cairn._held import write_all
from cairn.errors import JournalCorrupt

__all__ = ["Entry", "Journal"]

log = logging.getLogger(__name__)

Row = Sequence[Any]

#: WAL pages (4 KiB) after which a commit of a tended journal checkpoints by itself,
#: should its owner fall behind (SQLite's default, kept otherwise, is 1 000).
AUTO_CHECKPOINT_PAGES = 16_384
SQLITE_AUTO_CHECKPOINT_PAGES = 1000
#: a spool past this many bytes is moved into SQLite by the writer that crossed it,
#: should the owner's thread fall behind (a minute of receipts at 500 calls a second)
MAX_SPOOL_BYTES = 64 << 20

#: sequence number, payload length, CRC-32 of those two, CRC-32 of the payload: a header
#: that is whole but wrong is damage, not a write cut short
_HEADER = struct.Struct("<QIII")
_SEQ_TABLE = "journal_spool"  # in every database: the last sequence number moved into it
_ATTACHED_TABLE = "journal_attached"  # in the main one: what a spooled row may be for
_IDEMPOTENT = ("INSERT OR IGNORE ", "INSERT OR REPLACE ")  # what a spool may hold


class Entry:
    """Rows waiting for their write; ``done`` is set under the lock, once durable."""

    __slots__ = ("done", "rows", "sql")

    def __init__(self, sql: str, rows: Sequence[Row]) -> None:
        self.sql, self.rows, self.done = sql, rows, False


def _head_crc(seq: int, size: int) -> int:
    """The CRC-32 a record's header carries of its sequence number and length."""
    return zlib.crc32(struct.pack("<QI", seq, size))


def _frame(seq: int, payload: bytes) -> bytes:
    """One spool record: its header, then ``payload``."""
    size = len(payload)
    return _HEADER.pack(seq, size, _head_crc(seq, size), zlib.crc32(payload)) + payload


@functools.lru_cache(maxsize=256)  # a store has a few constant statements
def _spoolable(sql: str) -> bool:
    """Whether ``sql`` may be spooled: a replayed move must change nothing."""
    return sql.lstrip().upper().startswith(_IDEMPOTENT)


def _records(path: Path) -> tuple[list[tuple[int, Any]], int]:
    """The spool's records and the offset where its last whole one ends (a record cut
    short at the end is dropped; damage anywhere else raises)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    out: list[tuple[int, Any]] = []
    at = 0
    while at < len(data):
        if len(data) - at < _HEADER.size:
            break  # a header cut short: the last write, never acknowledged
        seq, size, head_crc, crc = _HEADER.unpack_from(data, at)
        if _head_crc(seq, size) != head_crc:
            raise JournalCorrupt(f"{path}: the record at byte {at} has a damaged header")
        end = at + _HEADER.size + size
        if end > len(data):
            break  # a payload cut short, as above
        payload = data[at + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            raise JournalCorrupt(f"{path}: the record at byte {at} fails its CRC-32")
        try:
            out.append((seq, marshal.loads(payload)))
        except (ValueError, EOFError, TypeError):
            raise JournalCorrupt(f"{path}: the record at byte {at} does not decode") from None
        at = end
    if at < len(data):
        log.warning("%s: dropped %d bytes of a write cut short", path, len(data) - at)
    return out, at


class Journal:
    """The SQLite database at ``path`` (WAL), written by group commit.

    ``lock`` guards ``db``: hold it to read, or to run a transaction of your own
    (:meth:`transaction`); :meth:`drain_locked` first if the read must see what
    was written through :meth:`queue` and :meth:`write`.
    """

    def __init__(self, path: Path, *, tended: bool = False) -> None:
        """``tended``: the owner calls :meth:`checkpoint` from a thread of its own, so
        writes go to the spool and commits checkpoint only past :data:`AUTO_CHECKPOINT_PAGES`
        (see the module docstring)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        auto_pages = AUTO_CHECKPOINT_PAGES if tended else SQLITE_AUTO_CHECKPOINT_PAGES
        self._auto_pages = auto_pages
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # see the module docstring
        self.db.execute(f"PRAGMA wal_autocheckpoint={auto_pages}")
        self.lock = threading.Lock()  # the connection: readers, transactions, the spool's move
        self._writing = threading.Lock()  # writers: the spool's end (tended), else ``lock``
        self._attached: list[tuple[Path, str]] = []
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointed: set[str] = set()  # schemas attached to the checkpointer
        self._checkpointing = threading.Lock()
        self._queue: list[Entry] = []
        self._queued = threading.Lock()
        self._closed = False
        self._spool: Path | None = None
        if tended:
            self._open_spool()

    # -- the spool (tended journals) ----------------------------------------------

    def _open_spool(self) -> None:
        """Own the database's spool, unless another journal (in this process or another)
        does: then this one commits straight to SQLite, as an untended journal."""
        lock = os.open(self.path.with_name(self.path.name + "-spool.lock"), os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by close, or death
        except BlockingIOError:
            os.close(lock)
            log.info("%s: another journal owns the spool; committing to SQLite", self.path)
            return
        try:
            self._take_spool()
        except BaseException:  # damage, or a full disk: the next open tries again
            os.close(lock)
            self._spool = None
            self.db.close()
            raise
        self._lock_fd = lock

    def _take_spool(self) -> None:
        self._spool = self.path.with_name(self.path.name + "-spool")
        self._moving = self.path.with_name(self.path.name + "-spool.moving")
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {_SEQ_TABLE} "
            "(id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL)"
        )
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {_ATTACHED_TABLE} (name TEXT PRIMARY KEY, path TEXT)"
        )
        moving, _ = _records(self._moving)  # a move the last process did not finish
        live, end = _records(self._spool)
        seqs = [seq for seq, _ in moving + live] + [self._stored_seq("main")]
        self._seq = max(seqs) + 1
        known = self.db.execute(f"SELECT name, path FROM {_ATTACHED_TABLE}").fetchall()
        for name, there in known:  # once: rows an earlier process spooled for it may be here
            self._attach_locked(Path(there), name)
        self._fd = os.open(self._spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.ftruncate(self._fd, end)  # a write cut short is not followed by new ones
        self._size = end

    def _stored_seq(self, schema: str) -> int:
        row = self.db.execute(f"SELECT seq FROM {schema}.{_SEQ_TABLE} WHERE id = 0").fetchone()
        return int(row[0]) if row else 0

    def _append(self, batch: Sequence[Entry]) -> None:
        """One record holding ``batch``, at the spool's end (under ``_writing``)."""
        payload = marshal.dumps([(e.sql, [tuple(r) for r in e.rows]) for e in batch])
        record = _frame(self._seq, payload)
        try:
            write_all(self._fd, record)  # holding the GIL: no hand-off (cairn._held)
        except BaseException:
            os.ftruncate(self._fd, self._size)  # no half record for the next write to follow
            raise
        self._size += len(record)
        self._seq += 1

    def _move(self) -> None:
        """Move what the spool holds into SQLite (under ``lock``): one transaction per file
        of records, then the file goes. Rows written after this began may stay spooled."""
        assert self._spool is not None
        rotated = False
        while True:
            if not self._moving.exists():
                if rotated:
                    return
                with self._writing:
                    if self._size == 0:
                        return
                    os.close(self._fd)
                    os.replace(self._spool, self._moving)
                    self._fd = os.open(self._spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                    self._size = 0
                rotated = True
            records, _ = _records(self._moving)
            schemas = ["main"] + [name for _, name in self._attached]
            done = min(self._stored_seq(s) for s in schemas)
            todo = [(seq, statements) for seq, statements in records if seq > done]
            if todo:
                by_statement: dict[str, list[Row]] = {}  # in spool order within each statement
                for _, statements in todo:
                    for sql, rows in statements:
                        by_statement.setdefault(sql, []).extend(rows)
                with self.transaction():
                    for sql, rows in by_statement.items():
                        self.db.executemany(sql, rows)
                    for schema in schemas:
                        self.db.execute(
                            f"INSERT OR REPLACE INTO {schema}.{_SEQ_TABLE} VALUES (0, ?)",
                            (todo[-1][0],),
                        )
            self._moving.unlink()

    # -- writing and reading ------------------------------------------------------

    def attach(self, path: Path, name: str) -> None:
        """Attach the database at ``path`` as schema ``name`` (WAL, as this one); a
        tended journal remembers it, and attaches it again to move rows spooled for it
        by an earlier process, whether or not this one attaches it itself."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock:
            self._attach_locked(path, name)

    def _attach_locked(self, path: Path, name: str) -> None:
        for there, known in self._attached:
            if known == name:
                if Path(there).resolve() != path.resolve():
                    raise sqlite3.OperationalError(f"{name} is attached from {there}")
                return
        self.db.execute("ATTACH DATABASE ? AS " + name, (str(path),))
        self.db.execute(f"PRAGMA {name}.journal_mode=WAL")
        self.db.execute(f"PRAGMA {name}.synchronous=NORMAL")
        self.db.execute(f"PRAGMA {name}.wal_autocheckpoint={self._auto_pages}")
        if self._spool is not None:
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {name}.{_SEQ_TABLE} "
                "(id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL)"
            )
            self.db.execute(
                f"INSERT OR REPLACE INTO {_ATTACHED_TABLE} VALUES (?, ?)", (name, str(path))
            )
            with self._writing:
                self._seq = max(self._seq, self._stored_seq(name) + 1)
        self._attached.append((path, name))

    def checkpoint(self) -> None:
        """Move the spool into SQLite, then copy the committed WAL into each database
        file, from a connection of its own, without holding up writers (``PASSIVE``:
        what a reader still uses stays for the next call)."""
        if self._spool is not None:
            with self.lock:
                if not self._closed:
                    self.drain_locked()
        with self._checkpointing:
            if self._closed:
                return
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(
                    self.path, check_same_thread=False, isolation_level=None
                )
            for path, name in list(self._attached):  # as attached since, too
                if name not in self._checkpointed:
                    self._checkpointer.execute("ATTACH DATABASE ? AS " + name, (str(path),))
                    self._checkpointed.add(name)
            # no schema named: SQLite checkpoints every attached database
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def queue(self, sql: str, rows: Sequence[Row]) -> Entry:
        """Queue ``rows`` for ``sql``, written by the next write; returns at once. In a
        tended journal ``sql`` must be idempotent (see the module docstring)."""
        if self._spool is not None and not _spoolable(sql):
            raise ValueError(
                f"a spooled statement must be idempotent (a move may replay it): {sql}"
            )
        entry = Entry(sql, rows)
        with self._queued:
            if self._closed:
                raise sqlite3.ProgrammingError("the journal is closed")
            self._queue.append(entry)
        return entry

    def wait(self, entry: Entry) -> None:
        """Return once ``entry`` is durable (writing it, and all queued, if need be)."""
        if entry.done:  # set only once its write returned (a paid call's voucher, by then)
            return
        writers = self._writing if self._spool is not None else self.lock
        with writers:  # the holder writes for everyone queued behind it
            if not entry.done:
                self._write_queued()
        if self._spool is not None and self._size > MAX_SPOOL_BYTES:
            self.drain()  # the owner's thread fell behind

    def write(self, sql: str, rows: Sequence[Row]) -> None:
        """Queue ``rows`` and return once they are durable."""
        self.wait(self.queue(sql, rows))

    def drain(self) -> int:
        """Commit every queued and spooled row to SQLite; return how many entries were queued."""
        with self.lock:
            return self.drain_locked()

    def drain_locked(self) -> int:
        """:meth:`drain`, for a caller that holds :attr:`lock`."""
        if self._spool is None:
            return self._write_queued()
        with self._writing:
            queued = self._write_queued()
        self._move()
        return queued

    def _write_queued(self) -> int:
        """Write every queued entry at once (holding the writers' lock); return how many."""
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
        if self._spool is not None:
            self._append(batch)
            return
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
        """Commit what is queued and spooled, and close; later writes are refused. If the
        spool cannot be moved (the error is raised), it stays for the next open."""
        with self._queued:
            self._closed = True
        with self._checkpointing:
            if self._checkpointer is not None:
                self._checkpointer.close()
        with self.lock:
            try:
                self.drain_locked()
            finally:
                if self._spool is not None:
                    with self._writing:
                        os.close(self._fd)
                        if self._size == 0 and not self._moving.exists():
                            self._spool.unlink(missing_ok=True)
                        os.close(self._lock_fd)  # the next journal on this file may own it
                self.db.close()
