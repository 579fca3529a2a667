"""Receipts: every answer signed (EIP-712), batched into keccak Merkle roots, anchored.

Public surface: :class:`Receipt`, :class:`ReceiptDomain`, :class:`MerkleTree`,
:func:`verify_proof`, :func:`batch_commitment`, :class:`Batcher`, :class:`SqliteReceiptStore`,
:func:`verify_offline`, :func:`verify_online`, :class:`InclusionProof`,
:func:`texts_hash`, :func:`tensors_hash`; :mod:`cairn.receipts.wire` — how a call
becomes the bytes and hashes a receipt binds (the one owner of that rule).
"""

from cairn.receipts._sqlite import SqliteReceiptStore
from cairn.receipts.base import Anchorer, Batch, ReceiptStore, StoredReceipt
from cairn.receipts.batcher import Batcher
from cairn.receipts.merkle import (
    MAX_COUNT,
    MerkleTree,
    batch_commitment,
    leaf_hash,
    pair_hash,
    verify_proof,
)
from cairn.receipts.receipt import RECEIPT_TYPES, Receipt, ReceiptDomain
from cairn.receipts.verify import InclusionProof, verify_offline, verify_online
from cairn.receipts.wire import Call, tensors_hash, texts_hash

__all__ = [
    "MAX_COUNT",
    "RECEIPT_TYPES",
    "Anchorer",
    "Batch",
    "Batcher",
    "Call",
    "InclusionProof",
    "MerkleTree",
    "Receipt",
    "ReceiptDomain",
    "ReceiptStore",
    "SqliteReceiptStore",
    "StoredReceipt",
    "batch_commitment",
    "leaf_hash",
    "pair_hash",
    "tensors_hash",
    "texts_hash",
    "verify_offline",
    "verify_online",
    "verify_proof",
]
