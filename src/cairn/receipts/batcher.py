"""Per-node batching: seal receipts into Merkle batches, anchor the roots.

A batch is sealed every ``max_receipts`` receipts or ``max_age_s`` seconds,
whichever comes first, by a background thread — never on the request path.
Sealing is recorded locally first (batch id, root, leaf order), then the root
is anchored; a batch whose anchoring failed (chain down) is retried on the
next tick, so no receipt is ever left out of a root.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from cairn.errors import CairnError, ReceiptError
from cairn.receipts.base import Anchorer, ReceiptStore
from cairn.receipts.merkle import MerkleTree

__all__ = ["Batcher"]

log = logging.getLogger(__name__)


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
    ) -> None:
        self.store = store
        self.anchorer = anchorer
        self.max_receipts = max_receipts
        self.max_age_s = max_age_s
        self.retain_s = retain_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self.last_error: str | None = None

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
        while not self._stop.is_set():
            self._wake.wait(self.max_age_s)
            self._wake.clear()
            self.flush()
            self.purge()
        self.flush()

    def purge(self) -> int:
        """Drop retained inputs and outputs older than the audit window (receipts stay)."""
        if self.retain_s is None:
            return 0
        return self.store.purge_before(int(time.time() - self.retain_s))

    def flush(self) -> int:
        """Seal every pending receipt into batches and anchor them; return batches anchored."""
        self._pending = 0
        while pending := self.store.unbatched(self.max_receipts):
            tree = MerkleTree.build([digest for _, digest in pending])
            self.store.record_batch(
                self.store.next_batch_id(), tree.root, [rid for rid, _ in pending]
            )
        anchored = 0
        for batch in self.store.unanchored_batches():
            try:
                self.anchorer(batch.batch_id, batch.root, batch.count)
            except CairnError as exc:
                self.last_error = str(exc)
                log.warning("anchoring batch %d failed, will retry: %s", batch.batch_id, exc)
                break
            self.store.mark_anchored(batch.batch_id)
            anchored += 1
        return anchored

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
