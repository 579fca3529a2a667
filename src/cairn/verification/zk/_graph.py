"""Splitting a model's ONNX graph into the head a circuit proves and the tail a verifier recomputes.

Softmax needs exponent lookups and ArgMax comparisons chained over the last
axis: in an EZKL circuit they cost more rows than a small model's MatMul. Both
are pure functions of their input, so a trailing Softmax or ArgMax (opset 13+
semantics: along the last axis; ArgMax with ``keepdims=0``, first index on
ties) whose input the head computes is cut off: its input becomes a public
output of the circuit, and :func:`run_tail` recomputes it in float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import helper

from cairn.errors import ZkError

__all__ = ["Tail", "run_tail", "split_graph"]

_TAIL_OPS = ("Softmax", "ArgMax")


@dataclass(frozen=True)
class Tail:
    """One cut-off node: ``output = op(input)`` along the last axis."""

    op: str
    input: str
    output: str


def _last_axis(node: onnx.NodeProto) -> bool:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("axis", -1) != -1:
        return False
    return node.op_type != "ArgMax" or (
        attrs.get("keepdims", 1) == 0 and attrs.get("select_last_index", 0) == 0
    )


def split_graph(model_onnx: bytes) -> tuple[bytes, list[Tail], list[str], list[str]]:
    """``(head.onnx bytes, tail, head input names, head output names)``."""
    try:
        model = onnx.load_from_string(model_onnx)
    except Exception as exc:
        raise ZkError(f"not an ONNX model: {exc}") from None
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # keep going: the head output is declared without a shape
        inferred = model
    g = model.graph
    graph_outputs = {o.name for o in g.output}
    produced = {out for n in g.node for out in n.output}
    tail = [
        n
        for n in g.node
        if n.op_type in _TAIL_OPS
        and len(n.output) == 1
        and n.output[0] in graph_outputs
        and n.input[0] in produced
        and _last_axis(n)
    ]
    cut = {n.output[0] for n in tail}
    head_nodes = [n for n in g.node if n not in tail]
    outs: list[str] = []
    for name in [o.name for o in g.output if o.name not in cut] + [n.input[0] for n in tail]:
        if name not in outs:
            outs.append(name)
    values = {v.name: v for v in (*inferred.graph.value_info, *g.output)}
    out_infos = [
        values[n] if n in values else helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
        for n in outs
    ]
    head_graph = helper.make_graph(
        head_nodes, g.name, list(g.input), out_infos, initializer=list(g.initializer)
    )
    head = helper.make_model(
        head_graph, opset_imports=list(model.opset_import), producer_name="cairn.verification.zk"
    )
    head.ir_version = model.ir_version
    return (
        head.SerializeToString(deterministic=True),
        [Tail(n.op_type, n.input[0], n.output[0]) for n in tail],
        [i.name for i in g.input],
        outs,
    )


def run_tail(
    tail: list[Tail], values: Mapping[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[Any]]:
    """The cut-off outputs, from the head's (proven) outputs."""
    out: dict[str, npt.NDArray[Any]] = {}
    for t in tail:
        x = np.asarray(values[t.input], dtype=np.float64)
        if t.op == "Softmax":
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            out[t.output] = e / e.sum(axis=-1, keepdims=True)
        else:
            out[t.output] = np.argmax(x, axis=-1)
    return out
