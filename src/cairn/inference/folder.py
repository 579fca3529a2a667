"""The model folder: how a model is laid out on disk and as a UnixFS directory CID.

A model is published as one directory (DESIGN.md, "Content": a model is often a
folder), so that its CID pins the graph, the tokenizer and the serving contract
together::

    model.onnx          the ONNX graph (required)
    cairn-model.json    the serving contract (required in a folder; see ModelSpec)
    tokenizer.json      a Hugging Face ``tokenizers`` file (for text models)

A bare ``model.onnx`` file CID is also accepted: its contract is then read
from the graph's own signature, with kind ``generic`` and the ``exact`` policy.

``cairn-model.json`` is written with sorted keys, two-space indent and a
trailing newline, so the same contract always has the same bytes and CID.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cairn.content import Blockstore, Cid, list_directory, read_bytes, stat
from cairn.errors import CairnError, InferenceError, ModelNotFound
from cairn.inference._onnxruntime import OPT_LEVELS, OnnxRuntime
from cairn.inference.base import Runtime, TensorSpec
from cairn.inference.policies import parse_policy

__all__ = [
    "MODEL_FILE",
    "SPEC_FILE",
    "TOKENIZER_FILE",
    "Model",
    "ModelSpec",
    "is_built",
    "load_model",
    "load_model_files",
    "load_model_folder",
    "write_model_folder",
]

MODEL_FILE, SPEC_FILE, TOKENIZER_FILE = "model.onnx", "cairn-model.json", "tokenizer.json"
FORMAT = "cairn-model/v1"
KINDS = ("sentence-embedding", "classifier", "generic")


@dataclass(frozen=True)
class ModelSpec:
    """The contents of ``cairn-model.json``.

    ``policy`` is the output-comparison policy dict (see
    :mod:`cairn.inference.policies`); ``max_length`` the tokenizer's truncation
    length for text models; ``labels`` the class names of a classifier;
    ``source`` free-form notes on where the weights came from (digests, builder);
    ``opt_level`` the ONNX Runtime graph optimization level the model is served at
    when the loader is not told one (absent: ``basic``) — it changes no bytes of the
    graph, only which fused kernels run, and the runtime fingerprint records it.
    """

    name: str
    kind: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    policy: Mapping[str, Any] = field(default_factory=lambda: {"kind": "exact"})
    max_length: int | None = None
    labels: tuple[str, ...] | None = None
    source: Mapping[str, Any] = field(default_factory=dict)
    opt_level: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InferenceError(f"model kind {self.kind!r} is not one of {KINDS}")
        length = self.max_length
        if length is not None and (type(length) is not int or length < 1):
            raise InferenceError(f"max_length must be a positive integer, got {self.max_length!r}")
        if not isinstance(self.policy, Mapping):
            raise InferenceError(f"policy must be an object, got {self.policy!r:.60}")
        parse_policy(dict(self.policy))
        if self.opt_level is not None and self.opt_level not in OPT_LEVELS:
            raise InferenceError(
                f"opt_level is one of {sorted(OPT_LEVELS)}, not {self.opt_level!r}"
            )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "kind": self.kind,
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
            "policy": dict(self.policy),
            "source": dict(self.source),
        }
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.labels is not None:
            out["labels"] = list(self.labels)
        if self.opt_level is not None:
            out["opt_level"] = self.opt_level
        return out

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ModelSpec:
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict) or obj.get("format") != FORMAT:
                raise InferenceError(f"{SPEC_FILE} is not {FORMAT}")
            labels = obj.get("labels")
            return cls(
                name=str(obj["name"]),
                kind=str(obj["kind"]),
                inputs=tuple(TensorSpec.from_json(s) for s in obj["inputs"]),
                outputs=tuple(TensorSpec.from_json(s) for s in obj["outputs"]),
                policy=obj["policy"],
                max_length=obj.get("max_length"),
                labels=tuple(str(x) for x in labels) if labels is not None else None,
                source=dict(obj.get("source", {})),
                opt_level=obj.get("opt_level"),
            )
        except CairnError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise InferenceError(f"invalid {SPEC_FILE}: {exc}") from exc


@dataclass(frozen=True)
class Model:
    """A loaded model: its contract, a runtime, and the tokenizer file if it has one."""

    spec: ModelSpec
    runtime: Runtime
    tokenizer_json: bytes | None = None
    cid: Cid | None = None


def write_model_folder(
    out_dir: Path, model_onnx: bytes, spec: ModelSpec, tokenizer_json: bytes | None = None
) -> Path:
    """Write the folder (files only; an existing folder's files are replaced)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {MODEL_FILE: model_onnx, SPEC_FILE: spec.to_bytes()}
    if tokenizer_json is not None:
        files[TOKENIZER_FILE] = tokenizer_json
    for name, data in files.items():
        tmp = out_dir / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out_dir / name)  # a crash never leaves half a model.onnx
    return out_dir


def load_model_files(
    files: Mapping[str, bytes],
    *,
    threads: int = 1,
    opt_level: str | None = None,
    cid: Cid | None = None,
) -> Model:
    """A model from the folder's files by name (the core of every loader).

    ``opt_level`` None: the spec's own (``opt_level`` in ``cairn-model.json``), else ``basic``.
    """
    if MODEL_FILE not in files:
        raise ModelNotFound(f"the model folder has no {MODEL_FILE} (files: {sorted(files)})")
    declared = ModelSpec.from_bytes(files[SPEC_FILE]) if SPEC_FILE in files else None
    level = opt_level or (declared.opt_level if declared else None) or "basic"
    runtime = OnnxRuntime(files[MODEL_FILE], threads=threads, opt_level=level)
    if declared is not None:
        spec = declared
        _check_signature(spec, runtime)
    else:
        spec = ModelSpec(
            str(cid) if cid else "model", "generic", tuple(runtime.inputs), tuple(runtime.outputs)
        )
    return Model(spec, runtime, files.get(TOKENIZER_FILE), cid)


def load_model_folder(path: Path, *, threads: int = 1, opt_level: str | None = None) -> Model:
    """A model from a folder on disk."""
    if not (path / MODEL_FILE).is_file():
        raise ModelNotFound(f"no {MODEL_FILE} in {path}")
    names = (MODEL_FILE, SPEC_FILE, TOKENIZER_FILE)
    files = {n: (path / n).read_bytes() for n in names if (path / n).is_file()}
    return load_model_files(files, threads=threads, opt_level=opt_level)


def load_model(
    cid: Cid | str, store: Blockstore, *, threads: int = 1, opt_level: str | None = None
) -> Model:
    """A model by CID — a folder or a bare ``model.onnx`` — every block verified on read."""
    root = Cid.parse(cid) if isinstance(cid, str) else cid
    if not store.has(root):
        raise ModelNotFound(f"model {root} is not in the blockstore")
    if stat(root, store).kind == "file":
        files = {MODEL_FILE: read_bytes(root, store)}
    else:
        entries = dict(list_directory(root, store))
        wanted = (MODEL_FILE, SPEC_FILE, TOKENIZER_FILE)
        files = {n: read_bytes(entries[n], store) for n in wanted if n in entries}
    return load_model_files(files, threads=threads, opt_level=opt_level, cid=root)


def _check_signature(spec: ModelSpec, runtime: Runtime) -> None:
    declared = [(s.name, s.dtype) for s in (*spec.inputs, *spec.outputs)]
    actual = [(s.name, s.dtype) for s in (*runtime.inputs, *runtime.outputs)]
    if declared != actual:
        raise InferenceError(f"{SPEC_FILE} declares {declared}, the graph has {actual}")


def is_built(out_dir: Path, source: Mapping[str, str]) -> bool:
    """Whether ``out_dir`` already holds the model folder built from ``source`` (a cache check
    for builders: the spec records what the folder was built from)."""
    try:
        spec = ModelSpec.from_bytes((out_dir / SPEC_FILE).read_bytes())
    except (OSError, InferenceError):
        return False
    return dict(spec.source) == dict(source) and (out_dir / MODEL_FILE).is_file()
