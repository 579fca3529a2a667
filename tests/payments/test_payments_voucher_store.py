"""The node's voucher store commits in groups: concurrent paid calls share one fsync, no
call returns before its record is on disk, and a failed commit fails every call in it."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from cairn._journal import Entry, Journal
from cairn.chain.batch import ChannelConfig
from cairn.payments._vouchers import ChannelRecord, SqliteVoucherStore


def _record(n: int, charged: int = 1) -> ChannelRecord:
    config = ChannelConfig(
        payer="0x" + f"{n + 1:040x}",
        receiver="0x" + "22" * 20,
        receiver_authorizer="0x" + "33" * 20,
        token="0x" + "44" * 20,
        salt=os.urandom(32),
    )
    return ChannelRecord(n.to_bytes(32, "big"), config, 10**6, charged, charged, b"\1" * 65)


def test_concurrent_puts_are_all_durable_and_share_commits(tmp_path: Path) -> None:
    store = SqliteVoucherStore(tmp_path / "v.sqlite")
    writes = []
    real = store.journal._write

    def counting(batch: list[Entry]) -> None:
        writes.append(sum(len(e.rows) for e in batch))
        real(batch)

    store.journal._write = counting  # type: ignore[method-assign]
    barrier = threading.Barrier(40)

    def put(n: int) -> None:
        barrier.wait()
        for charged in range(1, 6):  # a channel's later record replaces its earlier one
            store.put([_record(n, charged)])

    threads = [threading.Thread(target=put, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    again = SqliteVoucherStore(tmp_path / "v.sqlite").load()
    assert {r.charged for r in again.values()} == {5} and len(again) == 40
    assert sum(writes) == 200 and len(writes) < 200  # some commits carried several calls


def test_a_failed_commit_fails_every_call_it_carried(tmp_path: Path) -> None:
    store = SqliteVoucherStore(tmp_path / "v.sqlite")

    def broken(batch: list[Entry]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    store.journal._write = broken  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def put(n: int) -> None:
        try:
            store.put([_record(n)])
        except sqlite3.OperationalError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 10
    with pytest.raises(sqlite3.OperationalError):
        store.put([_record(99)])


def test_a_staged_voucher_shares_the_commit_of_the_write_after_it(tmp_path: Path) -> None:
    """On a node the store writes through the receipt store's journal: a paid call's voucher
    is staged, its receipt's write commits both, and waiting for the voucher costs nothing."""
    journal = Journal(tmp_path / "receipts.sqlite")
    journal.db.execute("CREATE TABLE receipts (x)")
    store = SqliteVoucherStore(tmp_path / "v.sqlite", journal)
    commits: list[int] = []
    real = journal._write

    def counting(batch: list[Entry]) -> None:
        commits.append(len(batch))
        real(batch)

    journal._write = counting  # type: ignore[method-assign]
    durable = store.stage([_record(1)])
    journal.write("INSERT INTO receipts VALUES (?)", [(1,)])  # the call's receipt
    durable()
    assert commits == [2]  # one commit carried the voucher and the receipt
    store.close()  # the journal is the receipt store's: still open
    journal.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.stage([_record(2)])  # nothing is staged in a closed journal
    assert set(SqliteVoucherStore(tmp_path / "v.sqlite").load()) == {(1).to_bytes(32, "big")}
