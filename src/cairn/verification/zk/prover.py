"""Proving receipts off the request path: a prover per zk artifact and a node's background queue.

The gateway answers and signs as before; for a model with a zk artifact it
only drops ``(receipt, input)`` into :class:`ProvingQueue` (a ``put`` on an
in-memory queue). One worker thread hands each receipt to a prover *process*
(ezkl's native calls hold the GIL: proving in a thread of the gateway process
would stall its requests for the length of a proof) and writes each
proof as ``<dir>/<request id hex>.json`` (atomically), where
``GET /v1/receipts/{id}/zk`` finds it. A crash loses only queued work: the
receipt stays valid without a proof, and is audited by re-execution instead.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import queue
import threading
from collections.abc import Mapping
from pathlib import Path

from cairn.errors import CairnError, ZkError
from cairn.inference import Tensor
from cairn.receipts import Receipt, tensors_hash
from cairn.verification.zk import _ezkl
from cairn.verification.zk.artifact import ZkArtifact, ZkProof, flat_inputs

__all__ = ["ProvingQueue", "ZkProver"]

log = logging.getLogger(__name__)


class ZkProver:
    """Proves one artifact's circuit; the proving key is made once (deterministic) and kept."""

    def __init__(self, artifact: ZkArtifact) -> None:
        if artifact.cid is None:
            raise ZkError("store the zk artifact (it needs a CID) before proving with it")
        self.artifact = artifact
        self._keys: _ezkl.Keys | None = None
        self._lock = threading.Lock()

    def prove(self, receipt: Receipt, inputs: Mapping[str, Tensor]) -> ZkProof:
        if receipt.model != self.artifact.model:
            raise ZkError(f"the circuit is for model {self.artifact.model}, not {receipt.model}")
        if tensors_hash(inputs) != receipt.input_hash:
            raise ZkError("the input does not hash to the receipt's inputHash")
        names = [str(n) for n in self.artifact.manifest["inputs"]]
        with self._lock:
            if self._keys is None:
                f = self.artifact.files
                self._keys = _ezkl.compile_keys(f["head.onnx"], f["settings.json"], f["srs"])
            proof = _ezkl.prove(self._keys, flat_inputs(inputs, names))
        return ZkProof(receipt.request_id, str(self.artifact.cid), proof)

    def close(self) -> None:
        with self._lock:
            if self._keys is not None:
                self._keys.close()
                self._keys = None


_CHILD_PROVERS: dict[str, ZkProver] = {}


def _prove_in_child(artifact: ZkArtifact, receipt: Receipt, inputs: Mapping[str, Tensor]) -> bytes:
    """Runs in the prover process; keys are made once per artifact and kept there."""
    key = str(artifact.cid)
    if key not in _CHILD_PROVERS:
        _CHILD_PROVERS[key] = ZkProver(artifact)
    return _CHILD_PROVERS[key].prove(receipt, inputs).to_bytes()


class ProvingQueue:
    """A node's background prover: ``submit`` is O(1); proofs land in ``directory``."""

    def __init__(self, directory: Path, artifacts: Mapping[str, ZkArtifact]) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.provers = {model: ZkProver(a) for model, a in artifacts.items()}
        self._queue: queue.Queue[tuple[Receipt, Mapping[str, Tensor]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.failures = 0
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def enabled(self, model_cid: str) -> bool:
        return model_cid in self.provers

    def submit(self, receipt: Receipt, inputs: Mapping[str, Tensor]) -> None:
        """Queue a receipt of a zk-enabled model (others are ignored); never blocks."""
        if receipt.model not in self.provers:
            return
        self._queue.put((receipt, inputs))
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._work, name="cairn-zk-prover", daemon=True
                    )
                    self._thread.start()

    def get(self, request_id: bytes) -> bytes | None:
        """The proof's JSON (:meth:`ZkProof.to_bytes`), or None if not (yet) proven."""
        path = self._path(request_id)
        return path.read_bytes() if path.is_file() else None

    def pending(self) -> int:
        return self._queue.qsize()

    def join(self) -> None:
        """Wait until every queued receipt is proven (tests, benchmarks)."""
        self._queue.join()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        for prover in self.provers.values():
            prover.close()

    def _path(self, request_id: bytes) -> Path:
        return self.directory / f"{request_id.hex()}.json"

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                receipt, inputs = item
                if self._pool is None:
                    self._pool = concurrent.futures.ProcessPoolExecutor(
                        1, mp_context=multiprocessing.get_context("spawn")
                    )
                art = self.provers[receipt.model].artifact
                proof = self._pool.submit(_prove_in_child, art, receipt, dict(inputs)).result()
                tmp = self._path(receipt.request_id).with_suffix(".tmp")
                tmp.write_bytes(proof)
                tmp.replace(self._path(receipt.request_id))
            except (CairnError, OSError, concurrent.futures.process.BrokenProcessPool) as exc:
                self.failures += 1
                log.warning("zk proof failed: %s", exc)
            finally:
                self._queue.task_done()
