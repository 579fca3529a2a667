"""Re-executing one receipt under its model's comparison policy, and the evidence to dispute it.

An audit fetches the receipt's retained input and output from the node, checks
them against the ``inputHash`` and ``outputHash`` the node signed, runs the
model named by the receipt's CID (fetched and verified by CID, never by name),
and compares its own output with the node's under the model's declared policy
(:func:`cairn.inference.parse_policy`). Inputs are decoded exactly as the
gateway encoded them: ``/v1/embeddings`` retains the JSON list of texts,
``/v1/infer`` the tensors JSON (base64 data).

A node that does not hand over the input, or hands over bytes that do not hash
to what it signed, fails with :attr:`~cairn.chain.DisputeKind.NO_INPUT`; an
output the policy rejects fails with ``WRONG_OUTPUT``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cairn.chain import DisputeKind, Evidence
from cairn.content import Blockstore, Cid
from cairn.errors import CairnError, EvidenceMismatch, NodeUnavailable
from cairn.inference import (
    Embedder,
    Model,
    Policy,
    Tensor,
    load_model,
    parse_policy,
    tensors_from_json,
)
from cairn.receipts import MerkleTree, Receipt, tensors_hash, texts_hash
from cairn.verification.base import NodeSource, RetainedIO

if TYPE_CHECKING:
    from cairn.verification.zk.verifier import ZkVerifier

__all__ = ["Finding", "Reexecutor", "evidence_for"]

NO_HASH = b"\0" * 32


@dataclass(frozen=True)
class Finding:
    """The result of auditing one receipt. ``kind`` is None when the node was right."""

    receipt: Receipt
    kind: DisputeKind | None
    reason: str
    my_output_hash: bytes = NO_HASH

    @property
    def ok(self) -> bool:
        return self.kind is None


@dataclass(frozen=True)
class _Loaded:
    model: Model
    policy: Policy
    embedder: Embedder | None


class Reexecutor:
    """Runs audited receipts; models are fetched once into ``store`` and kept loaded."""

    def __init__(
        self, store: Blockstore, *, threads: int = 1, zk: ZkVerifier | None = None
    ) -> None:
        self.store = store
        self.threads = threads
        self.zk = zk  # with it, a valid attached proof replaces re-execution
        self._models: dict[str, _Loaded] = {}
        self._lock = threading.Lock()

    def load(self, cid: str, source: NodeSource) -> _Loaded:
        with self._lock:
            if cid not in self._models:
                root = Cid.parse(cid)
                if not self.store.has(root):
                    source.fetch_model(root, self.store)
                model = load_model(root, self.store, threads=self.threads)
                policy = parse_policy(dict(model.spec.policy) or {"kind": "exact"})
                embedder = Embedder(model) if model.spec.kind == "sentence-embedding" else None
                self._models[cid] = _Loaded(model, policy, embedder)
            return self._models[cid]

    def audit(self, receipt: Receipt, source: NodeSource) -> Finding:
        """Re-execute ``receipt``; NodeUnavailable only if the *model* cannot be had."""
        loaded = self.load(receipt.model, source)
        try:
            io = source.retained(receipt.request_id)
            inputs = _decode_input(loaded, io, receipt)
            theirs = _decode_output(io, receipt)
        except (NodeUnavailable, EvidenceMismatch) as exc:
            return Finding(receipt, DisputeKind.NO_INPUT, str(exc))
        proven = self.zk.try_verify(receipt, io, source) if self.zk is not None else None
        if proven is not None:
            return Finding(receipt, None, proven, receipt.output_hash)
        mine = self.run(loaded, inputs)
        verdict = loaded.policy.agrees(mine, theirs)
        if verdict:
            return Finding(receipt, None, verdict.reason, tensors_hash(mine))
        return Finding(receipt, DisputeKind.WRONG_OUTPUT, verdict.reason, tensors_hash(mine))

    @staticmethod
    def run(loaded: _Loaded, inputs: Any) -> dict[str, Tensor]:
        """The output exactly as the gateway would have returned it."""
        if loaded.embedder is not None:
            _tokens, outputs = loaded.embedder.run(inputs)
            name = loaded.embedder.output
            vectors = np.asarray(outputs[name].to_numpy(), dtype=np.float32)
            return {name: Tensor.from_numpy(vectors)}
        return loaded.model.runtime.run(inputs)


def _decode_input(loaded: _Loaded, io: RetainedIO, receipt: Receipt) -> Any:
    try:
        raw = json.loads(io.input)
        if loaded.embedder is not None:
            if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
                raise EvidenceMismatch("retained input is not a list of texts")
            value: Any = raw
            digest = texts_hash(raw)
        else:
            value = tensors_from_json(raw)
            digest = tensors_hash(value)
    except (ValueError, CairnError) as exc:
        raise EvidenceMismatch(f"retained input is malformed: {exc}") from None
    if digest != receipt.input_hash:
        raise EvidenceMismatch("retained input does not hash to the receipt's inputHash")
    return value


def _decode_output(io: RetainedIO, receipt: Receipt) -> dict[str, Tensor]:
    try:
        theirs = tensors_from_json(json.loads(io.output))
    except (ValueError, CairnError) as exc:
        raise EvidenceMismatch(f"retained output is malformed: {exc}") from None
    if tensors_hash(theirs) != receipt.output_hash:
        raise EvidenceMismatch("retained output does not hash to the receipt's outputHash")
    return theirs


def evidence_for(receipt: Receipt, members: list[Receipt], batch_id: int) -> Evidence:
    """The receipt, its signature and its inclusion proof, as the Disputes contract takes them."""
    if receipt.signature is None:
        raise EvidenceMismatch("receipt is not signed")
    ids = [r.request_id for r in members]
    if receipt.request_id not in ids:
        raise EvidenceMismatch("receipt is not in the batch")
    tree = MerkleTree.build([r.digest() for r in members])
    proof = tree.proof(ids.index(receipt.request_id))
    return Evidence(
        bytes(Cid.parse(receipt.model)),
        receipt.input_hash,
        receipt.output_hash,
        receipt.node,
        receipt.request_id,
        receipt.issued_at,
        receipt.runtime,
        receipt.price,
        receipt.signature.to_bytes(),
        batch_id,
        tuple(proof),
    )
