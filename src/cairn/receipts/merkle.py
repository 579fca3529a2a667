"""Keccak Merkle trees over receipts, and inclusion proofs.

Rules (chosen so that a contract can check a proof with a loop of keccaks):

- leaf = ``keccak256(0x00 || receiptDigest)``, where ``receiptDigest`` is the
  receipt's EIP-712 digest (the bytes the node signed). The 0x00/0x01 prefixes
  keep a leaf from ever being mistaken for an inner node (second-preimage
  defence, as in RFC 6962 section 2.1).
- inner = ``keccak256(0x01 || min(a, b) || max(a, b))``: the pair is sorted, so a
  proof is just the list of siblings, with no left/right bits.
- a level with an odd count promotes its last node unchanged to the next level.
- the root of one leaf is that leaf; a batch is never empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak

from cairn.errors import ReceiptInvalid

__all__ = ["MerkleTree", "leaf_hash", "pair_hash", "verify_proof"]


def leaf_hash(receipt_digest: bytes) -> bytes:
    return keccak(b"\x00" + receipt_digest)


def pair_hash(a: bytes, b: bytes) -> bytes:
    return keccak(b"\x01" + min(a, b) + max(a, b))


@dataclass(frozen=True)
class MerkleTree:
    """All levels of a tree, leaves first."""

    levels: tuple[tuple[bytes, ...], ...]

    @classmethod
    def build(cls, receipt_digests: Sequence[bytes]) -> MerkleTree:
        if not receipt_digests:
            raise ReceiptInvalid("a Merkle batch needs at least one receipt")
        level = tuple(leaf_hash(d) for d in receipt_digests)
        levels = [level]
        while len(level) > 1:
            nxt = [pair_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = tuple(nxt)
            levels.append(level)
        return cls(tuple(levels))

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """The siblings from leaf ``index`` up to the root."""
        if not 0 <= index < len(self.levels[0]):
            raise ReceiptInvalid(f"leaf {index} is not in a batch of {len(self.levels[0])}")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index //= 2
        return path


def verify_proof(receipt_digest: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` links the receipt to ``root``."""
    node = leaf_hash(receipt_digest)
    for sibling in proof:
        node = pair_hash(node, sibling)
    return node == root
