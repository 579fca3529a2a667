"""The port between a validator and the node it audits: receipts, retained I/O, models.

A validator reads three things from a node: the receipts of an anchored batch
in leaf order (it rebuilds the Merkle root and compares it with the anchor, so
the node cannot swap receipts), the retained input and output of one receipt
(checked against the hashes the node signed), and the model's bytes by CID
(verified block by block). Anything the node will not or cannot hand over
raises :class:`~cairn.errors.NodeUnavailable` — that audit fails. HTTP is the
real backend (:mod:`cairn.verification._http`); :class:`MemoryNodeSource` is
the fake.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from cairn.content import Blockstore, Cid
from cairn.errors import NodeUnavailable
from cairn.receipts import Receipt

__all__ = ["MemoryNodeSource", "NodeSource", "RetainedIO"]


@dataclass(frozen=True)
class RetainedIO:
    """A receipt's input and output as the node's gateway retains them (JSON bytes)."""

    input: bytes
    output: bytes


class NodeSource(ABC):
    """What a validator asks of one node."""

    @abstractmethod
    def batch(self, batch_id: int) -> list[Receipt]:
        """The batch's receipts in leaf order."""

    @abstractmethod
    def retained(self, request_id: bytes) -> RetainedIO:
        """The retained input and output of one receipt."""

    @abstractmethod
    def fetch_model(self, cid: Cid, store: Blockstore) -> None:
        """Copy the model's DAG into ``store`` (every block verified against its CID)."""

    def zk_proof(self, request_id: bytes) -> bytes | None:
        """The zk proof the node attached to a receipt (JSON), or None if it has none."""
        return None


@dataclass
class MemoryNodeSource(NodeSource):
    """An in-memory node: batches, retained I/O and a blockstore to copy models from."""

    batches: dict[int, list[Receipt]] = field(default_factory=dict)
    io: dict[bytes, RetainedIO] = field(default_factory=dict)
    blocks: Blockstore | None = None
    proofs: dict[bytes, bytes] = field(default_factory=dict)

    def batch(self, batch_id: int) -> list[Receipt]:
        if batch_id not in self.batches:
            raise NodeUnavailable(f"no batch {batch_id}")
        return list(self.batches[batch_id])

    def retained(self, request_id: bytes) -> RetainedIO:
        if request_id not in self.io:
            raise NodeUnavailable(f"input of 0x{request_id.hex()} not retained")
        return self.io[request_id]

    def zk_proof(self, request_id: bytes) -> bytes | None:
        return self.proofs.get(request_id)

    def fetch_model(self, cid: Cid, store: Blockstore) -> None:
        from cairn.content import walk_blocks

        if self.blocks is None:
            raise NodeUnavailable(f"model {cid} not available")
        for block_cid, block in walk_blocks(cid, self.blocks):
            store.put(block_cid, block)
