"""all-MiniLM-L6-v2-int8: the float32 MiniLM with its feed-forward layers in int8.

A derived model is a new artifact (its own folder, CID and comparison policy);
the node publishes it with the float32 model's CID as its base model and this
module's evaluation against that base in the card's ``evaluations``.

The scheme (:mod:`cairn.inference._int8`): int8 weights per output channel,
uint8 activations per token, exact int32 sums. Only the two feed-forward layers
of each block (two thirds of the model's multiply-adds) are quantized; the
attention projections stay float32 — chosen on development sentences, not on
the held-out set: every linear layer in int8 moved a two-token text to cosine
0.984 against float32 (mean pooling over [CLS] and [SEP] averages no error
away), the feed-forward layers alone to 0.991. On the held-out texts the
symmetric activations first tried reached 0.986 (the GELU output is one-sided);
asymmetric ones reach 0.9939 (mean 0.99926).

Its policy is its own: validators compare an int8 answer with an int8
re-execution, not with float32. Integer sums are exact and a token's codes
depend on that token only, so thread count and batch composition change an
embedding by at most 6e-15 (1 - cosine, held-out texts; bitwise equal across
1 and 2 threads at batch 1). Another graph optimization level flips a code
here and there: 1 - 5.9e-5 at worst (``basic`` against ``extended``). The
threshold 0.9995 leaves 8x that for other CPUs, and still refuses a typical
float32 answer (1 - 7.5e-4 on average) and any perturbation beyond it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cairn.errors import InferenceError
from cairn.inference.folder import (
    MODEL_FILE,
    SPEC_FILE,
    TOKENIZER_FILE,
    ModelSpec,
    is_built,
    write_model_folder,
)
from cairn.inference.minilm import MINILM_NAME, Embedder

__all__ = [
    "EVALUATION_BOUND",
    "MINILM_INT8_NAME",
    "MINILM_INT8_POLICY",
    "build_minilm_int8",
    "evaluate_against_base",
    "evaluation_bytes",
    "heldout_texts",
]

MINILM_INT8_NAME = f"{MINILM_NAME}-int8"
MINILM_INT8_POLICY = {"kind": "cosine", "min": 0.9995}
#: The quality bound against the float32 base: worst cosine over the held-out texts.
EVALUATION_BOUND = 0.99
_BUILDER = "cairn.inference.minilm_int8/2"
_KEEP_FLOAT = ("q", "k", "v", "attn_out")  # attention projections (names from _bert)
_HELDOUT = "minilm-heldout.json"


def _float_layers(layers: int) -> list[str]:
    return [f"encoder.layer.{i}/{kind}/matmul" for i in range(layers) for kind in _KEEP_FLOAT]


def build_minilm_int8(out_dir: Path, float_dir: Path) -> Path:
    """Write the int8 folder into ``out_dir`` from the float32 folder (rebuilt only if stale)."""
    graph = (float_dir / MODEL_FILE).read_bytes()
    base = ModelSpec.from_bytes((float_dir / SPEC_FILE).read_bytes())
    if base.name != MINILM_NAME:
        raise InferenceError(f"{float_dir} holds {base.name}, not {MINILM_NAME}")
    source = {
        "builder": _BUILDER,
        "base": MINILM_NAME,
        "base_model_onnx_sha256": hashlib.sha256(graph).hexdigest(),
        "scheme": "int8 weights per output channel, uint8 activations per token; ffn only",
    }
    if is_built(out_dir, source):
        return out_dir
    import onnx  # build-time only: serving needs ONNX Runtime, not onnx (0.5 s of imports)

    from cairn.inference._int8 import quantize_linear_layers

    model = onnx.load_from_string(graph)
    layers = sum(1 for n in model.graph.node if n.name.endswith("/ffn_in/matmul"))
    quantized = quantize_linear_layers(
        model, exclude=_float_layers(layers), producer_version=_BUILDER
    )
    spec = ModelSpec(
        name=MINILM_INT8_NAME,
        kind=base.kind,
        inputs=base.inputs,
        outputs=base.outputs,
        policy=MINILM_INT8_POLICY,
        max_length=base.max_length,
        source=source,
        opt_level="extended",  # fuses GELU and the attention scale: +30% here, same bytes
    )
    tokenizer = (float_dir / TOKENIZER_FILE).read_bytes()
    return write_model_folder(out_dir, quantized.SerializeToString(), spec, tokenizer)


def heldout_texts() -> list[str]:
    """The held-out texts the quality bound is measured on (bundled; never used for tuning)."""
    path = importlib.resources.files("cairn.inference") / "bundled" / _HELDOUT
    texts = json.loads(path.read_bytes())["texts"]
    return [str(t) for t in texts]


def _cosines(a: np.ndarray, b: np.ndarray) -> npt.NDArray[np.float64]:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return np.asarray((a64 * b64).sum(1) / norms, dtype=np.float64)


def evaluate_against_base(
    derived: Embedder, base: Embedder, texts: Sequence[str] | None = None
) -> dict[str, Any]:
    """The evaluation document: per-text cosine of ``derived`` against ``base`` (one by one).

    Figures are rounded to 6 decimals so the document's bytes (and CID) do not
    follow float noise below what the bound is about.
    """
    chosen = list(heldout_texts() if texts is None else texts)
    cos = np.concatenate([_cosines(derived.embed([t]), base.embed([t])) for t in chosen])
    worst = float(cos.min())
    return {
        "kind": "cosine-against-base",
        "model": derived.model.spec.name,
        "base": base.model.spec.name,
        "texts": len(chosen),
        "texts_sha256": hashlib.sha256(json.dumps(chosen).encode()).hexdigest(),
        "worst_cosine": round(worst, 6),
        "mean_cosine": round(float(cos.mean()), 6),
        "bound": EVALUATION_BOUND,
        "passed": worst >= EVALUATION_BOUND,
    }


def evaluation_bytes(doc: dict[str, Any]) -> bytes:
    """The canonical bytes of an evaluation document (sorted keys, trailing newline)."""
    return (json.dumps(doc, sort_keys=True, indent=2) + "\n").encode()
