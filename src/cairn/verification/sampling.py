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

from dataclasses import dataclass

from eth_hash.auto import keccak

__all__ = [
    "AuditPlan",
    "audit_seed",
    "detection_probability",
    "is_sampled",
    "plan_batch",
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
