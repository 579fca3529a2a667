"""The runtime port: named tensors in, named tensors out, and a fingerprint for receipts.

One method (``run``) and one property (``fingerprint``). The input checks are
written once here — names, dtypes, ranks and fixed dimensions against the
model's declared signature — so every backend rejects the same bad requests
with the same :class:`~cairn.errors.TensorError`; a backend fills in ``_run``.

The fingerprint is what a receipt's ``runtime`` field carries: the engine and
its version, the CPU architecture and the instruction-set extensions the
engine's kernels dispatch on (ONNX Runtime's MLAS picks AVX2, AVX-512 or AMX
code paths at start-up, and those round differently), the thread counts and
the graph optimization level. Two nodes with equal fingerprints should produce
bit-identical outputs; a validator with a different one should use the model's
tolerant policy.
"""

from __future__ import annotations

import platform
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cairn.errors import TensorError
from cairn.inference.tensors import DTYPES, Tensor

__all__ = ["Runtime", "TensorSpec", "WrappedRuntime", "cpu_features"]

Dim = int | str | None

# The x86 and Arm extensions that change which numeric kernels run.
_FEATURES = (
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",
    "asimddp",
    "sve",
    "sve2",
    "i8mm",
    "bf16",
)


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A declared input or output: name, dtype, and dims (int fixed, str/None symbolic).

    >>> TensorSpec("input_ids", "int64", ("batch", "sequence")).to_json()
    {'name': 'input_ids', 'dtype': 'int64', 'shape': ['batch', 'sequence']}
    """

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    def check(self, tensor: Tensor) -> None:
        """Raise :class:`TensorError` unless ``tensor`` fits this spec."""
        if tensor.dtype != self.dtype:
            raise TensorError(f"{self.name}: dtype {tensor.dtype}, expected {self.dtype}")
        fits = len(tensor.shape) == len(self.shape) and all(
            not isinstance(want, int) or want == got
            for want, got in zip(self.shape, tensor.shape, strict=True)
        )
        if not fits:
            got, want = list(tensor.shape), list(self.shape)
            raise TensorError(f"{self.name}: shape {got}, expected {want}")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, obj: Any) -> TensorSpec:
        if not isinstance(obj, dict) or set(obj) != {"name", "dtype", "shape"}:
            raise TensorError(f"a tensor spec has exactly name, dtype, shape: {obj!r:.80}")
        name, dtype, shape = obj["name"], obj["dtype"], obj["shape"]
        if not isinstance(name, str) or dtype not in DTYPES or not isinstance(shape, list):
            raise TensorError(f"invalid tensor spec {obj!r:.80}")
        if any(not (d is None or isinstance(d, str) or (type(d) is int and d >= 0)) for d in shape):
            raise TensorError(f"{name}: dims are non-negative ints, names or null")
        return cls(name, dtype, tuple(shape))


class Runtime(ABC):
    """Runs one loaded model. Thread-safety is the backend's to state."""

    @property
    @abstractmethod
    def inputs(self) -> Sequence[TensorSpec]: ...

    @property
    @abstractmethod
    def outputs(self) -> Sequence[TensorSpec]: ...

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Engine, version, CPU features, threads, optimization level — one line."""

    def run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Check ``inputs`` against the signature, run, and return every declared output."""
        specs = {s.name: s for s in self.inputs}
        if set(inputs) != set(specs):
            raise TensorError(f"inputs {sorted(inputs)}, expected {sorted(specs)}")
        for name, spec in specs.items():
            spec.check(inputs[name])
        return self._run(inputs)

    @abstractmethod
    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]: ...


class WrappedRuntime(Runtime):
    """A runtime around another: same signature and fingerprint, ``_run`` to override.

    For layers on top of a model (caches, meters) and for the test doubles that
    inject faults; a subclass calls ``self.inner.run`` for the real answer.
    """

    def __init__(self, inner: Runtime) -> None:
        self.inner = inner

    @property
    def inputs(self) -> Sequence[TensorSpec]:
        return self.inner.inputs

    @property
    def outputs(self) -> Sequence[TensorSpec]:
        return self.inner.outputs

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return self.inner.run(inputs)


@cache
def cpu_features() -> str:
    """``arch:feat1,feat2,..`` — the machine and the kernel-relevant ISA extensions."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                flags.update(value.split())
    except OSError:
        pass  # not Linux: the architecture alone
    return f"{platform.machine().lower()}:" + ",".join(f for f in _FEATURES if f in flags)
