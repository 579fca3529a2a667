"""The embedded chain's files (cairn.chain._statefile): a transaction appends what it
changed instead of rewriting the store; a torn or corrupt last append leaves the state
of the transaction before it; compaction, and a crash in the middle of one, keep the
state the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_hash.auto import keccak

from cairn.chain import Chain, connect
from cairn.chain import _statefile as statefile
from cairn.config import DataDir
from cairn.errors import ChainError
from cairn.identity import LocalSigner

ALICE = LocalSigner(keccak(b"statefile-alice"))


def _files(data_dir: Path) -> tuple[Path, Path]:
    chain = DataDir(data_dir).chain
    return chain / "embedded.db", chain / "embedded.log"


def _deployed(data_dir: Path) -> Chain:
    c = connect("embedded://", data_dir)
    c.deploy(c.dev_keys()[0])
    return c


def _mint(c: Chain, n: int) -> None:
    for _ in range(n):
        c.token.mint(c.dev_keys()[0], ALICE.address, 1)


def test_a_transaction_appends_to_the_log_and_leaves_the_snapshot_alone(data_dir):
    c = _deployed(data_dir)
    snapshot, log = _files(data_dir)
    before, logged = snapshot.read_bytes(), log.stat().st_size
    _mint(c, 3)
    assert snapshot.read_bytes() == before
    grown = log.stat().st_size - logged
    store = c.backend._evm.chain.chaindb.db.wrapped_db.kv_store  # type: ignore[attr-defined]
    assert 0 < grown < len(statefile._dump(store, c.chain_id)) / 4  # not the store, thrice
    c.close()
    again = connect("embedded://", data_dir)
    assert again.token.balance_of(ALICE.address) == 3
    assert again.deployment == c.deployment


@pytest.mark.parametrize("damage", ["torn", "flipped"])
def test_a_damaged_last_append_leaves_the_transaction_before_it(data_dir, damage):
    c = _deployed(data_dir)
    _mint(c, 2)
    _, log = _files(data_dir)
    whole = log.stat().st_size
    _mint(c, 1)  # the record this test damages
    c.close()
    blob = log.read_bytes()
    if damage == "torn":  # the process died in the middle of the append
        log.write_bytes(blob[: whole + (len(blob) - whole) // 2])
    else:  # a byte of the last record's entries changed on disk
        log.write_bytes(blob[:-3] + bytes([blob[-3] ^ 0xFF]) + blob[-2:])
    again = connect("embedded://", data_dir)
    assert again.token.balance_of(ALICE.address) == 2
    assert log.stat().st_size == whole  # the damaged tail is cut off...
    _mint(again, 1)  # ...so what comes next follows a whole record
    again.close()
    assert connect("embedded://", data_dir).token.balance_of(ALICE.address) == 3


def _compact_next(c: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next transaction's commit compact (as if the log had outgrown the store)."""
    monkeypatch.setattr(statefile, "MIN_COMPACT_BYTES", 0)
    c.backend._file._snapshot_bytes = 1  # type: ignore[attr-defined]


def test_compaction_writes_the_store_whole_and_empties_the_log(data_dir, monkeypatch):
    c = _deployed(data_dir)
    snapshot, log = _files(data_dir)
    _mint(c, 2)
    before = snapshot.read_bytes()
    _compact_next(c, monkeypatch)
    _mint(c, 1)
    assert snapshot.read_bytes() != before and log.stat().st_size == 0
    c.close()
    assert connect("embedded://", data_dir).token.balance_of(ALICE.address) == 3


def test_a_crash_between_snapshot_and_emptied_log_keeps_the_state(data_dir, monkeypatch):
    c = _deployed(data_dir)
    _mint(c, 2)
    _compact_next(c, monkeypatch)

    def crash(self: statefile.StateFile) -> None:
        raise OSError("the process died here")

    monkeypatch.setattr(statefile.StateFile, "_empty_log", crash)
    with pytest.raises(Exception, match="the process died here"):
        _mint(c, 1)
    monkeypatch.undo()
    _, log = _files(data_dir)
    assert log.stat().st_size > 0  # the whole log, over a snapshot that has all of it
    assert connect("embedded://", data_dir).token.balance_of(ALICE.address) == 3


def test_a_new_chain_never_replays_a_log_left_beside_it(data_dir):
    c = _deployed(data_dir)
    _mint(c, 2)
    c.close()
    snapshot, log = _files(data_dir)
    snapshot.unlink()  # the log of that chain stays
    fresh = connect("embedded://", data_dir)
    assert log.stat().st_size == 0
    fresh.close()
    again = connect("embedded://", data_dir)
    assert again.chain_id == fresh.chain_id


def test_a_log_that_is_not_ours_is_refused(data_dir):
    c = _deployed(data_dir)
    c.close()
    _, log = _files(data_dir)
    log.write_bytes(b"not a log at all")
    with pytest.raises(ChainError, match="not a cairn chain log"):
        connect("embedded://", data_dir)


def test_a_checksummed_record_that_is_not_entries_stops_the_load_in_one_line(data_dir):
    import struct
    import zlib

    c = _deployed(data_dir)
    c.close()
    _, log = _files(data_dir)
    junk = b"\x00\x00\x00\x05abc"  # a key length of 5 over 3 bytes, then nothing
    log.write_bytes(log.read_bytes() + struct.pack(">II", len(junk), zlib.crc32(junk)) + junk)
    with pytest.raises(ChainError, match="holds a malformed record"):
        connect("embedded://", data_dir)
