"""ReceiptAnchor: a staked node anchors the Merkle root and count of a batch of receipts.

One word is stored per batch, written once: the commitment, the low 216 bits of
``keccak256(0x02 || root || uint256(count))`` (:func:`cairn.receipts.batch_commitment`),
so a proof of leaf ``i`` binds ``i < count`` (docs/receipts.md), under the anchor's
block time (:meth:`ReceiptAnchor.anchored_at`, which bounds leaf challenges). The root and count
are in the ``Anchored`` event, which :meth:`ReceiptAnchor.get` reads back; the
contract refuses a count over 2^20. Batch ids are the node's own: any uint256 it has
not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.identity import Signer

__all__ = ["Anchor", "ReceiptAnchor"]


@dataclass(frozen=True)
class Anchor:
    node: str
    batch_id: int
    root: bytes
    receipt_count: int
    block_number: int
    tx_hash: str


def _anchor(log: Any) -> Anchor:
    a = log["args"]
    return Anchor(
        a["node"],
        int(a["batchId"]),
        bytes(a["root"]),
        int(a["receiptCount"]),
        int(log["blockNumber"]),
        Web3.to_hex(log["transactionHash"]),
    )


class ReceiptAnchor(ContractWrapper):
    """Typed calls of the ReceiptAnchor contract."""

    name = "ReceiptAnchor"

    def anchor(self, signer: Signer, batch_id: int, root: bytes, receipt_count: int) -> Tx[None]:
        """Anchor ``root`` (32 bytes) of ``receipt_count`` receipts as batch ``batch_id``."""
        return tx_of(self._send(signer, "anchor", batch_id, root, receipt_count), None)

    def commitment_of(self, node: str, batch_id: int) -> bytes | None:
        """The anchored commitment to root and count, or None if that batch was never anchored."""
        got = bytes(self._call("commitmentOf", Web3.to_checksum_address(node), batch_id))
        return None if got == b"\0" * 32 else got

    def anchored_at(self, node: str, batch_id: int) -> int | None:
        """The block time at which ``node`` anchored ``batch_id`` (None if never)."""
        return int(self._call("anchoredAt", Web3.to_checksum_address(node), batch_id)) or None

    def get(self, node: str, batch_id: int) -> Anchor | None:
        """The anchor with its count and block, from the contract's event."""
        logs = self._logs("Anchored", node=Web3.to_checksum_address(node), batchId=batch_id)
        return _anchor(logs[0]) if logs else None

    def anchors(self, node: str) -> list[Anchor]:
        """Every batch ``node`` anchored, in chain order."""
        return [_anchor(log) for log in self._logs("Anchored", node=Web3.to_checksum_address(node))]

    def anchored(self, from_block: int, to_block: int | None = None) -> list[Anchor]:
        """Every batch any node anchored in blocks ``from_block..to_block``, in chain order."""
        return [_anchor(log) for log in self._logs("Anchored", from_block, to_block)]

    def staking_address(self) -> str:
        """The Staking contract whose nodes may anchor here (fixed at deployment)."""
        return str(self._call("staking"))
