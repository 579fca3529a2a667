"""Int8 weights and per-token int8 activations for a float32 ONNX graph's linear layers.

Why by hand, not ``onnxruntime.quantization.quantize_dynamic``: its output bytes
depend on the installed onnxruntime (shape inference, opset updates), so the
quantized model's CID would change with a library upgrade; and its activations
are quantized per *tensor*, so one text's embedding would depend on the other
texts in its batch — a validator re-executing one request could not reproduce
an answer computed in a batch. Here every ``MatMul`` whose right operand is a
2-D float32 initializer ``W [K, N]`` becomes:

- weights: symmetric int8 per output channel (per column of ``W``):
  ``s_w[n] = max|W[:, n]| / 127``, ``Wq = round(W / s_w)``;
- activations: asymmetric uint8 per token (per row of ``X``), computed in the
  graph: ``s_x = (max x - min x) / 255``, zero point ``z = -round(min x / s_x)``
  (a GELU output is far from symmetric; symmetric codes lost half their range);
- ``MatMulInteger`` without zero points, so ONNX Runtime takes its u8×s8 path
  (VNNI on x86); the per-row zero point is taken out afterwards with the
  weight's column sums: ``y = (float(acc) - z · Σ_k Wq[k, n]) · s_w · s_x``.
  Integer sums are exact: no summation-order rounding.

This is the scheme of LLM.int8() without its outlier split (Dettmers et al.
2022, "LLM.int8()", section 3.1, vector-wise quantization) and of ONNX's
``MatMulInteger`` (ONNX operator docs, opset 10). A token's output depends on
that token alone, so embeddings do not depend on batch composition, and the
graph is rebuilt byte for byte from the same float32 graph.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["quantize_linear_layers"]


def _weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Wq int8 [K, N], s_w float32 [N])``, symmetric per output column."""
    amax = np.abs(w).max(axis=0).astype(np.float32)
    scale = np.where(amax > 0, amax / np.float32(127), np.float32(1)).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


class _Rewriter:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.inits = {t.name: t for t in model.graph.initializer}
        self.new_inits: list[onnx.TensorProto] = []
        self.quantized: dict[str, tuple[str, str, str]] = {}
        self.nodes: list[onnx.NodeProto] = []
        self.shared_added = False

    def const(self, name: str, value: np.ndarray) -> str:
        self.new_inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], out: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def shared(self) -> None:
        if not self.shared_added:
            self.shared_added = True
            for name, value in (("q8/0", 0), ("q8/255", 255), ("q8/tiny", 1e-30)):
                self.const(name, np.array(value, np.float32))

    def activation(self, x: str) -> tuple[str, str, str]:
        """Per-token quantization of ``x``: ``(uint8 codes, scale, zero point)``, shared by
        every layer that reads ``x``."""
        if x not in self.quantized:
            self.shared()
            p = f"{x}/q8"
            low = self.op("ReduceMin", [x], f"{p}/min", axes=[-1])
            high = self.op("ReduceMax", [x], f"{p}/max", axes=[-1])
            span = self.op("Sub", [high, low], f"{p}/span_raw")
            span = self.op("Max", [span, "q8/tiny"], f"{p}/span")
            inv = self.op("Div", ["q8/255", span], f"{p}/inv_scale")
            zero = self.op("Round", [self.op("Mul", [low, inv], f"{p}/low_scaled")], f"{p}/low_q")
            zero = self.op("Neg", [zero], f"{p}/zero_point")
            scaled = self.op("Round", [self.op("Mul", [x, inv], f"{p}/scaled")], f"{p}/round")
            shifted = self.op("Add", [scaled, zero], f"{p}/shifted")
            clipped = self.op("Clip", [shifted, "q8/0", "q8/255"], f"{p}/clipped")
            q = self.op("Cast", [clipped], f"{p}/u8", to=TensorProto.UINT8)
            scale = self.op("Div", [span, "q8/255"], f"{p}/scale")
            self.quantized[x] = (q, scale, zero)
        return self.quantized[x]

    def matmul(self, node: onnx.NodeProto) -> None:
        x, w_name = node.input
        wq, w_scale = _weight(numpy_helper.to_array(self.inits[w_name]))
        colsum = wq.astype(np.int32).sum(axis=0).astype(np.float32)  # exact: |sum| < 2**24
        q, x_scale, zero = self.activation(x)
        p = node.output[0]
        acc = self.op("MatMulInteger", [q, self.const(f"{w_name}/q8", wq)], f"{p}/q8_acc")
        wide = self.op("Cast", [acc], f"{p}/q8_float", to=TensorProto.FLOAT)
        offset = self.op("Mul", [zero, self.const(f"{w_name}/q8_colsum", colsum)], f"{p}/q8_offset")
        exact = self.op("Sub", [wide, offset], f"{p}/q8_exact")
        by_w = self.op("Mul", [exact, self.const(f"{w_name}/q8_scale", w_scale)], f"{p}/q8_w")
        self.op("Mul", [by_w, x_scale], p)


def _is_linear(node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> bool:
    if node.op_type != "MatMul" or node.input[1] not in inits:
        return False
    w = inits[node.input[1]]
    return len(w.dims) == 2 and w.data_type == TensorProto.FLOAT


def quantize_linear_layers(
    model: onnx.ModelProto, *, exclude: Collection[str] = (), producer_version: str
) -> onnx.ModelProto:
    """A new model with every linear ``MatMul`` (except nodes named in ``exclude``) in int8."""
    rw = _Rewriter(model)
    replaced: set[str] = set()
    for node in model.graph.node:
        if _is_linear(node, rw.inits) and node.name not in exclude:
            rw.matmul(node)
            replaced.add(node.input[1])
        else:
            rw.nodes.append(node)
    graph = model.graph
    kept = [t for t in graph.initializer if t.name not in replaced]
    out = helper.make_graph(
        rw.nodes, graph.name, graph.input, graph.output, initializer=[*kept, *rw.new_inits]
    )
    quantized = helper.make_model(
        out,
        opset_imports=list(model.opset_import),
        producer_name=model.producer_name,
        producer_version=producer_version,
    )
    quantized.ir_version = model.ir_version
    onnx.checker.check_model(quantized)
    return quantized
