"""The batcher and the store under stress: durable before the answer, one batch per receipt
however many flushes race, a store behind the chain does not jam anchoring, failures are
counted and retried, and NaN outputs hash as clients rebuild them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cairn._journal import Journal
from cairn.content import Cid
from cairn.errors import ChainUnreachable, ReceiptError
from cairn.identity import LocalSigner
from cairn.inference import Tensor, tensors_from_json, tensors_to_json
from cairn.receipts import (
    Batcher,
    MerkleTree,
    Receipt,
    ReceiptDomain,
    SqliteReceiptStore,
    batch_commitment,
    wire,
)

DOMAIN = ReceiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
SIGNER = LocalSigner.generate()


def _receipt(n: int) -> Receipt:
    return Receipt(
        str(Cid.of(b"model")), os.urandom(32), os.urandom(32), SIGNER.address,
        n.to_bytes(32, "big"), 1_700_000_000 + n, "onnxruntime", 0, DOMAIN,
    ).sign(SIGNER, DOMAIN.separator)  # fmt: skip


_KILLED_WRITER = """
import os, signal, sys, threading
from pathlib import Path
from tests.receipts.test_receipts_batcher import _receipt
from cairn.receipts import SqliteReceiptStore

store = SqliteReceiptStore(Path(sys.argv[1]))
lock = threading.Lock()

def client(k):
    for i in range(25):
        store.add(_receipt(k * 100 + i), b"i", b"o")
        with lock:  # acknowledged: as an answer leaving with its receipt
            print(k * 100 + i, flush=True)

threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
os.kill(os.getpid(), signal.SIGKILL)  # no close, no drain: as a crash
"""


def test_add_returns_only_once_durable(tmp_path: Path) -> None:
    """A process killed (SIGKILL) after its adds returned loses none of them: the next
    store opened on the file finds every acknowledged receipt, and takes new ones."""
    path = tmp_path / "r.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(path)],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert proc.returncode == -9, proc.stderr[-2000:]
    acknowledged = [int(line) for line in proc.stdout.split()]
    assert len(acknowledged) == 200
    store = SqliteReceiptStore(path)
    for n in acknowledged:
        assert store.get(n.to_bytes(32, "big")) is not None, n
    store.add(_receipt(10_000), b"in", b"out", b"h" * 32)
    stored = store.get((10_000).to_bytes(32, "big"))
    assert stored is not None and stored.access == b"h" * 32


def _wal_pages(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


def test_requests_write_the_spool_and_the_batcher_moves_and_checkpoints(tmp_path: Path) -> None:
    """An add writes the spool, not SQLite; the batcher's tick moves the spool into the
    database in one commit (past SQLite's default threshold of 1 000 pages, so no
    commit copied the WAL back), then copies the WAL into the file while another
    connection keeps writing, and loses nothing."""
    path = tmp_path / "r.sqlite"
    spool = tmp_path / "r.sqlite-spool"
    store = SqliteReceiptStore(path)
    wal_at_start = _wal_pages(path)
    for i in range(700):  # a 6 KB output each: about 1 400 pages once in SQLite
        store.add(_receipt(i), b"in", os.urandom(6000))
    assert _wal_pages(path) == wal_at_start and spool.stat().st_size > 700 * 6000
    before = path.stat().st_size
    store.drain()  # what a tick or a read does first
    assert spool.stat().st_size == 0
    assert _wal_pages(path) > 1000  # SQLite's own checkpoint would have run by now
    anchored: list[int] = []
    batcher = Batcher(store, lambda b, r, c: anchored.append(b), max_receipts=1000)
    writer = sqlite3.connect(path, isolation_level=None)  # a writer during the copy
    writer.execute("PRAGMA journal_mode=WAL")
    assert batcher._tick() and anchored == [1]
    assert path.stat().st_size > before + 700 * 6000  # the rows are in the database file
    wal = _wal_pages(path)
    writer.execute("CREATE TABLE IF NOT EXISTS other(x)")
    for i in range(20):  # the WAL is written again from its start: it does not grow
        store.add(_receipt(5000 + i), b"in", os.urandom(6000))
    store.drain()
    assert _wal_pages(path) == wal
    store.close()
    assert not spool.exists()  # moved and gone at a clean close
    fresh = sqlite3.connect(path)
    assert fresh.execute("SELECT COUNT(*) FROM receipts").fetchone()[0] == 720


def test_a_journal_nobody_checkpoints_keeps_sqlites_own_threshold(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite"
    journal = Journal(path)
    journal.db.execute("CREATE TABLE t(x BLOB)")
    for _ in range(700):
        journal.write("INSERT INTO t VALUES (?)", [(os.urandom(6000),)])
    assert _wal_pages(path) < 1100  # checkpointed by a commit past 1 000 pages
    journal.close()


def test_a_failed_flush_still_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    store = SqliteReceiptStore(path)
    for i in range(300):
        store.add(_receipt(i), b"in", os.urandom(6000))

    def down(batch_id: int, root: bytes, count: int) -> None:
        raise ChainUnreachable("chain down")

    before = path.stat().st_size
    assert not Batcher(store, down)._tick()
    assert path.stat().st_size > before + 300 * 6000


def test_concurrent_flushes_never_batch_or_anchor_a_receipt_twice(tmp_path: Path) -> None:
    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    anchored: list[int] = []

    def slow_anchor(batch_id: int, root: bytes, count: int) -> None:
        time.sleep(0.01)
        anchored.append(batch_id)

    batcher = Batcher(store, slow_anchor, max_receipts=7)
    for i in range(100):
        store.add(_receipt(i), b"", b"")
    barrier = threading.Barrier(8)

    def flush() -> None:
        barrier.wait()
        batcher.flush()

    threads = [threading.Thread(target=flush) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(anchored) == list(range(1, 16)) and len(anchored) == 15  # ceil(100 / 7)
    seen = [r.request_id for b in anchored for r in store.batch_members(b)]
    assert len(seen) == len(set(seen)) == 100
    with pytest.raises(ReceiptError, match="already in another batch"):
        store.record_batch(99, bytes(32), [(0).to_bytes(32, "big")])


def _after_sealing(
    store: SqliteReceiptStore, then: Callable[[int], object]
) -> Callable[[int, bytes, list[bytes]], None]:
    """Run ``then(batch_id)`` after each batch the store records; returns the real method."""
    real = store.record_batch

    def record(batch_id: int, root: bytes, request_ids: list[bytes]) -> None:
        real(batch_id, root, request_ids)
        then(batch_id)

    store.record_batch = record  # type: ignore[method-assign]
    return real


def _started(tmp_path: Path, max_age_s: float) -> tuple[SqliteReceiptStore, Batcher]:
    """25 receipts stored, a batcher of 10 running, and told of each as the gateway does."""
    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    for i in range(25):
        store.add(_receipt(i), b"", b"")
    batcher = Batcher(store, lambda *a: None, max_receipts=10, max_age_s=max_age_s)
    batcher.start()
    for _ in range(25):
        batcher.notify()
    return store, batcher


def test_receipts_arriving_during_a_flush_wait_for_the_next_one(tmp_path: Path) -> None:
    """A flush seals the backlog it found (full batches, then one remainder) and stops: a
    receipt stored while it seals is not sealed alone as a batch (an anchor) of its own."""
    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    counts: list[int] = []
    arriving = iter(range(100, 110))

    def anchor(batch_id: int, root: bytes, count: int) -> None:
        counts.append(count)

    # a request answered as each batch is sealed
    _after_sealing(store, lambda batch_id: store.add(_receipt(next(arriving)), b"", b""))
    for i in range(25):
        store.add(_receipt(i), b"", b"")
    batcher = Batcher(store, anchor, max_receipts=10)
    # 25 found, and one more with each full batch sealed; then the remainder of 7 ends it
    assert batcher.flush() == 3 and counts == [10, 10, 7]
    assert len(store.unbatched(100)) == 1  # the one that arrived with the remainder
    assert batcher.flush() == 1 and counts == [10, 10, 7, 1]


def _anchored_counts(store: SqliteReceiptStore) -> list[int]:
    return [b.count for b in map(store.batch, range(1, store.next_batch_id())) if b and b.anchored]


def _settle(cond: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


def test_woken_by_a_full_batch_the_thread_seals_only_full_ones(tmp_path: Path) -> None:
    """25 receipts, batches of 10, an age limit far away: two full batches now; the 5
    left wait (an anchor each batch) and are sealed when the thread stops."""
    store, batcher = _started(tmp_path, max_age_s=600)
    assert _settle(lambda: _anchored_counts(store) == [10, 10])
    time.sleep(0.3)  # nothing more comes of the notifications
    assert _anchored_counts(store) == [10, 10] and len(store.unbatched(100)) == 5
    batcher.stop()
    assert _anchored_counts(store) == [10, 10, 5]


def test_the_age_limit_seals_what_is_left(tmp_path: Path) -> None:
    """The same, with an age limit that passes: the 5 left are sealed by the timer."""
    store, batcher = _started(tmp_path, max_age_s=0.5)
    assert _settle(lambda: _anchored_counts(store) == [10, 10, 5])
    batcher.stop()


def test_a_store_behind_the_chain_moves_to_the_next_free_id(tmp_path: Path) -> None:
    """The chain holds batches 1 and 2 from a store that was lost; this one starts at 1."""
    chain: dict[int, bytes] = {1: b"\x01" * 32, 2: b"\x02" * 32}

    def anchor(batch_id: int, root: bytes, count: int) -> None:
        if batch_id in chain:
            raise ChainUnreachable("batch already anchored")  # what the contract says
        chain[batch_id] = batch_commitment(root, count)

    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    for i in range(3):
        store.add(_receipt(i), b"", b"")
    first = _receipt(0)
    store.record_batch(1, MerkleTree.build([first.digest()]).root, [first.request_id])
    batcher = Batcher(store, anchor, max_receipts=2, commitment_of=chain.get)
    assert batcher.flush() == 2 and batcher.last_error is None
    assert batcher.renumbered == [(1, 4)]  # receipts 1 and 2 were sealed as 3 first
    assert sorted(chain) == [1, 2, 3, 4] and store.unanchored_batches() == []
    assert store.batch(1) is None and [r.request_id for r in store.batch_members(4)] == [
        first.request_id
    ]
    assert chain[4] == MerkleTree.build([first.digest()]).commitment


def test_an_id_taken_between_sealing_and_anchoring_is_renumbered_next_flush(
    tmp_path: Path,
) -> None:
    """The chain is asked once per batch (as it is sealed), not again to anchor it. If the
    id is taken in between (another process with this node's key), the anchoring is
    refused, and the next flush asks again and moves the batch to a free id."""
    chain: dict[int, bytes] = {}
    asked: list[int] = []

    def commitment_of(batch_id: int) -> bytes | None:
        asked.append(batch_id)
        return chain.get(batch_id)

    def anchor(batch_id: int, root: bytes, count: int) -> None:
        if batch_id in chain:
            raise ChainUnreachable("batch already anchored")  # what the contract says
        chain[batch_id] = batch_commitment(root, count)

    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    for i in range(6):
        store.add(_receipt(i), b"", b"")
    batcher = Batcher(store, anchor, max_receipts=2, commitment_of=commitment_of)
    assert batcher.flush() == 3 and asked == [1, 2, 3]  # once each, while sealing
    for i in range(6, 8):
        store.add(_receipt(i), b"", b"")
    # anchored meanwhile, with another commitment
    real_record = _after_sealing(store, lambda batch_id: chain.__setitem__(batch_id, b"\x07" * 32))
    assert batcher.flush() == 0 and "already anchored" in (batcher.last_error or "")
    store.record_batch = real_record  # type: ignore[method-assign]
    assert batcher.flush() == 1 and batcher.renumbered == [(4, 5)]
    assert chain[5] == batch_commitment(store.batch(5).root, 2)  # type: ignore[union-attr]


def test_the_batcher_thread_survives_failures_and_reports_them(tmp_path: Path) -> None:
    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    state = {"fail": True}

    def anchor(batch_id: int, root: bytes, count: int) -> None:
        if state["fail"]:
            raise RuntimeError("a bug, not a CairnError")

    batcher = Batcher(store, anchor, max_receipts=1, max_age_s=0.05)
    batcher.start()
    store.add(_receipt(1), b"", b"")
    batcher.notify()
    deadline = time.monotonic() + 10
    while batcher.failures < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert batcher.failures >= 1 and "RuntimeError: a bug" in (batcher.last_error or "")
    state["fail"] = False
    batcher.notify()  # wakes it before the backoff ends
    assert batcher.wait_anchored(1, timeout=10)
    deadline = time.monotonic() + 5
    while batcher.last_error is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert batcher.last_error is None
    batcher.stop()


def test_nan_outputs_hash_as_a_json_client_rebuilds_them() -> None:
    odd = np.array([1.0, 0.0, 0.0], np.float32)
    odd.view(np.uint32)[1:] = [0x7FC00123, 0xFFC00000]  # payload NaN; x86's negative NaN
    outputs = {"y": Tensor.from_numpy(odd)}
    rebuilt = tensors_from_json(tensors_to_json(outputs))  # NaN travels as "NaN"
    assert wire.tensors_hash(rebuilt) == wire.tensors_hash(wire.canonical_outputs(outputs))
    assert wire.output_bytes(outputs) == wire.output_bytes(rebuilt)
    as_rows = wire.outputs_of_answer(
        {"data": [{"index": 0, "embedding": wire.encode_embedding(odd, "float")}]}
    )
    assert wire.tensors_hash(as_rows) == wire.tensors_hash(wire.embedding_outputs([odd]))
