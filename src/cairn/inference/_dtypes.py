"""The dtypes and limits every tensor obeys, shared by the binary and JSON codecs."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from cairn.errors import TensorError, did_you_mean

__all__ = ["DTYPES", "MAX_ELEMENTS", "MAX_NDIM", "NONFINITE", "b64", "check_shape", "np_dtype"]

#: The allowed dtypes, by their canonical name, as little-endian numpy dtypes.
DTYPES: Mapping[str, np.dtype[Any]] = {
    name: np.dtype(name).newbyteorder("<")
    for name in (
        "float16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool",
    )
}
#: A bound on one tensor's element count, so that a hostile shape cannot exhaust memory.
MAX_ELEMENTS = 1 << 28
MAX_NDIM = 32
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def np_dtype(name: object) -> np.dtype[Any]:
    if not isinstance(name, str) or name not in DTYPES:
        hint = did_you_mean(name, DTYPES) if isinstance(name, str) else ""
        raise TensorError(f"unsupported dtype {name!r}{hint}; allowed: {', '.join(DTYPES)}")
    return DTYPES[name]


def check_shape(shape: object) -> int:
    if not isinstance(shape, tuple) or len(shape) > MAX_NDIM:
        raise TensorError(f"shape must be a tuple of at most {MAX_NDIM} dims, got {shape!r}")
    for dim in shape:
        if type(dim) is not int or dim < 0:
            raise TensorError(f"shape dims must be non-negative integers, got {shape!r}")
    size = math.prod(shape)
    if size > MAX_ELEMENTS:
        raise TensorError(f"tensor of {size} elements exceeds the limit of {MAX_ELEMENTS}")
    return size


def b64(text: str, name: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise TensorError(f"{name}: data is a string but not valid base64") from None
