"""Per-node batching: seal receipts into Merkle batches, anchor the roots.

A batch is sealed every ``max_receipts`` receipts or ``max_age_s`` seconds,
whichever comes first, by a background thread — never on the request path.
Each batch is an anchoring transaction (gas onchain; on the embedded chain
about 20 ms of the node's CPU), so a busy node seals full batches: woken by a
full batch, the thread seals only full ones, oldest receipts first, and leaves
the rest for the next; a flush stops at the first batch that is not full, so
receipts that arrive while it seals wait for the next flush. Every
``max_age_s`` all that is pending is sealed, so no receipt waits longer than
that.
Sealing is recorded locally first (batch id, root, leaf order), then the root
is anchored. Flushes are serialized, so two never seal or anchor the same
receipt twice.

Nothing stops the thread: any failure is counted (:attr:`Batcher.failures`),
kept as :attr:`Batcher.last_error` (the gateway shows both in ``/healthz`` and
``/metrics``) and retried with exponential backoff, and a batch whose anchoring
failed (chain down) is retried on the next tick, so no receipt is ever left out
of a root. The anchorer posts the root with the batch's count; the chain keeps
their commitment (:func:`~cairn.receipts.merkle.batch_commitment`). Given
``commitment_of`` (the commitment the chain holds for a batch id), batch ids are
reconciled with the chain: a store that fell behind it — an id already anchored
onchain with another root or count — moves its batch to the next free id
instead of being refused forever (:attr:`Batcher.renumbered`).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from cairn.errors import CairnError, ReceiptError
from cairn.receipts.base import Anchorer, Batch, ReceiptStore
from cairn.receipts.merkle import MAX_COUNT, MerkleTree, batch_commitment

__all__ = ["Batcher"]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0


def _describe(exc: Exception) -> str:
    """One line: ours as they read, anything else with its type (it is a bug somewhere)."""
    text = str(exc) if isinstance(exc, CairnError) else f"{type(exc).__name__}: {exc}"
    return text[:500]


class Batcher:
    """Seals and anchors batches for one node."""

    def __init__(
        self,
        store: ReceiptStore,
        anchorer: Anchorer,
        *,
        max_receipts: int = 100,
        max_age_s: float = 5.0,
        retain_s: float | None = None,
        commitment_of: Callable[[int], bytes | None] | None = None,
    ) -> None:
        if not 1 <= max_receipts <= MAX_COUNT:
            raise ReceiptError(f"a batch holds 1 to {MAX_COUNT} receipts, not {max_receipts}")
        self.store = store
        self.anchorer = anchorer
        self.commitment_of = commitment_of
        self.max_receipts = max_receipts
        self.max_age_s = max_age_s
        self.retain_s = retain_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self.last_error: str | None = None  # None once a flush succeeds again
        self.failures = 0  # failed flushes since start
        self.renumbered: list[tuple[int, int]] = []  # (taken id, the id used instead)
        # set while anchoring: the gateway's chain proxy starts nothing new meanwhile
        self.anchoring = threading.Event()

    def notify(self) -> None:
        """Called after each receipt is stored: wake the thread when a batch is full."""
        self._pending += 1
        if self._pending >= self.max_receipts:
            self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="cairn-batcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Seal and anchor what is left, then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        backoff = 0.0
        due = time.monotonic() + self.max_age_s  # by when all that is pending is sealed
        while not self._stop.is_set():
            woken = self._wake.wait(backoff or max(0.0, due - time.monotonic()))
            self._wake.clear()
            everything = not woken or self._stop.is_set() or time.monotonic() >= due
            if everything:  # what arrives from now on is sealed by the next such tick
                due = time.monotonic() + self.max_age_s
            # after a failure retry in 1 s, 2 s, 4 s ... up to a minute
            ok = self._tick(full_only=not everything)
            backoff = 0.0 if ok else min(MAX_BACKOFF_S, 2 * backoff or 1.0)
        self._tick()

    def _tick(self, *, full_only: bool = False) -> bool:
        """One flush, purge and checkpoint; False (and counted, logged, kept) if anything failed."""
        try:
            try:
                self.flush(raise_errors=True, full_only=full_only)
                self.purge()
            finally:  # here, not in a request's commit (cairn._journal); even if the chain is down
                self.store.checkpoint()
        except Exception as exc:  # the thread must outlive any failure
            self.failures += 1
            self.last_error = _describe(exc)
            log.warning("anchoring failed (%d so far), will retry: %s", self.failures, exc)
            return False
        self.last_error = None
        return True

    def purge(self) -> int:
        """Drop retained inputs and outputs older than the audit window (receipts stay)."""
        if self.retain_s is None:
            return 0
        return self.store.purge_before(int(time.time() - self.retain_s))

    def flush(self, *, raise_errors: bool = False, full_only: bool = False) -> int:
        """Seal every pending receipt into batches and anchor them; return batches anchored.

        ``full_only`` (the thread woken by a full batch before the age limit) seals only
        full batches: the rest, the oldest, go first into the next one. A failure to
        anchor is kept in :attr:`last_error` (and raised with ``raise_errors``); the
        batch is retried by the next flush.
        """
        with self._flushing:
            self._pending = 0
            free: set[int] = set()  # ids this flush found free onchain just now
            while pending := self.store.unbatched(self.max_receipts):
                full = len(pending) == self.max_receipts
                if full_only and not full:
                    break
                tree = MerkleTree.build([digest for _, digest in pending])
                batch_id = self._free_id()
                self.store.record_batch(batch_id, tree.root, [rid for rid, _ in pending])
                free.add(batch_id)
                if not full:
                    # what arrives while this flush seals waits for the next one: sealed now,
                    # it would make a batch of a few receipts, each batch an anchor
                    break
            anchored = 0
            for batch in self.store.unanchored_batches():
                try:
                    self._anchor(batch, checked=batch.batch_id in free)
                except Exception as exc:
                    self.last_error = _describe(exc)
                    log.warning("anchoring batch %d failed, will retry: %s", batch.batch_id, exc)
                    if raise_errors:
                        raise
                    break
                anchored += 1
            return anchored

    def _anchor(self, batch: Batch, *, checked: bool = False) -> None:
        """Anchor ``batch``, unless the chain holds it already; one it holds with another
        commitment is renumbered. ``checked``: its id was found free onchain as it was
        sealed, by this flush (only this node's key can anchor under its address: if it
        was taken meanwhile, the anchoring fails and the next flush checks again)."""
        self.anchoring.set()
        try:
            ours = batch_commitment(batch.root, batch.count)
            onchain = None if checked else self._onchain(batch.batch_id)
            if onchain is not None and onchain != ours:
                batch = self._renumber(batch)
            if onchain != ours:
                self.anchorer(batch.batch_id, batch.root, batch.count)
        finally:
            self.anchoring.clear()
        self.store.mark_anchored(batch.batch_id)

    def _renumber(self, batch: Batch) -> Batch:
        """The chain holds this id with another commitment (the store fell behind): move on."""
        new_id = self._free_id(batch.batch_id + 1)
        self.store.renumber_batch(batch.batch_id, new_id)
        self.tree.cache_clear()
        self.renumbered.append((batch.batch_id, new_id))
        log.warning(
            "batch %d is anchored onchain with another root or count; sealed as batch %d instead",
            batch.batch_id,
            new_id,
        )
        return Batch(new_id, batch.root, batch.count, False)

    def _free_id(self, at_least: int = 0) -> int:
        """The first id from ``at_least`` that neither the store nor the chain holds."""
        candidate = max(at_least, self.store.next_batch_id())
        while self._onchain(candidate) is not None:
            candidate += 1
        return candidate

    def _onchain(self, batch_id: int) -> bytes | None:
        return self.commitment_of(batch_id) if self.commitment_of is not None else None

    @functools.lru_cache(maxsize=64)  # noqa: B019 - batches are immutable once sealed
    def tree(self, batch_id: int) -> MerkleTree:
        digests = self.store.batch_digests(batch_id)
        if not digests:
            raise ReceiptError(f"batch {batch_id} does not exist")
        return MerkleTree.build(digests)

    def wait_anchored(self, batch_id: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.store.batch(batch_id)
            if batch is not None and batch.anchored:
                return True
            time.sleep(0.05)
        return False
