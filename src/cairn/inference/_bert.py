"""A BERT encoder with mean pooling, written as an ONNX graph from safetensors weights.

Why by hand: serving must not need PyTorch, and an exporter (torch.onnx) would
make the graph depend on the exporter's version. Building it from the weights
with the ``onnx`` helper API gives the same bytes every time, so the model's CID
is stable across machines and releases.

The graph follows BERT (Devlin et al. 2019, "BERT: Pre-training of Deep
Bidirectional Transformers", section 3 and the reference ``modeling.py``) as
Hugging Face's ``BertModel`` computes it, in the same order of operations:

- embeddings: word + token-type (always type 0: one sentence) + absolute
  position, then LayerNorm;
- per layer: self-attention (Vaswani et al. 2017, "Attention Is All You Need",
  section 3.2.1: softmax(QKᵀ/√d)V) with an additive mask of float32's minimum
  on padded keys, output projection, residual + LayerNorm; then the
  feed-forward block with exact (erf) GELU (Hendrycks & Gimpel 2016), residual
  + LayerNorm;
- sentence-transformers' pooling (Reimers & Gurevych 2019, "Sentence-BERT",
  section 3, MEAN strategy): the mean of the token embeddings over the
  attention mask (the count clamped at 1e-9), then L2 normalization as
  ``torch.nn.functional.normalize`` does (the norm clamped at 1e-12).

Opset 17 (LayerNormalization is a single op from 17 on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["BertConfig", "bert_mean_pooling_graph"]

OPSET = 17
_F32_MIN = float(np.finfo(np.float32).min)


@dataclass(frozen=True, slots=True)
class BertConfig:
    """The few config.json fields the graph depends on."""

    hidden_size: int
    num_attention_heads: int
    num_hidden_layers: int
    layer_norm_eps: float

    @classmethod
    def from_json(cls, cfg: Mapping[str, Any]) -> BertConfig:
        position = cfg.get("position_embedding_type", "absolute")
        if cfg.get("hidden_act") != "gelu" or position != "absolute":
            raise ValueError("only BERT with exact GELU and absolute positions is supported")
        return cls(
            int(cfg["hidden_size"]),
            int(cfg["num_attention_heads"]),
            int(cfg["num_hidden_layers"]),
            float(cfg["layer_norm_eps"]),
        )


class _Graph:
    """Accumulates nodes and initializers with unique, readable names."""

    def __init__(self, weights: Mapping[str, npt.NDArray[Any]]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def const(self, name: str, value: npt.ArrayLike, dtype: Any = np.float32) -> str:
        if name not in self._names:
            self._names.add(name)
            self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        w = np.asarray(self.weights[key], dtype=np.float32)
        return self.const(key, np.ascontiguousarray(w.T) if transpose else w)

    def op(self, op_type: str, inputs: list[str], out: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x: str, prefix: str, out: str) -> str:
        """``x @ Wᵀ + b`` for a torch ``nn.Linear`` stored as ``prefix.weight/bias``."""
        w = self.weight(f"{prefix}.weight", transpose=True)
        mm = self.op("MatMul", [x, w], f"{out}/matmul")
        return self.op("Add", [mm, self.weight(f"{prefix}.bias")], out)

    def layer_norm(self, x: str, prefix: str, eps: float, out: str) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")],
            out,
            axis=-1,
            epsilon=eps,
        )


def _embeddings(g: _Graph, cfg: BertConfig) -> str:
    table = g.weight("embeddings.word_embeddings.weight")
    words = g.op("Gather", [table, "input_ids"], "emb/words")
    type0 = g.const("emb/type0", g.weights["embeddings.token_type_embeddings.weight"][0])
    with_type = g.op("Add", [words, type0], "emb/with_type")
    seq = g.op("Shape", ["input_ids"], "emb/seq_len", start=1, end=2)
    zero = g.const("const/zero_1d", [0], np.int64)
    positions = g.op(
        "Slice",
        [g.weight("embeddings.position_embeddings.weight"), zero, seq, zero],
        "emb/positions",
    )
    summed = g.op("Add", [with_type, positions], "emb/sum")
    return g.layer_norm(summed, "embeddings.LayerNorm", cfg.layer_norm_eps, "emb/out")


def _mask_bias(g: _Graph) -> str:
    """[batch, 1, 1, seq]: 0 where attended, float32 min where padded (as HF does)."""
    mask = g.op("Cast", ["attention_mask"], "mask/float", to=TensorProto.FLOAT)
    inverted = g.op("Sub", [g.const("const/one", 1.0), mask], "mask/inverted")
    bias = g.op("Mul", [inverted, g.const("const/f32_min", _F32_MIN)], "mask/bias")
    return g.op("Unsqueeze", [bias, g.const("const/axes_1_2", [1, 2], np.int64)], "mask/bias4d")


def _heads(g: _Graph, x: str, cfg: BertConfig, perm: list[int], out: str) -> str:
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    shape = g.const("const/split_heads", [0, 0, cfg.num_attention_heads, head_dim], np.int64)
    return g.op("Transpose", [g.op("Reshape", [x, shape], f"{out}/split")], out, perm=perm)


def _attention(g: _Graph, x: str, bias: str, cfg: BertConfig, p: str) -> str:
    q = _heads(g, g.linear(x, f"{p}.attention.self.query", f"{p}/q"), cfg, [0, 2, 1, 3], f"{p}/qh")
    k = _heads(g, g.linear(x, f"{p}.attention.self.key", f"{p}/k"), cfg, [0, 2, 3, 1], f"{p}/kt")
    v = _heads(g, g.linear(x, f"{p}.attention.self.value", f"{p}/v"), cfg, [0, 2, 1, 3], f"{p}/vh")
    scale = g.const("const/attn_scale", 1.0 / np.sqrt(cfg.hidden_size // cfg.num_attention_heads))
    scores = g.op("Mul", [g.op("MatMul", [q, k], f"{p}/qk"), scale], f"{p}/scores")
    probs = g.op("Softmax", [g.op("Add", [scores, bias], f"{p}/masked")], f"{p}/probs", axis=-1)
    ctx = g.op(
        "Transpose", [g.op("MatMul", [probs, v], f"{p}/ctx")], f"{p}/ctx_t", perm=[0, 2, 1, 3]
    )
    merged = g.op(
        "Reshape",
        [ctx, g.const("const/merge_heads", [0, 0, cfg.hidden_size], np.int64)],
        f"{p}/merged",
    )
    dense = g.linear(merged, f"{p}.attention.output.dense", f"{p}/attn_out")
    residual = g.op("Add", [dense, x], f"{p}/attn_residual")
    eps = cfg.layer_norm_eps
    return g.layer_norm(residual, f"{p}.attention.output.LayerNorm", eps, f"{p}/attn_ln")


def _feed_forward(g: _Graph, x: str, cfg: BertConfig, p: str) -> str:
    h = g.linear(x, f"{p}.intermediate.dense", f"{p}/ffn_in")
    erf = g.op(
        "Erf",
        [g.op("Div", [h, g.const("const/sqrt2", np.sqrt(2.0))], f"{p}/gelu_div")],
        f"{p}/gelu_erf",
    )
    gate = g.op("Add", [erf, g.const("const/one", 1.0)], f"{p}/gelu_1p")
    gelu = g.op(
        "Mul", [g.op("Mul", [h, gate], f"{p}/gelu_mul"), g.const("const/half", 0.5)], f"{p}/gelu"
    )
    out = g.linear(gelu, f"{p}.output.dense", f"{p}/ffn_out")
    residual = g.op("Add", [out, x], f"{p}/ffn_residual")
    return g.layer_norm(residual, f"{p}.output.LayerNorm", cfg.layer_norm_eps, f"{p}/out")


def _mean_pool_normalize(g: _Graph, tokens: str) -> str:
    mask = g.op(
        "Unsqueeze",
        [
            g.op("Cast", ["attention_mask"], "pool/mask_f", to=TensorProto.FLOAT),
            g.const("const/axes_neg1", [-1], np.int64),
        ],
        "pool/mask3d",
    )
    axis1 = g.const("const/axes_1", [1], np.int64)
    summed = g.op(
        "ReduceSum", [g.op("Mul", [tokens, mask], "pool/masked"), axis1], "pool/sum", keepdims=0
    )
    count = g.op(
        "Max",
        [
            g.op("ReduceSum", [mask, axis1], "pool/count_raw", keepdims=0),
            g.const("const/count_eps", 1e-9),
        ],
        "pool/count",
    )
    mean = g.op("Div", [summed, count], "pool/mean")
    norm = g.op("ReduceL2", [mean], "pool/norm_raw", axes=[1], keepdims=1)  # attr until opset 18
    norm = g.op("Max", [norm, g.const("const/norm_eps", 1e-12)], "pool/norm")
    return g.op("Div", [mean, norm], "sentence_embedding")


def bert_mean_pooling_graph(
    weights: Mapping[str, npt.NDArray[Any]], cfg: BertConfig, *, name: str, producer_version: str
) -> onnx.ModelProto:
    """The ONNX model: ``input_ids``, ``attention_mask`` → ``sentence_embedding``."""
    g = _Graph(weights)
    bias = _mask_bias(g)
    x = _embeddings(g, cfg)
    for i in range(cfg.num_hidden_layers):
        p = f"encoder.layer.{i}"
        x = _feed_forward(g, _attention(g, x, bias, cfg, p), cfg, p)
    _mean_pool_normalize(g, x)
    ids = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
        for n in ("input_ids", "attention_mask")
    ]
    out = helper.make_tensor_value_info(
        "sentence_embedding", TensorProto.FLOAT, ["batch", cfg.hidden_size]
    )
    graph = helper.make_graph(g.nodes, name, ids, [out], initializer=g.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="cairn",
        producer_version=producer_version,
    )
    model.ir_version = 8  # ONNX 1.10+; readable by every onnxruntime we support
    onnx.checker.check_model(model)
    return model
