"""The tended journal's spool (cairn._journal): a write cut short by a crash is dropped,
damage is refused with nothing moved, a move replayed after a crash changes nothing,
a failed write leaves no half record, and writers never wait for a reader."""

from __future__ import annotations

import errno
import marshal
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from cairn import _journal
from cairn._journal import Journal
from cairn.errors import JournalCorrupt

INSERT = "INSERT OR IGNORE INTO r VALUES (?, ?)"
REPLACE = "INSERT OR REPLACE INTO side.c VALUES (?, ?)"


def _journal_at(path: Path, side: Path | None = None) -> Journal:
    j = Journal(path, tended=True)
    with j.lock:
        j.db.execute("CREATE TABLE IF NOT EXISTS r (k INTEGER PRIMARY KEY, v BLOB)")
    if side is not None:
        j.attach(side, "side")
        with j.lock:
            j.db.execute("CREATE TABLE IF NOT EXISTS side.c (k INTEGER PRIMARY KEY, v INTEGER)")
    return j


def _crash(j: Journal) -> None:
    """What a killed process leaves: its files as they are, its locks dropped."""
    os.close(j._fd)
    os.close(j._lock_fd)
    j.db.close()


def _rows(path: Path, table: str = "r") -> list[tuple[int, object]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT k, v FROM {table} ORDER BY k").fetchall()
    finally:
        db.close()


def test_a_write_cut_short_is_dropped_and_the_journal_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    crashed = _journal_at(path)
    for k in range(3):
        crashed.write(INSERT, [(k, b"x")])
    spool = tmp_path / "r.sqlite-spool"
    whole = spool.stat().st_size
    _crash(crashed)
    cut = _journal._frame(99, marshal.dumps([(INSERT, [(99, b"never acknowledged")])]))
    with spool.open("ab") as f:  # the write the kill interrupted
        f.write(cut[: len(cut) - 5])
    j = _journal_at(path)  # the next process
    assert spool.stat().st_size == whole  # the cut record is gone before anything follows
    j.write(INSERT, [(3, b"y")])
    j.drain()
    assert [k for k, _ in _rows(path)] == [0, 1, 2, 3]
    j.close()
    assert not spool.exists()


def test_damage_inside_the_spool_is_refused_and_nothing_moves(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    crashed = _journal_at(path)
    for k in range(3):
        crashed.write(INSERT, [(k, b"payload")])
    _crash(crashed)
    spool = tmp_path / "r.sqlite-spool"
    raw = bytearray(spool.read_bytes())
    raw[20] ^= 0x01  # inside the first record's payload
    spool.write_bytes(bytes(raw))
    with pytest.raises(JournalCorrupt, match=r"r\.sqlite-spool: the record at byte 0 fails"):
        _journal_at(path)
    assert spool.read_bytes() == bytes(raw) and _rows(path) == []
    raw[20] ^= 0x01
    raw[9] ^= 0x40  # the first record's length, now past the end: not a write cut short
    spool.write_bytes(bytes(raw))
    with pytest.raises(JournalCorrupt, match="at byte 0 has a damaged header"):
        _journal_at(path)
    assert spool.read_bytes() == bytes(raw) and _rows(path) == []


def test_a_move_replayed_after_a_crash_changes_nothing(tmp_path: Path) -> None:
    """Killed after a move committed to the main file but not to the attached one, and
    before the moved spool was deleted: the next open moves it again, the attached
    file gets its rows back and the main file's rows are not doubled."""
    path, side = tmp_path / "r.sqlite", tmp_path / "side.sqlite"
    j = _journal_at(path, side)
    for k in range(4):
        j.write(INSERT, [(k, b"r")])
        j.write(REPLACE, [(1, k)])  # one record replaced four times: the last one stands
    spool = tmp_path / "r.sqlite-spool"
    kept = tmp_path / "kept"
    shutil.copy(spool, kept)
    j.drain()
    assert _rows(path) == [(k, b"r") for k in range(4)] and _rows(side, "c") == [(1, 3)]
    _crash(j)
    lost = sqlite3.connect(side, isolation_level=None)  # the attached file's half never landed
    lost.execute("DELETE FROM c")
    lost.execute("UPDATE journal_spool SET seq = 0")
    lost.close()
    shutil.copy(kept, tmp_path / "r.sqlite-spool.moving")
    again = _journal_at(path, side)
    again.drain()
    assert _rows(path) == [(k, b"r") for k in range(4)]
    assert _rows(side, "c") == [(1, 3)]
    assert not (tmp_path / "r.sqlite-spool.moving").exists()
    again.write(INSERT, [(9, b"new")])  # numbering goes on past what was replayed
    again.close()
    assert [k for k, _ in _rows(path)] == [0, 1, 2, 3, 9]


def test_a_failed_write_leaves_no_half_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills in the middle of a record: the writer gets the error, the spool is
    cut back to its last whole record, and the next write and the next open go on."""
    path = tmp_path / "r.sqlite"
    j = _journal_at(path)
    j.write(INSERT, [(0, b"kept")])

    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_journal, "write_all", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        j.write(INSERT, [(1, b"retried" * 100)])  # back in the queue, as any failed write
    monkeypatch.undo()
    j.write(INSERT, [(2, b"after")])
    _crash(j)  # the next process reads the spool
    again = _journal_at(path)
    again.drain()
    assert _rows(path) == [(0, b"kept"), (1, b"retried" * 100), (2, b"after")]
    again.close()


def test_writers_do_not_wait_for_a_reader(tmp_path: Path) -> None:
    """A reader holds the connection (a long query, the batcher's move); a writer's rows
    become durable meanwhile: its lock is not the reader's."""
    path = tmp_path / "r.sqlite"
    j = _journal_at(path)
    done = threading.Event()

    def writer() -> None:
        j.write(INSERT, [(7, b"w")])
        done.set()

    with j.lock:
        t = threading.Thread(target=writer)
        t.start()
        assert done.wait(30)  # a journal whose writers take the reader's lock hangs here
        assert _rows(path) == []  # spooled, not yet in SQLite
    t.join()
    assert j.drain() == 0 and _rows(path) == [(7, b"w")]
    j.close()


def test_rows_spooled_for_an_attached_file_move_without_it_being_attached_again(
    tmp_path: Path,
) -> None:
    """A node killed with vouchers spooled restarts serving only free models, so nothing
    attaches the voucher file: the move attaches it from the journal's own record."""
    path, side = tmp_path / "r.sqlite", tmp_path / "side.sqlite"
    crashed = _journal_at(path, side)
    crashed.write(REPLACE, [(1, 5)])
    crashed.write(INSERT, [(1, b"r")])
    _crash(crashed)
    j = _journal_at(path)  # no attach this time
    j.drain()
    assert _rows(path) == [(1, b"r")] and _rows(side, "c") == [(1, 5)]
    j.attach(side, "side")  # a later attach of the same file is a no-op
    with pytest.raises(sqlite3.OperationalError, match="side is attached from"):
        j.attach(tmp_path / "other.sqlite", "side")
    j.write(REPLACE, [(1, 6)])
    j.close()
    assert _rows(side, "c") == [(1, 6)]


def test_one_journal_owns_the_spool_and_a_second_commits_to_sqlite(tmp_path: Path) -> None:
    """A second store on a node's database (a wrapper in the same process, a tool in
    another) must neither lose the owner's spooled rows nor spool its own where the
    owner's move would drop them: it commits to SQLite, and the owner reads both."""
    path = tmp_path / "r.sqlite"
    owner = _journal_at(path)
    second = _journal_at(path)
    owner.write(INSERT, [(1, b"owner")])
    second.write(INSERT, [(2, b"second")])
    assert _rows(path) == [(2, b"second")]  # the second's row is in SQLite at once
    for k in range(3, 40):  # interleaved with the owner's moves
        (owner if k % 2 else second).write(INSERT, [(k, b"x")])
        if k % 5 == 0:
            owner.drain()
    owner.drain()
    assert [k for k, _ in _rows(path)] == list(range(1, 40))
    owner.close()
    third = _journal_at(path)  # the spool is free again
    third.write(INSERT, [(40, b"third")])
    assert (tmp_path / "r.sqlite-spool").stat().st_size > 0
    third.close()
    second.close()
    assert [k for k, _ in _rows(path)][-1] == 40


def test_a_statement_a_replay_would_apply_twice_is_refused(tmp_path: Path) -> None:
    """A move replayed after a crash re-runs what one file already took: only statements
    that change nothing the second time may be spooled."""
    j = _journal_at(tmp_path / "r.sqlite")
    with pytest.raises(ValueError, match="must be idempotent"):
        j.queue("UPDATE r SET v = v || 'x'", [()])
    with pytest.raises(ValueError, match="must be idempotent"):
        j.queue("INSERT INTO r VALUES (?, ?)", [(1, b"x")])
    j.write(INSERT, [(1, b"x")])
    j.close()
    assert _rows(tmp_path / "r.sqlite") == [(1, b"x")]
