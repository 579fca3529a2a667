"""Audit sampling: which receipts of an anchored batch validators re-execute.

The sample is drawn from the hash of the block *after* the one that anchored
the root, so the node cannot know it when it signs or anchors (DESIGN.md,
"Verification"). Every validator computes the same sample from public data, and
the node can check afterwards that it was audited fairly:

- ``seed = keccak256(blockhash(anchorBlock + 1) || node (20 bytes) || batchId (uint256))``
- the node's receipts are numbered in anchor order (the count of every earlier
  ``Anchored`` event of that node, plus the leaf index); the first
  ``full_audit_receipts`` of them are always sampled (new nodes at 100%);
- after that, leaf ``i`` is sampled iff
  ``uint256(keccak256(seed || uint256(i))) * 1e6 < rate_ppm * 2**256``.

Both parameters are read from the Disputes contract. A cheater that lies on a
fraction ``f`` of requests is caught within ``n`` requests with probability
``1 - (1 - p·f)^n`` (:func:`detection_probability`); :func:`simulate_detection`
checks that by Monte Carlo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_hash.auto import keccak

from cairn.errors import EvidenceMismatch

if TYPE_CHECKING:
    from cairn.chain import Anchor, Chain, DisputeParams

__all__ = [
    "AuditPlan",
    "audit_seed",
    "detection_probability",
    "is_sampled",
    "plan_batch",
    "plan_for_anchor",
    "requests_to_detect",
    "simulate_detection",
]

_SPACE = 1 << 256
_PPM = 1_000_000


def audit_seed(next_block_hash: bytes, node: str, batch_id: int) -> bytes:
    """The batch's seed, from the hash of the block after its anchor."""
    return bytes(
        keccak(
            next_block_hash + bytes.fromhex(node.removeprefix("0x")) + batch_id.to_bytes(32, "big")
        )
    )


def is_sampled(seed: bytes, leaf: int, rate_ppm: int) -> bool:
    draw = int.from_bytes(keccak(seed + leaf.to_bytes(32, "big")), "big")
    return draw * _PPM < rate_ppm * _SPACE


@dataclass(frozen=True)
class AuditPlan:
    """The sampled leaves of one anchored batch."""

    node: str
    batch_id: int
    seed: bytes
    leaves: tuple[int, ...]


def plan_batch(
    next_block_hash: bytes,
    node: str,
    batch_id: int,
    count: int,
    first_index: int,
    rate_ppm: int,
    full_audit_receipts: int,
) -> AuditPlan:
    """Which of the batch's ``count`` leaves to audit; ``first_index`` numbers its first leaf."""
    seed = audit_seed(next_block_hash, node, batch_id)
    leaves = tuple(
        i
        for i in range(count)
        if first_index + i < full_audit_receipts or is_sampled(seed, i, rate_ppm)
    )
    return AuditPlan(node, batch_id, seed, leaves)


def plan_for_anchor(
    chain: Chain,
    anchor: Anchor,
    params: DisputeParams,
    history: Sequence[Anchor] | None = None,
) -> AuditPlan | None:
    """The sample of one anchored batch, as every validator and reputation reader draws it.

    ``None`` until the block after the anchor exists. The node's receipts are
    numbered in chain order of its ``Anchored`` events; ``history`` is that list
    (read from the chain when not given). Each count is the one the anchored
    commitment binds (``ReceiptAnchor``): no leaf at or past it has a proof.
    """
    if chain.head() < anchor.block_number + 1:
        return None
    anchors = chain.anchor.anchors(anchor.node) if history is None else history
    first = 0
    for earlier in anchors:
        if (earlier.block_number, earlier.batch_id) == (anchor.block_number, anchor.batch_id):
            break
        first += earlier.receipt_count
    else:
        raise EvidenceMismatch(f"batch {anchor.batch_id} is not among {anchor.node}'s anchors")
    return plan_batch(
        chain.block_hash(anchor.block_number + 1),
        anchor.node,
        anchor.batch_id,
        anchor.receipt_count,
        first,
        params.audit_rate_ppm,
        params.full_audit_receipts,
    )


def detection_probability(p: float, f: float, n: int) -> float:
    """P(at least one of ``n`` requests is both wrong and sampled) = 1 - (1 - p·f)^n."""
    return 1.0 - (1.0 - p * f) ** n


def requests_to_detect(p: float, f: float, target: float = 0.99) -> int:
    """The smallest ``n`` with detection probability at least ``target``."""
    import math

    return math.ceil(math.log(1.0 - target) / math.log(1.0 - p * f))


def simulate_detection(
    p: float, f: float, n: int, trials: int, seed: int = 0
) -> tuple[float, list[int]]:
    """Monte Carlo: the fraction of trials caught within ``n`` requests, and when each was.

    Each request is wrong with probability ``f`` and sampled with probability ``p``,
    independently; a trial is caught at its first wrong, sampled request.
    Geometric draws keep this fast: the gap to the next caught request is
    geometric with parameter ``p·f``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    first = rng.geometric(p * f, size=trials)
    caught = [int(x) for x in first if x <= n]
    return len(caught) / trials, caught
