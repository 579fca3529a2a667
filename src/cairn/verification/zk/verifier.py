"""Auditing with a zk proof instead of re-execution: what validators and jurors run.

When the node serves a proof for a sampled receipt (``GET /v1/receipts/{id}/zk``),
:class:`ZkVerifier` checks it instead of re-running the model: it fetches the
artifact the proof names by CID (every block verified), refuses an SRS it was
not told to trust, re-derives the verifying key from the receipt's model once
per artifact (so a node cannot pass off a circuit of another model), and
verifies the proof and its binding to the receipt's input and output
(:func:`cairn.verification.zk.verify_proof`). A valid proof is objective: a
juror votes "not guilty" on it whatever the challenger claims. A missing or
invalid proof changes nothing — the receipt is re-executed as before.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cairn.content import Blockstore, Cid
from cairn.errors import NodeUnavailable, ZkError
from cairn.receipts import Receipt
from cairn.verification.base import NodeSource, RetainedIO

__all__ = ["ZkVerifier"]

log = logging.getLogger(__name__)


class ZkVerifier:
    """Verifies node-attached proofs. ``trusted_srs``: SRS sha256 digests to accept (None: any,
    for development networks whose SRS was generated locally)."""

    def __init__(self, store: Blockstore, *, trusted_srs: set[str] | None = None) -> None:
        self.store = store
        self.trusted_srs = trusted_srs
        self._artifacts: dict[str, Any] = {}
        self._lock = threading.Lock()

    def artifact(self, cid: str, source: NodeSource | None = None) -> Any:
        """The artifact, fetched if needed, its SRS trusted and its vk re-derived (once)."""
        from cairn.verification import zk

        with self._lock:
            if cid not in self._artifacts:
                root = Cid.parse(cid)
                if not self.store.has(root) and source is not None:
                    source.fetch_model(root, self.store)
                art = zk.load_artifact(cid, self.store)
                srs = art.manifest["sha256"]["srs"]
                if self.trusted_srs is not None and srs not in self.trusted_srs:
                    raise ZkError(f"zk artifact {cid} uses an untrusted SRS (sha256 {srs[:16]}…)")
                model = Cid.parse(art.model)
                if not self.store.has(model) and source is not None:
                    source.fetch_model(model, self.store)
                zk.check_derivation(art, self.store)
                self._artifacts[cid] = art
            return self._artifacts[cid]

    def verify(
        self, receipt: Receipt, io: RetainedIO, raw_proof: bytes, source: NodeSource | None = None
    ) -> str:
        """Why the proof proves ``receipt``; :class:`ZkError` if it does not."""
        from cairn.verification import zk

        proof = zk.ZkProof.from_bytes(raw_proof)
        art = self.artifact(proof.artifact, source)
        return zk.verify_proof(proof, art, receipt, io, zk.model_policy(art.model, self.store))

    def try_verify(self, receipt: Receipt, io: RetainedIO, source: NodeSource) -> str | None:
        """The reason a served proof proves ``receipt``, or None (no proof, or not a valid one)."""
        try:
            raw = source.zk_proof(receipt.request_id)
            if raw is None:
                return None
            return self.verify(receipt, io, raw, source)
        except (ZkError, NodeUnavailable) as exc:
            log.info("zk proof of 0x%s not accepted: %s", receipt.request_id.hex(), exc)
            return None
