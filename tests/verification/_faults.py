"""Test doubles of a node's runtime and store: the faults the adversarial tests inject.

They wrap the real ONNX runtime; the product has no flag for any of them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from cairn.inference import Runtime, Tensor, WrappedRuntime
from cairn.receipts import SqliteReceiptStore, StoredReceipt


class _Wrapping(WrappedRuntime):
    def __init__(self, inner: Runtime) -> None:
        super().__init__(inner)
        self.calls = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self.calls += 1
            return self.calls


def _wrong(out: dict[str, Tensor]) -> dict[str, Tensor]:
    probs = np.roll(out["probabilities"].to_numpy(), 1, axis=-1)
    return {
        "probabilities": Tensor.from_numpy(probs.astype(np.float32)),
        "label": Tensor.from_numpy(np.argmax(probs, axis=-1).astype(np.int64)),
    }


class WrongSometimes(_Wrapping):
    """Wrong on one request in ``every`` (the ``offset``-th of each run of ``every``)."""

    def __init__(self, inner: Runtime, every: int = 100, offset: int = 50) -> None:
        super().__init__(inner)
        self.every, self.offset = every, offset

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        out = self.inner._run(inputs)
        return _wrong(out) if self._next() % self.every == self.offset else out


class OtherModel(_Wrapping):
    """Runs a different model while the node signs the registered CID."""

    def __init__(self, inner: Runtime, other: Runtime) -> None:
        super().__init__(inner)
        self.other = other

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return self.other._run(inputs)


class Cached(_Wrapping):
    """Returns the first answer it computed for every later input."""

    def __init__(self, inner: Runtime) -> None:
        super().__init__(inner)
        self.first: dict[str, Tensor] | None = None

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        if self.first is None:
            self.first = self.inner._run(inputs)
        return dict(self.first)


class RefusingStore(SqliteReceiptStore):
    """A receipt store that has 'lost' every retained input."""

    def get(self, request_id: bytes) -> StoredReceipt | None:
        found = super().get(request_id)
        return None if found is None else replace(found, input=None)
