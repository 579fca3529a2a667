"""The node's answer to data-availability challenges: post the retained input onchain.

A staked validator that cannot get a receipt's input over HTTP opens
``Disputes.challengeInput`` (:mod:`cairn.chain.challenges`); the node must post
that input within the response window or be slashed. :class:`ChallengeResponder`
watches ``InputChallenged`` events against this node, beside the batcher, and
answers each from the receipt store while the input is retained: silence is
guilt, so nothing here waits for an operator. A challenge it cannot answer (the
input purged, lost, or over :data:`~cairn.chain.challenges.MAX_INPUT`) is logged
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
from cairn.chain.challenges import MAX_INPUT, ChallengeStatus, InputChallenge
from cairn.errors import ContractRevert
from cairn.identity import Signer
from cairn.receipts import ReceiptStore

__all__ = ["ChallengeResponder"]

log = logging.getLogger(__name__)


class ChallengeResponder:
    """Answers ``InputChallenged`` events against ``signer``'s node from ``receipts``."""

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
        self._pending: dict[int, InputChallenge] = {}
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
                found = self.chain.disputes.input_challenges(
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

    def _answer(self, c: InputChallenge) -> bool:
        with self.lock:
            now = self.chain.now()
            status = self.chain.disputes.input_challenge(c.id).status
        if status != ChallengeStatus.OPEN or now > c.deadline:
            self._pending.pop(c.id, None)
            return False
        data = self._input(c)
        if data is None:
            self._pending.pop(c.id, None)
            return False
        try:
            with self.lock:
                self.chain.disputes.answer_input(self.signer, c.id, data)
        except ContractRevert as exc:  # answered by someone else, or too late: nothing to do
            log.info("challenge %d: %s", c.id, exc.reason)
            self._pending.pop(c.id, None)
            return False
        log.info("answered input challenge %d (%d bytes)", c.id, len(data))
        self._pending.pop(c.id, None)
        self.answered.append(c.id)
        return True

    def _input(self, c: InputChallenge) -> bytes | None:
        stored = self.receipts.get(c.request_id)
        data = stored.input if stored is not None else None
        why = (
            "no retained input"
            if data is None
            else "retained input does not hash to the receipt"
            if hashlib.sha256(data).digest() != c.input_hash
            else f"input over {MAX_INPUT} bytes"
            if len(data) > MAX_INPUT
            else ""
        )
        if why:
            log.error("cannot answer input challenge %d: %s (the node will be slashed)", c.id, why)
            self.unanswerable[c.id] = why
            return None
        return data
