"""The node's answer to objective challenges: post what it owes onchain, by itself.

Anyone may oblige a node, through the Challenges contract
(:mod:`cairn.chain.challenges`), to post within the response window a
receipt's retained input (a validator could not get it over HTTP), a leaf of a
batch it anchored (it would not list the batch), or the inclusion proof of a
receipt it signed (a client says it was never anchored); silence is guilt.
:class:`ChallengeResponder` watches ``Challenged`` events against this node,
beside the batcher, and answers each from the receipt store — receipts are kept
for good, inputs for the audit window — so nothing here waits for an operator.
A challenge it cannot answer (the input purged, lost, or over
:data:`~cairn.chain.challenges.MAX_INPUT`; a receipt it does not hold) is logged
and counted in :attr:`ChallengeResponder.unanswerable`.

It runs in its own daemon thread, started and stopped with the gateway; a
failure (chain down) is logged and retried on the next tick, never raised.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable

from cairn.chain import Chain
from cairn.chain.challenges import MAX_INPUT, Challenge, ChallengeKind, ChallengeStatus
from cairn.chain.disputes import Evidence
from cairn.errors import CairnError, ContractRevert
from cairn.identity import Signer
from cairn.receipts import ReceiptStore
from cairn.verification.reexecute import evidence_for

__all__ = ["ChallengeResponder"]

log = logging.getLogger(__name__)


class ChallengeResponder:
    """Answers ``Challenged`` events against ``signer``'s node from ``receipts``."""

    def __init__(
        self,
        chain: Chain,
        lock: threading.Lock,
        signer: Signer,
        receipts: ReceiptStore,
        *,
        interval_s: float = 1.0,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.chain = chain
        self.lock = lock
        self.signer = signer
        self.receipts = receipts
        self.interval_s = interval_s
        self.on_error = on_error
        self.answered: list[int] = []
        self.unanswerable: dict[int, str] = {}  # challenge id → why
        self._next_block = 0
        self._pending: dict[int, Challenge] = {}
        self._unclaimed = True  # claim once at start, then after each answer
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="cairn-responder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception as exc:  # the thread must outlive any failure
                log.warning("answering challenges: %s", exc, exc_info=True)
                if self.on_error is not None:
                    self.on_error(exc)

    def tick(self) -> list[int]:
        """Read new challenges against this node and answer the open ones; the ids answered."""
        with self.lock:
            head = self.chain.head()
            if self._next_block <= head:
                found = self.chain.challenges.challenges(
                    self._next_block, node=self.signer.address, to_block=head
                )
                self._pending.update((c.id, c) for c in found)
                self._next_block = head + 1
        done = [c.id for c in list(self._pending.values()) if self._answer(c)]
        if done or self._unclaimed:  # the bonds of answered challenges are pulled
            self._unclaimed = True
            with self.lock:
                if self.chain.disputes.claimable(self.signer.address):
                    self.chain.disputes.claim(self.signer)
            self._unclaimed = False
        return done

    def _answer(self, c: Challenge) -> bool:
        with self.lock:
            now = self.chain.now()
            status = self.chain.challenges.challenge(c.id).status
        if status != ChallengeStatus.OPEN or now > c.deadline:
            self._pending.pop(c.id, None)
            return False
        self._pending.pop(c.id, None)
        try:
            send = self._prepare(c)
        except CairnError as exc:
            why = str(exc)
            log.error("cannot answer challenge %d: %s (the node will be slashed)", c.id, why)
            self.unanswerable[c.id] = why
            return False
        try:
            with self.lock:
                send()
        except ContractRevert as exc:  # answered by someone else, or too late
            log.warning("challenge %d: the answer was refused: %s", c.id, exc.reason)
            return False
        log.info("answered %s challenge %d", c.kind.name.lower(), c.id)
        self.answered.append(c.id)
        return True

    def _prepare(self, c: Challenge) -> Callable[[], object]:
        """What to send for ``c``; CairnError if this node cannot answer it."""
        ch = self.chain.challenges
        if c.kind == ChallengeKind.WITHHELD_INPUT:
            data = self._input(c)
            return lambda: ch.answer_input(self.signer, c.id, data)
        if c.kind == ChallengeKind.WITHHELD_LEAF:
            leaf = self._leaf(c)
            return lambda: ch.answer_leaf(self.signer, c.id, leaf)
        if c.kind == ChallengeKind.UNANCHORED:
            proof = self._inclusion(c)
            return lambda: ch.answer_anchor(self.signer, c.id, proof)
        raise CairnError(f"unknown challenge kind {c.kind}")

    def _input(self, c: Challenge) -> bytes:
        stored = self.receipts.get(c.request_id)
        data = stored.input if stored is not None else None
        if data is None:
            raise CairnError("no retained input")
        if hashlib.sha256(data).digest() != c.input_hash:
            raise CairnError("retained input does not hash to the receipt")
        if len(data) > MAX_INPUT:
            raise CairnError(f"input over {MAX_INPUT} bytes")
        return data

    def _leaf(self, c: Challenge) -> Evidence:
        members = self.receipts.batch_members(c.batch_id)
        if c.index >= len(members):
            raise CairnError(f"batch {c.batch_id} has no leaf {c.index} here")
        return evidence_for(members[c.index], members, c.batch_id)

    def _inclusion(self, c: Challenge) -> Evidence:
        stored = self.receipts.get(c.request_id)
        if stored is None or stored.batch_id is None:
            raise CairnError("receipt not held, or never batched")
        members = self.receipts.batch_members(stored.batch_id)
        return evidence_for(stored.receipt, members, stored.batch_id)
