"""The zk tier: an EZKL circuit per small model, proofs bound to receipts, verified in milliseconds.

A **zk artifact** is a content-addressed folder (UnixFS, in the blockstore)::

    cairn-zk.json   manifest: model CID, scales, head outputs, tail, tolerance, file digests
    head.onnx       the proven part of the model's graph
    settings.json   EZKL circuit settings (public inputs and outputs, fixed weights)
    vk.key          the verifying key — derived from head.onnx + settings + srs, deterministic
    srs             the KZG structured reference string the keys were made with

**Head and tail.** Trailing ``Softmax`` and ``ArgMax`` nodes (lookup-heavy in a
circuit, and pure functions of their input) are cut off; the circuit proves the
rest (for the digits classifier: ``Mul → MatMul → Add`` = the logits), and the
verifier recomputes the tail in float64 from the proven outputs.

**Binding** (docs/verification.md, "zk tier"): the *model* — the manifest names
the receipt's model CID and anyone can re-derive the vk from that model
(:func:`check_derivation`); the *input* — the proof's public input instances
must equal the receipt's input (the tensors that hash to ``inputHash``)
quantized at ``2^scale``; the *output* — the proof's public outputs, dequantized,
must agree with the tensors that hash to ``outputHash`` under :func:`compare`.
Any failure raises :class:`~cairn.errors.ZkError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cairn import content
from cairn.content import Blockstore, Cid
from cairn.errors import CairnError, ReceiptInvalid, ZkError
from cairn.inference import MODEL_FILE, Tensor, load_model
from cairn.receipts import Receipt, tensors_hash, wire
from cairn.verification.base import RetainedIO
from cairn.verification.zk import _ezkl
from cairn.verification.zk._graph import Tail, run_tail, split_graph

__all__ = [
    "MANIFEST",
    "ZkArtifact",
    "ZkProof",
    "check_derivation",
    "compare",
    "flat_inputs",
    "load_artifact",
    "load_artifacts",
    "model_policy",
    "record_artifact",
    "setup",
    "verify_proof",
]

MANIFEST, FORMAT, PROOF_FORMAT = "cairn-zk.json", "cairn-zk/v1", "cairn-zk-proof/v1"
FILES = ("head.onnx", "settings.json", "vk.key", "srs")
DEFAULT_SCALE = 12


@dataclass(frozen=True)
class ZkArtifact:
    """A loaded zk artifact: its manifest and files (``cid`` once stored)."""

    manifest: Mapping[str, Any]
    files: Mapping[str, bytes]
    cid: str | None = None

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    @property
    def vk_sha256(self) -> str:
        return str(self.manifest["sha256"]["vk.key"])

    @property
    def scale(self) -> int:
        return int(self.manifest["scale"])

    @property
    def tail(self) -> list[Tail]:
        return [Tail(**t) for t in self.manifest["tail"]]

    def store(self, store: Blockstore, folder: Path) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in {**self.files, MANIFEST: _manifest_bytes(self.manifest)}.items():
            (folder / name).write_bytes(data)
        return str(content.add_path(folder, store))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode()


def _model_onnx(model_cid: str, store: Blockstore) -> bytes:
    root = Cid.parse(model_cid)
    if content.stat(root, store).kind == "file":
        return content.read_bytes(root, store)
    return content.read_bytes(dict(content.list_directory(root, store))[MODEL_FILE], store)


def setup(
    model_cid: str,
    store: Blockstore,
    *,
    srs: bytes | None = None,
    scale: int = DEFAULT_SCALE,
    calibration: Sequence[npt.NDArray[Any]] = (),
) -> ZkArtifact:
    """Compile the model's head into a circuit, make its keys, calibrate the output tolerance.

    ``srs=None`` generates a development SRS locally (tests only: whoever made it
    can forge proofs); production passes a ceremony SRS with at least the
    circuit's ``logrows`` powers.
    """
    head, tail, inputs, outputs = split_graph(_model_onnx(model_cid, store))
    settings = _ezkl.write_settings(head, scale)
    parsed = json.loads(settings)
    logrows = int(parsed["run_args"]["logrows"])
    srs_bytes = srs if srs is not None else _ezkl.gen_srs(logrows)
    keys = _ezkl.compile_keys(head, settings, srs_bytes)
    try:
        out_scales = [int(s) for s in parsed["model_output_scales"]]
        atol = _calibrate(head, keys, out_scales, calibration, 2.0 ** -min(out_scales))
        files = {"head.onnx": head, "settings.json": settings, "vk.key": keys.vk, "srs": srs_bytes}
    finally:
        keys.close()
    manifest = {
        "format": FORMAT,
        "model": model_cid,
        "backend": "ezkl",
        "ezkl_version": _ezkl.VERSION,
        "scale": scale,
        "inputs": inputs,
        "logrows": logrows,
        "srs_kind": "dev" if srs is None else "supplied",
        "head_outputs": [{"name": n, "scale": s} for n, s in zip(outputs, out_scales, strict=True)],
        "tail": [t.__dict__ for t in tail],
        "output_atol": atol,
        "sha256": {n: _sha(d) for n, d in files.items()},
    }
    return ZkArtifact(manifest, files)


def _calibrate(
    head: bytes,
    keys: _ezkl.Keys,
    scales: list[int],
    samples: Sequence[npt.NDArray[Any]],
    floor: float,
) -> float:
    """4 × the largest |float − circuit| output deviation over ``samples``, at least 2 steps."""
    from cairn.inference import OnnxRuntime

    rt = OnnxRuntime(head)
    worst = 0.0
    for x in samples:
        arr = np.asarray(x, dtype=np.float32).reshape(1, -1)
        name = rt.inputs[0].name
        ref = rt.run({name: Tensor.from_numpy(arr)})
        got = _ezkl.witness_outputs(keys, [arr.reshape(-1).tolist()], scales)
        for spec, q in zip(rt.outputs, got, strict=True):
            f = np.asarray(ref[spec.name].to_numpy(), dtype=np.float64).reshape(-1)
            worst = max(worst, float(np.max(np.abs(f - np.asarray(q)))))
    return float(max(4 * worst, 2 * floor))


def load_artifact(cid: str, store: Blockstore) -> ZkArtifact:
    """An artifact by CID, every block verified and every file checked against the manifest."""
    try:
        entries = dict(content.list_directory(Cid.parse(cid), store))
        manifest = json.loads(content.read_bytes(entries[MANIFEST], store))
        files = {n: content.read_bytes(entries[n], store) for n in FILES}
    except (CairnError, KeyError, ValueError) as exc:
        raise ZkError(f"{cid} is not a readable zk artifact: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ZkError(f"{cid} is not a {FORMAT} artifact")
    for name, data in files.items():
        if _sha(data) != manifest["sha256"][name]:
            raise ZkError(f"zk artifact {cid}: {name} does not match its manifest digest")
    return ZkArtifact(manifest, files, cid)


def check_derivation(artifact: ZkArtifact, store: Blockstore) -> None:
    """Re-derive head and verifying key from the model the manifest names; raise if they differ."""
    head, *_rest = split_graph(_model_onnx(artifact.model, store))
    if head != artifact.files["head.onnx"]:
        raise ZkError(f"zk artifact's circuit is not the head of model {artifact.model}")
    keys = _ezkl.compile_keys(head, artifact.files["settings.json"], artifact.files["srs"])
    try:
        if _sha(keys.vk) != artifact.vk_sha256:
            raise ZkError(f"zk artifact's verifying key is not derived from model {artifact.model}")
    finally:
        keys.close()


@dataclass(frozen=True)
class ZkProof:
    """A proof attached to one receipt: ``GET /v1/receipts/{id}/zk`` serves its JSON."""

    request_id: bytes
    artifact: str
    proof: bytes

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "format": PROOF_FORMAT,
                "request_id": "0x" + self.request_id.hex(),
                "artifact": self.artifact,
                "proof": json.loads(self.proof),
            }
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ZkProof:
        try:
            obj = json.loads(raw)
            if obj.get("format") != PROOF_FORMAT:
                raise ValueError(f"not {PROOF_FORMAT}")
            return cls(
                bytes.fromhex(obj["request_id"].removeprefix("0x")),
                str(obj["artifact"]),
                json.dumps(obj["proof"]).encode(),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ZkError(f"malformed zk proof: {exc}") from None


def flat_inputs(tensors: Mapping[str, Tensor], names: Sequence[str]) -> list[list[float]]:
    return [np.asarray(tensors[n].to_numpy(), dtype=np.float64).reshape(-1).tolist() for n in names]


def verify_proof(
    proof: ZkProof,
    artifact: ZkArtifact,
    receipt: Receipt,
    io: RetainedIO,
    policy: Mapping[str, Any] | None = None,
) -> str:
    """Check ``proof`` proves ``receipt``; return why it does, raise :class:`ZkError` if not."""
    if artifact.model != receipt.model:
        raise ZkError(
            f"the circuit is for model {artifact.model}, the receipt names {receipt.model}"
        )
    if proof.request_id != receipt.request_id:
        raise ZkError("the proof is attached to another receipt")
    inputs, outputs = _io(io, receipt)
    files = artifact.files
    if not _ezkl.verify(proof.proof, files["settings.json"], files["vk.key"], files["srs"]):
        raise ZkError(
            f"the proof does not verify under the circuit's verifying key "
            f"(vk sha256 {artifact.vk_sha256[:16]}…)"
        )
    instances = _instances(proof.proof)
    names = [str(n) for n in artifact.manifest["inputs"]]
    if set(names) != set(inputs):
        raise ZkError(f"the receipt's inputs {sorted(inputs)} are not the circuit's {names}")
    flat = [v for row in flat_inputs(inputs, names) for v in row]
    if len(instances) < len(flat) or any(
        _ezkl.felt(v, artifact.scale) != f for v, f in zip(flat, instances, strict=False)
    ):
        raise ZkError("the proof is for another input than the receipt's inputHash covers")
    proven = _proven_outputs(artifact, instances[len(flat) :])
    problem = compare(artifact, proven, outputs, policy or {})
    if problem:
        raise ZkError(f"the proof's outputs disagree with the receipt's output: {problem}")
    atol = float(artifact.manifest["output_atol"])
    return f"zk proof verified (vk {artifact.vk_sha256[:16]}…, output atol {atol:.2g})"


def _io(io: RetainedIO, receipt: Receipt) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    try:
        call = wire.call_of_retained(io.input, "tensors")
        outputs = wire.outputs_of_retained(io.output)
    except ReceiptInvalid as exc:
        raise ZkError(str(exc)) from None
    if call.input_hash != receipt.input_hash or call.tensors is None:
        raise ZkError("the input does not hash to the receipt's inputHash")
    if tensors_hash(outputs) != receipt.output_hash:
        raise ZkError("the output does not hash to the receipt's outputHash")
    return dict(call.tensors), outputs


def _instances(proof: bytes) -> list[str]:
    try:
        rows = json.loads(proof)["instances"]
        return [str(f) for row in rows for f in row]
    except (ValueError, KeyError, TypeError) as exc:
        raise ZkError(f"malformed proof instances: {exc}") from None


def _proven_outputs(artifact: ZkArtifact, felts: list[str]) -> dict[str, npt.NDArray[np.float64]]:
    heads = artifact.manifest["head_outputs"]
    size = len(felts) // max(len(heads), 1)
    if size * len(heads) != len(felts) or not felts:
        raise ZkError("the proof's public outputs do not have the circuit's shape")
    return {
        h["name"]: np.array(
            [_ezkl.unfelt(f, int(h["scale"])) for f in felts[i * size : (i + 1) * size]]
        ).reshape(1, -1)
        for i, h in enumerate(heads)
    }


def compare(
    artifact: ZkArtifact,
    proven: Mapping[str, npt.NDArray[np.float64]],
    actual: Mapping[str, Tensor],
    policy: Mapping[str, Any],
) -> str:
    """ "" if the receipt's ``actual`` outputs are what the proven head outputs imply, else why.

    With ε = the artifact's ``output_atol`` and a = the model policy's ``atol`` (0 if none):
    a head output must be within ε + a of the proven value; a Softmax tail output within
    ε/2 + a of softmax(proven) (softmax is ½-Lipschitz in the max norm); an ArgMax tail
    output must name an index whose proven value is within 2ε of the maximum (a near-tie
    that quantization cannot decide accepts either side).
    """
    eps = float(artifact.manifest["output_atol"])
    a = float(policy.get("atol", 0.0))
    cut = {t.input for t in artifact.tail}  # proven, but not outputs of the model itself
    expected = {
        **{k: v for k, v in proven.items() if k not in cut},
        **run_tail(artifact.tail, proven),
    }
    if set(expected) != set(actual):
        return f"outputs {sorted(actual)}, the circuit implies {sorted(expected)}"
    kinds = {t.output: t.op for t in artifact.tail}
    for name, want in expected.items():
        got = np.asarray(actual[name].to_numpy(), dtype=np.float64)
        if kinds.get(name) == "ArgMax":
            logits = proven[next(t.input for t in artifact.tail if t.output == name)]
            picked = np.take_along_axis(logits, got.astype(np.int64).reshape(-1, 1), axis=-1)
            if got.shape != want.shape or np.any(picked[:, 0] < logits.max(axis=-1) - 2 * eps):
                return f"{name}: {got.tolist()} is not the argmax {want.tolist()} of the proof"
            continue
        bound = a + (eps / 2 if kinds.get(name) == "Softmax" else eps)
        if got.shape != want.shape or not np.all(np.abs(got - want) <= bound):
            return f"{name}: off by more than {bound:.3g} from the proof"
    return ""


def model_policy(model_cid: str, store: Blockstore) -> dict[str, Any]:
    return dict(load_model(model_cid, store).spec.policy)


def record_artifact(index: Path, model_cid: str, artifact_cid: str) -> None:
    """Remember ``model → artifact`` in a data dir's ``zk/index.json`` (what a node proves with)."""
    known = json.loads(index.read_bytes()) if index.is_file() else {}
    known[model_cid] = artifact_cid
    index.parent.mkdir(parents=True, exist_ok=True)
    tmp = index.with_suffix(".tmp")
    tmp.write_text(json.dumps(known, sort_keys=True, indent=2) + "\n")
    tmp.replace(index)


def load_artifacts(index: Path, store: Blockstore) -> dict[str, ZkArtifact]:
    """Every artifact recorded in ``index``, by model CID."""
    known: dict[str, str] = json.loads(index.read_bytes()) if index.is_file() else {}
    return {model: load_artifact(cid, store) for model, cid in known.items()}
