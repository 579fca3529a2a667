"""Re-executing one receipt under its model's comparison policy, and the evidence to dispute it.

An audit fetches the receipt's retained input and output from the node, checks
them against the ``inputHash`` and ``outputHash`` the node signed, runs the
model named by the receipt's CID (fetched and verified by CID, never by name),
and compares its own output with the node's under the model's declared policy
(:func:`cairn.inference.parse_policy`). A call's bytes and hashes are the
ones :mod:`cairn.receipts.wire` defines, the same module the gateway signs with.

A node that does not hand over the input, or hands over bytes that do not hash
to what it signed, fails with :attr:`~cairn.chain.DisputeKind.NO_INPUT`; an
output the policy rejects fails with ``WRONG_OUTPUT``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cairn.chain import DisputeKind, Evidence
from cairn.content import Blockstore, Cid
from cairn.errors import EvidenceMismatch, NodeUnavailable, ReceiptInvalid
from cairn.inference import (
    Embedder,
    Model,
    Policy,
    Tensor,
    load_model,
    parse_policy,
)
from cairn.receipts import MerkleTree, Receipt, tensors_hash, wire
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
            call = _decode_input(loaded, io, receipt)
            theirs = _decode_output(io, receipt)
        except (NodeUnavailable, EvidenceMismatch) as exc:
            return Finding(receipt, DisputeKind.NO_INPUT, str(exc))
        proven = self.zk.try_verify(receipt, io, source) if self.zk is not None else None
        if proven is not None:
            return Finding(receipt, None, proven, receipt.output_hash)
        mine = self.run(loaded, call)
        verdict = loaded.policy.agrees(mine, theirs)
        if verdict:
            return Finding(receipt, None, verdict.reason, tensors_hash(mine))
        return Finding(receipt, DisputeKind.WRONG_OUTPUT, verdict.reason, tensors_hash(mine))

    @staticmethod
    def run(loaded: _Loaded, call: wire.Call) -> dict[str, Tensor]:
        """The output exactly as the gateway returned it (:mod:`cairn.receipts.wire`)."""
        if loaded.embedder is not None and call.texts is not None:
            _tokens, outputs = loaded.embedder.run(call.texts)
            return wire.embedding_outputs(outputs[loaded.embedder.output].to_numpy())
        if call.tensors is None:
            raise EvidenceMismatch("a text call to a model that takes tensors")
        return loaded.model.runtime.run(call.tensors)


def _decode_input(loaded: _Loaded, io: RetainedIO, receipt: Receipt) -> wire.Call:
    kind: wire.Kind = "text" if loaded.embedder is not None else "tensors"
    try:
        call = wire.call_of_retained(io.input, kind)
    except ReceiptInvalid as exc:
        raise EvidenceMismatch(str(exc)) from None
    if call.input_hash != receipt.input_hash:
        raise EvidenceMismatch("retained input does not hash to the receipt's inputHash")
    return call


def _decode_output(io: RetainedIO, receipt: Receipt) -> dict[str, Tensor]:
    try:
        theirs = wire.outputs_of_retained(io.output)
    except ReceiptInvalid as exc:
        raise EvidenceMismatch(str(exc)) from None
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
    index = ids.index(receipt.request_id)
    return Evidence(receipt, batch_id, index, tree.count, tuple(tree.proof(index)))
