"""Ports of the receipts layer: where receipts are kept, and where roots are anchored.

:class:`ReceiptStore` keeps each receipt with the input and output it covers
(retained for the audit window, so validators can re-execute) and records
which batch and leaf it landed in. :meth:`ReceiptStore.add` returns only once
the receipt is durable, so an answer never leaves a node with a receipt the node
could lose. :class:`Anchorer` posts a batch root; the chain's ReceiptAnchor is
the real one, a list is the fake.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from cairn.receipts.receipt import Receipt

__all__ = ["Anchorer", "Batch", "ReceiptStore", "StoredReceipt"]


@dataclass(frozen=True)
class StoredReceipt:
    receipt: Receipt
    input: bytes | None
    output: bytes | None
    batch_id: int | None
    leaf_index: int | None
    access: bytes | None = None  # sha256 of the token the client got to read its I/O back


@dataclass(frozen=True)
class Batch:
    batch_id: int
    root: bytes
    count: int
    anchored: bool


class Anchorer(Protocol):
    def __call__(self, batch_id: int, root: bytes, count: int) -> None: ...


class ReceiptStore(ABC):
    @abstractmethod
    def add(
        self, receipt: Receipt, input_blob: bytes, output_blob: bytes, access: bytes | None = None
    ) -> None:
        """Store a receipt with its input and output; return once it is durable.

        ``access`` is the sha256 of the secret its client may present to read them back.
        """

    @abstractmethod
    def get(self, request_id: bytes) -> StoredReceipt | None: ...

    @abstractmethod
    def unbatched(self, limit: int) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` (request id, signed digest) pairs not yet in a batch, oldest first."""

    @abstractmethod
    def batch_digests(self, batch_id: int) -> list[bytes]:
        """The signed digests of a batch's receipts, in leaf order."""

    @abstractmethod
    def record_batch(self, batch_id: int, root: bytes, request_ids: list[bytes]) -> None:
        """Seal receipts into a batch; ReceiptError if one of them is already in a batch."""

    @abstractmethod
    def renumber_batch(self, batch_id: int, new_id: int) -> None:
        """Move an unanchored batch to another id (the chain already holds ``batch_id``)."""

    @abstractmethod
    def mark_anchored(self, batch_id: int) -> None: ...

    @abstractmethod
    def batch(self, batch_id: int) -> Batch | None: ...

    @abstractmethod
    def batch_members(self, batch_id: int) -> list[Receipt]: ...

    @abstractmethod
    def unanchored_batches(self) -> list[Batch]: ...

    @abstractmethod
    def next_batch_id(self) -> int: ...

    @abstractmethod
    def purge_before(self, issued_at: int) -> int: ...

    def checkpoint(self) -> None:  # noqa: B027  (a store without a log has nothing to copy)
        """Fold what a write-ahead log or spool holds into the store's files, off the
        request path (the batcher's thread calls it on each tick)."""

    def close(self) -> None:  # noqa: B027  (a store without resources needs no close)
        """Release what the store holds (files, connections); it is not used afterwards."""
