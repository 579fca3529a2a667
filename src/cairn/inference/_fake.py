"""An in-memory runtime: the fake beside the port, for tests of the layers that build on it.

It runs a plain Python function over numpy arrays, so a receipts or gateway test
can have a model without ONNX Runtime, and can make a "cheating" node by
swapping the function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cairn.errors import InferenceError
from cairn.inference.base import Runtime, TensorSpec
from cairn.inference.tensors import Tensor

__all__ = ["FakeRuntime"]

Arrays = Mapping[str, npt.NDArray[Any]]


class FakeRuntime(Runtime):
    """A runtime over ``fn(inputs) -> outputs`` on numpy arrays.

    >>> spec = [TensorSpec("x", "float32", (None,))], [TensorSpec("y", "float32", (None,))]
    >>> rt = FakeRuntime(lambda x: {"y": x["x"] * 2}, *spec)
    >>> rt.run({"x": Tensor.from_numpy(np.ones(2, np.float32))})["y"].to_numpy().tolist()
    [2.0, 2.0]
    """

    def __init__(
        self,
        fn: Callable[[Arrays], Arrays],
        inputs: Sequence[TensorSpec],
        outputs: Sequence[TensorSpec],
        *,
        name: str = "fake",
    ) -> None:
        self._fn, self._inputs, self._outputs, self._name = fn, tuple(inputs), tuple(outputs), name
        self.calls = 0

    @property
    def inputs(self) -> Sequence[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> Sequence[TensorSpec]:
        return self._outputs

    @property
    def fingerprint(self) -> str:
        return f"cairn-fake/1 model={self._name}"

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        self.calls += 1
        produced = self._fn({k: v.to_numpy() for k, v in inputs.items()})
        out: dict[str, Tensor] = {}
        for spec in self._outputs:
            if spec.name not in produced:
                raise InferenceError(f"fake model produced no output {spec.name!r}")
            out[spec.name] = Tensor.from_numpy(np.asarray(produced[spec.name], dtype=spec.dtype))
        return out
