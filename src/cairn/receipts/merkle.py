"""Positional keccak Merkle trees over receipts, the anchored commitment, inclusion proofs.

Rules (the Disputes contract's ``_commits`` is the judge; this module mirrors it,
and ``tests/receipts/test_receipts_merkle.py`` holds the two equal):

- leaf = ``keccak256(0x00 || receiptDigest)``, where ``receiptDigest`` is the
  receipt's EIP-712 digest (the bytes the node signed). The 0x00/0x01/0x02
  prefixes keep a leaf, an inner node and a commitment apart (second-preimage
  defence, as in RFC 6962 section 2.1).
- inner = ``keccak256(0x01 || left || right)``: positional. A proof is the
  siblings from the leaf up; bit *k* of the leaf index says whether the node at
  level *k* is the right child (1) or the left one (0).
- a level of odd length is padded with one zero word (``bytes32(0)``), so a
  batch of ``count`` receipts has exactly ``depth(count) = ceil(log2(count))``
  levels above its leaves and every proof is that long; the root of one leaf is
  that leaf.
- what is anchored is ``commitment = keccak256(0x02 || root || uint256(count))``,
  so a proof for leaf ``index`` binds ``index < count`` and the count itself:
  a node cannot anchor 300 receipts and declare one.
- ``1 <= count <= MAX_COUNT`` (2^20, the contract's cap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak

from cairn.errors import ReceiptInvalid

__all__ = [
    "MAX_COUNT",
    "ZERO",
    "MerkleTree",
    "batch_commitment",
    "depth",
    "leaf_hash",
    "pair_hash",
    "root_of_proof",
    "verify_proof",
]

MAX_COUNT = 2**20  # ReceiptAnchor's and Disputes' cap on a batch's receipts
ZERO = b"\0" * 32  # the pad of an odd level


def leaf_hash(receipt_digest: bytes) -> bytes:
    return keccak(b"\x00" + receipt_digest)


def pair_hash(left: bytes, right: bytes) -> bytes:
    return keccak(b"\x01" + left + right)


COMMITMENT_BYTES = 27  # 216 bits: ReceiptAnchor packs the anchor time above them


def batch_commitment(root: bytes, count: int) -> bytes:
    """What ReceiptAnchor's ``commitmentOf`` returns: the low 216 bits of
    ``keccak256(0x02 || root || uint256(count))`` as a 32-byte word (the top five bytes
    zero: the contract stores the anchor's time there)."""
    whole = keccak(b"\x02" + root + count.to_bytes(32, "big"))
    return bytes(32 - COMMITMENT_BYTES) + whole[32 - COMMITMENT_BYTES :]


def depth(count: int) -> int:
    """Levels above the leaves of a batch of ``count`` receipts (the proof's length)."""
    return (count - 1).bit_length()


@dataclass(frozen=True)
class MerkleTree:
    """All levels of a tree, leaves first (odd levels not yet padded)."""

    levels: tuple[tuple[bytes, ...], ...]

    @classmethod
    def build(cls, receipt_digests: Sequence[bytes]) -> MerkleTree:
        if not receipt_digests:
            raise ReceiptInvalid("a Merkle batch needs at least one receipt")
        if len(receipt_digests) > MAX_COUNT:
            raise ReceiptInvalid(f"a batch holds at most {MAX_COUNT} receipts")
        level = tuple(leaf_hash(d) for d in receipt_digests)
        levels = [level]
        while len(level) > 1:
            padded = (*level, ZERO) if len(level) % 2 else level
            level = tuple(pair_hash(padded[i], padded[i + 1]) for i in range(0, len(padded), 2))
            levels.append(level)
        return cls(tuple(levels))

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    @property
    def count(self) -> int:
        return len(self.levels[0])

    @property
    def commitment(self) -> bytes:
        return batch_commitment(self.root, self.count)

    def proof(self, index: int) -> list[bytes]:
        """The siblings from leaf ``index`` up to the root (a zero word where a level is odd)."""
        if not 0 <= index < self.count:
            raise ReceiptInvalid(f"leaf {index} is not in a batch of {self.count}")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            path.append(level[sibling] if sibling < len(level) else ZERO)
            index //= 2
        return path


def root_of_proof(receipt_digest: bytes, index: int, siblings: Sequence[bytes]) -> bytes:
    """The root that ``siblings`` lead to from leaf ``index`` holding the receipt."""
    node = leaf_hash(receipt_digest)
    for sibling in siblings:
        node = pair_hash(sibling, node) if index & 1 else pair_hash(node, sibling)
        index >>= 1
    return node


def verify_proof(
    receipt_digest: bytes, index: int, count: int, siblings: Sequence[bytes], commitment: bytes
) -> bool:
    """Whether the receipt is leaf ``index`` of the batch of ``count`` committed to.

    The contract's rule: ``0 <= index < count <= MAX_COUNT``, exactly ``depth(count)``
    siblings, and the walk's root with ``count`` hashes to ``commitment``.
    """
    if not (0 <= index < count <= MAX_COUNT) or len(siblings) != depth(count):
        return False
    root = root_of_proof(receipt_digest, index, siblings)
    return batch_commitment(root, count) == commitment
