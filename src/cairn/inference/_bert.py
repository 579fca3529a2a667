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
- padding removed from the token-wise work (the "remove padding" layout of
  NVIDIA FasterTransformer's BERT and ONNX Runtime's packed attention): after
  the embeddings, the rows of real tokens are gathered into one ``[tokens,
  hidden]`` matrix, so every linear layer, LayerNorm and GELU runs on real
  tokens only; attention scatters them back into ``[batch, seq]`` (padded rows
  zero, masked as before) and gathers its context out again. Each row's
  arithmetic is what the padded graph does for it; a batch of short texts of
  mixed length no longer pays for the longest one (on held-out texts at batch
  64, 1.57 padded rows per real one);
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


@dataclass(frozen=True, slots=True)
class _Packing:
    """Names of the index tensors that move rows between padded and packed layouts.

    ``keep`` [tokens]: the flat ``batch·seq`` positions of real tokens, in order.
    ``slot`` [batch·seq]: for each flat position, 1 + its row in the packed
    matrix, or 0 for padding (row 0 of the table it indexes is zeros).
    ``batch_seq`` [2]: ``(batch, seq)``; ``shape4d`` [4]: ``(batch, seq, heads, head_dim)``.
    """

    keep: str
    slot: str
    batch_seq: str
    shape4d: str


def _packing(g: _Graph, cfg: BertConfig) -> _Packing:
    flat_shape = g.const("const/flat", [-1], np.int64)
    flat = g.op("Reshape", ["attention_mask", flat_shape], "pack/flat")
    real_bool = g.op("Cast", [flat], "pack/real_bool", to=TensorProto.BOOL)
    real = g.op("Cast", [real_bool], "pack/real", to=TensorProto.INT64)  # any nonzero: 1
    keep = g.op("Reshape", [g.op("NonZero", [real], "pack/nonzero"), flat_shape], "pack/keep")
    rank = g.op("CumSum", [real, g.const("const/axis0", 0, np.int64)], "pack/rank")
    slot = g.op("Mul", [rank, real], "pack/slot")
    batch_seq = g.op("Shape", ["attention_mask"], "pack/batch_seq")
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    heads_dim = g.const("const/heads_dim", [cfg.num_attention_heads, head_dim], np.int64)
    shape4d = g.op("Concat", [batch_seq, heads_dim], "pack/shape4d", axis=0)
    return _Packing(keep, slot, batch_seq, shape4d)


def _pack(g: _Graph, x: str, pk: _Packing, cfg: BertConfig, out: str) -> str:
    """``[batch, seq, hidden]`` (or its heads split) → ``[tokens, hidden]``."""
    rows = g.const("const/rows", [-1, cfg.hidden_size], np.int64)
    flat = g.op("Reshape", [x, rows], f"{out}/rows")
    return g.op("Gather", [flat, pk.keep], out, axis=0)


def _unpack(g: _Graph, x: str, pk: _Packing, cfg: BertConfig, out: str) -> str:
    """``[tokens, hidden]`` → ``[batch·seq, hidden]``, padded rows zero."""
    zero = g.const("const/zero_row", np.zeros((1, cfg.hidden_size)))
    table = g.op("Concat", [zero, x], f"{out}/table", axis=0)
    return g.op("Gather", [table, pk.slot], out, axis=0)


def _heads(g: _Graph, x: str, pk: _Packing, cfg: BertConfig, perm: list[int], out: str) -> str:
    padded = _unpack(g, x, pk, cfg, f"{out}/padded")
    return g.op(
        "Transpose", [g.op("Reshape", [padded, pk.shape4d], f"{out}/split")], out, perm=perm
    )


def _attention(g: _Graph, x: str, bias: str, pk: _Packing, cfg: BertConfig, p: str) -> str:
    """Self-attention of the packed tokens ``x`` [tokens, hidden], in the padded layout."""
    q = _heads(
        g, g.linear(x, f"{p}.attention.self.query", f"{p}/q"), pk, cfg, [0, 2, 1, 3], f"{p}/qh"
    )
    k = _heads(
        g, g.linear(x, f"{p}.attention.self.key", f"{p}/k"), pk, cfg, [0, 2, 3, 1], f"{p}/kt"
    )
    v = _heads(
        g, g.linear(x, f"{p}.attention.self.value", f"{p}/v"), pk, cfg, [0, 2, 1, 3], f"{p}/vh"
    )
    scale = g.const("const/attn_scale", 1.0 / np.sqrt(cfg.hidden_size // cfg.num_attention_heads))
    scores = g.op("Mul", [g.op("MatMul", [q, k], f"{p}/qk"), scale], f"{p}/scores")
    probs = g.op("Softmax", [g.op("Add", [scores, bias], f"{p}/masked")], f"{p}/probs", axis=-1)
    ctx = g.op(
        "Transpose", [g.op("MatMul", [probs, v], f"{p}/ctx")], f"{p}/ctx_t", perm=[0, 2, 1, 3]
    )
    merged = _pack(g, ctx, pk, cfg, f"{p}/merged")
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
    pk = _packing(g, cfg)
    x = _pack(g, _embeddings(g, cfg), pk, cfg, "pack/emb")
    for i in range(cfg.num_hidden_layers):
        p = f"encoder.layer.{i}"
        x = _feed_forward(g, _attention(g, x, bias, pk, cfg, p), cfg, p)
    padded = g.op(
        "Reshape",
        [
            _unpack(g, x, pk, cfg, "pool/rows"),
            g.op(
                "Concat",
                [pk.batch_seq, g.const("const/hidden", [cfg.hidden_size], np.int64)],
                "pool/shape3d",
                axis=0,
            ),
        ],
        "pool/tokens",
    )
    _mean_pool_normalize(g, padded)
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
