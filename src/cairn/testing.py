"""Fault doubles: a dishonest node's runtime and receipt store, for tests and demos only.

The adversarial tests (``tests/verification``) and the demo's last act
(``examples/demo``) make a node cheat with these, so the cheats they show are the
cheats they test, written once. Each wraps the real piece — a
:class:`~cairn.inference.WrappedRuntime` around the ONNX runtime, a subclass of
:class:`~cairn.receipts.SqliteReceiptStore` — and changes one thing. They are
test and demo doubles only: the product has no flag for any of them, and nothing
under ``cairn`` imports this module.

- :class:`WrongSometimes` — a wrong answer on one request in ``every``
- :class:`OtherModel` — runs a different model while the node signs the registered CID
- :class:`Cached` — the first answer it computed, for every later input
- :class:`RefusingStore` — a receipt store that has "lost" every retained input
- :class:`UnlistingStore` — a receipt store that lists no batch
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from cairn.inference import Runtime, Tensor, WrappedRuntime
from cairn.receipts import Receipt, SqliteReceiptStore, StoredReceipt

__all__ = ["Cached", "OtherModel", "RefusingStore", "WrongSometimes"]


class _Counting(WrappedRuntime):
    """Counts calls across the gateway's worker threads."""

    def __init__(self, inner: Runtime) -> None:
        super().__init__(inner)
        self.calls = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self.calls += 1
            return self.calls


def _wrong(out: dict[str, Tensor]) -> dict[str, Tensor]:
    """A classifier's answer with every probability shifted one label along."""
    probs = np.roll(out["probabilities"].to_numpy(), 1, axis=-1)
    return {
        "probabilities": Tensor.from_numpy(probs.astype(np.float32)),
        "label": Tensor.from_numpy(np.argmax(probs, axis=-1).astype(np.int64)),
    }


class WrongSometimes(_Counting):
    """Wrong on one request in ``every``: the ``offset``-th of each run of ``every``.

    >>> liar = WrongSometimes(runtime, every=10, offset=0)  # doctest: +SKIP
    >>> # calls 10, 20, 30, ... shift the classifier's label by one
    """

    def __init__(self, inner: Runtime, every: int = 100, offset: int = 50) -> None:
        super().__init__(inner)
        self.every, self.offset = every, offset

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        out = self.inner.run(inputs)
        return _wrong(out) if self._next() % self.every == self.offset else out


class OtherModel(_Counting):
    """Runs a different model while the node signs the registered CID."""

    def __init__(self, inner: Runtime, other: Runtime) -> None:
        super().__init__(inner)
        self.other = other

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        self._next()
        return self.other.run(inputs)


class Cached(_Counting):
    """Returns the first answer it computed for every later input."""

    def __init__(self, inner: Runtime) -> None:
        super().__init__(inner)
        self.first: dict[str, Tensor] | None = None

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        self._next()
        if self.first is None:
            self.first = self.inner.run(inputs)
        return dict(self.first)


class RefusingStore(SqliteReceiptStore):
    """A receipt store that has "lost" every retained input."""

    def get(self, request_id: bytes) -> StoredReceipt | None:
        found = super().get(request_id)
        return None if found is None else replace(found, input=None)


class UnlistingStore(SqliteReceiptStore):
    """A receipt store that will not list any batch (the gateway and the responder read it)."""

    def batch_members(self, batch_id: int) -> list[Receipt]:
        return []
