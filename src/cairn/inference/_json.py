"""The strict JSON parser for tensors at the HTTP edge (format in :mod:`cairn.inference.tensors`).

Every malformed input — a wrong key, a float where an int belongs, a value out of
the dtype's range, a length that does not match the shape, bad base64 — raises
:class:`~cairn.errors.TensorError` naming the tensor and the problem, so a gateway
can answer 4xx with the message as it is. Nothing is silently cast or truncated.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from cairn.errors import TensorError
from cairn.inference._dtypes import NONFINITE, b64, check_shape
from cairn.inference._dtypes import np_dtype as _np_dtype

__all__ = ["parse_tensor"]

_Array = np.ndarray[Any, Any]
_KEYS = {"dtype", "shape", "data"}


def parse_tensor(obj: object, name: str) -> tuple[str, tuple[int, ...], bytes]:
    """Parse one ``{"dtype", "shape", "data"}`` object into a tensor's dtype, shape and
    little-endian bytes (the :class:`~cairn.inference.Tensor` checks them once more)."""
    if not isinstance(obj, dict):
        raise TensorError(f"{name}: expected an object with dtype, shape, data")
    if set(obj) != _KEYS:
        missing, extra = sorted(_KEYS - set(obj)), sorted(str(k) for k in set(obj) - _KEYS)
        raise TensorError(f"{name}: missing keys {missing}, unknown keys {extra}")
    dtype = obj["dtype"]
    np_dtype = _np_dtype(dtype)
    shape = _parse_shape(obj["shape"], name)
    data = obj["data"]
    if isinstance(data, str):
        return str(dtype), shape, b64(data, name)
    if not isinstance(data, list):
        raise TensorError(f"{name}: data must be a list or a base64 string")
    flat = _flatten(data, shape, name)
    array = _convert(flat, str(dtype), np_dtype, name)
    return str(dtype), shape, array.tobytes()


def _parse_shape(shape: object, name: str) -> tuple[int, ...]:
    if not isinstance(shape, list) or any(type(d) is not int for d in shape):
        raise TensorError(f"{name}: shape must be a list of integers, got {shape!r:.80}")
    dims = tuple(shape)
    check_shape(dims)
    return dims


def _flatten(data: list[Any], shape: tuple[int, ...], name: str) -> list[Any]:
    """Accept a flat list of prod(shape) scalars, or lists nested exactly as the shape."""
    size = math.prod(shape)
    if len(data) == size and not any(isinstance(v, list) for v in data):
        return data
    if not shape:
        raise TensorError(f"{name}: a scalar tensor's data is a list of one value")
    out: list[Any] = []
    _walk(data, shape, 0, out, name)
    return out


def _walk(data: object, shape: tuple[int, ...], depth: int, out: list[Any], name: str) -> None:
    if depth == len(shape):
        if isinstance(data, list):
            raise TensorError(f"{name}: data is nested deeper than shape {list(shape)}")
        out.append(data)
        return
    if not isinstance(data, list) or len(data) != shape[depth]:
        got = len(data) if isinstance(data, list) else type(data).__name__
        raise TensorError(
            f"{name}: data does not match shape {list(shape)}: expected {shape[depth]}"
            f" items at depth {depth}, got {got}"
        )
    for item in data:
        _walk(item, shape, depth + 1, out, name)


def _convert(values: list[Any], dtype: str, np_dtype: np.dtype[Any], name: str) -> _Array:
    if dtype == "bool":
        if any(type(v) is not bool for v in values):
            raise TensorError(f"{name}: bool data must be true or false")
        return np.array(values, dtype=np_dtype)
    if np_dtype.kind in "iu":
        info = np.iinfo(np_dtype)
        for v in values:
            if type(v) is not int:
                raise TensorError(f"{name}: {dtype} data must be integers, got {v!r:.40}")
            if not info.min <= v <= info.max:
                raise TensorError(f"{name}: {v} is out of range for {dtype}")
        return np.array(values, dtype=np_dtype)
    return _convert_floats(values, dtype, np_dtype, name)


def _convert_floats(values: list[Any], dtype: str, np_dtype: np.dtype[Any], name: str) -> _Array:
    floats: list[float] = []
    for v in values:
        if isinstance(v, str) and v in NONFINITE:
            floats.append(NONFINITE[v])
        elif type(v) in (int, float):
            try:
                floats.append(float(v))
            except OverflowError:
                raise TensorError(f"{name}: {v} is out of range for {dtype}") from None
        else:
            raise TensorError(f"{name}: {dtype} data must be numbers, got {v!r:.40}")
    wide = np.array(floats, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        narrow = wide.astype(np_dtype)
    if np.any(np.isinf(narrow) & np.isfinite(wide)):
        raise TensorError(f"{name}: a value is out of range for {dtype}")
    return narrow
