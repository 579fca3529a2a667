"""The ONNX Runtime backend, configured for reproducible outputs.

Settings that make a run reproducible on one machine (ONNX Runtime docs,
"Threading" and "Graph optimizations"): a fixed intra-op thread count (default
1: a reduction split over N threads sums in an N-dependent order), one inter-op
thread, sequential execution, a fixed graph optimization level (``basic`` by
default: constant folding and redundant-node elimination only, no fusions whose
kernels round differently), ``use_deterministic_compute``, and the CPU provider
only. Spinning is off so an idle node does not burn a shared core.

This is the only module that imports ``onnxruntime``; its exceptions are
translated here into :class:`~cairn.errors.InferenceError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnxruntime as ort

from cairn.errors import InferenceError, TensorError
from cairn.inference.base import Runtime, TensorSpec, cpu_features
from cairn.inference.tensors import DTYPES, Tensor

__all__ = ["OPT_LEVELS", "OnnxRuntime"]

OPT_LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
# ONNX Runtime's type strings, e.g. "tensor(float)", to our dtype names.
_ORT_TYPES = {
    "tensor(float16)": "float16",
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
}


class OnnxRuntime(Runtime):
    """An ONNX model loaded from bytes into a deterministic CPU session.

    ``run`` may be called from several threads (ONNX Runtime sessions are
    thread-safe for inference).
    """

    def __init__(self, model: bytes, *, threads: int = 1, opt_level: str = "basic") -> None:
        if threads < 1:
            raise InferenceError(f"threads must be >= 1, got {threads}")
        if opt_level not in OPT_LEVELS:
            raise InferenceError(f"opt_level is one of {sorted(OPT_LEVELS)}, not {opt_level!r}")
        self.threads, self.opt_level = threads, opt_level
        try:
            self._session = ort.InferenceSession(
                model, self._options(), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            raise InferenceError(f"onnxruntime cannot load the model: {_first_line(exc)}") from exc
        self._inputs = tuple(_spec(a) for a in self._session.get_inputs())
        self._outputs = tuple(_spec(a) for a in self._session.get_outputs())

    def _options(self) -> ort.SessionOptions:
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = OPT_LEVELS[self.opt_level]
        so.use_deterministic_compute = True
        so.log_severity_level = 3
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return so

    @property
    def inputs(self) -> Sequence[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> Sequence[TensorSpec]:
        return self._outputs

    @property
    def fingerprint(self) -> str:
        return (
            f"onnxruntime/{ort.__version__} cpu={cpu_features()} ep=cpu intra={self.threads}"
            f" inter=1 exec=sequential opt={self.opt_level} deterministic=1"
        )

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        feed = {name: t.to_numpy() for name, t in inputs.items()}
        names = [s.name for s in self._outputs]
        try:
            results = self._session.run(names, feed)
        except Exception as exc:
            raise TensorError(f"onnxruntime rejected the inputs: {_first_line(exc)}") from exc
        return {n: Tensor.from_numpy(np.asarray(r)) for n, r in zip(names, results, strict=True)}


def _spec(arg: Any) -> TensorSpec:
    dtype = _ORT_TYPES.get(arg.type)
    if dtype is None or dtype not in DTYPES:
        raise InferenceError(f"model tensor {arg.name!r} has unsupported type {arg.type}")
    dims = tuple(d if isinstance(d, int | str) else None for d in arg.shape)
    return TensorSpec(arg.name, dtype, dims)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
