"""Canonical tensors: one byte string per tensor, so input and output hashes are well defined.

A receipt binds a model's answer to ``inputHash`` and ``outputHash`` (DESIGN.md,
"Receipts"); a validator recomputes both. That only works if every party turns
the same tensor into the same bytes, whatever its numpy strides, byte order or
JSON spelling. This module defines those bytes.

Canonical encoding of one tensor, ``cairn-tensor/v1`` (all integers little-endian)::

    b"cairn-tensor/v1\\0"        16 bytes, magic and version
    u8   len(dtype)              then the dtype name in ASCII, e.g. b"float32"
    u32  ndim                    then ndim dims, each a u64
    data                         prod(dims) * itemsize bytes, C order, little-endian
                                 (bool: one byte, 0x00 or 0x01)

Named tensors (a request or a response), ``cairn-tensors/v1``::

    b"cairn-tensors/v1\\0"       17 bytes
    u32  count
    per tensor, sorted by the UTF-8 bytes of its name:
        u32 len(name), name (UTF-8), u64 len(encoding), encoding (as above)

The hash is sha256 of those bytes, written ``0x`` + 64 hex digits (a bytes32, as
EIP-712 receipts carry it). Floats are hashed as stored: ``-0.0`` and ``0.0``, or
two NaN payloads, are different bytes — tolerant comparison is the business of
:mod:`cairn.inference.policies`, not of the hash.

At the HTTP edge a tensor is JSON: ``{"dtype": "float32", "shape": [2, 3],
"data": [...]}`` where ``data`` is either a list (flat in C order, or nested to
match the shape; non-finite floats as the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"``) or a base64 string of the little-endian bytes. Only base64
is bit-exact for every value: a list carries any NaN as the quiet NaN. Parsing
is strict: anything else raises :class:`~cairn.errors.TensorError`.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cairn.errors import TensorError
from cairn.inference._dtypes import DTYPES, MAX_ELEMENTS, MAX_NDIM, check_shape
from cairn.inference._dtypes import np_dtype as _np_dtype
from cairn.inference._json import parse_tensor

__all__ = [
    "DTYPES",
    "MAX_ELEMENTS",
    "Tensor",
    "decode_tensors",
    "encode_tensors",
    "hash_tensors",
    "tensors_from_json",
    "tensors_to_json",
]

TENSOR_MAGIC = b"cairn-tensor/v1\x00"
TENSORS_MAGIC = b"cairn-tensors/v1\x00"


@dataclass(frozen=True, slots=True)
class Tensor:
    """An immutable tensor: dtype name, shape, and its little-endian C-order bytes.

    >>> t = Tensor.from_numpy(np.array([[1, 2]], dtype=np.int64))
    >>> (t.dtype, t.shape, len(t.data))
    ('int64', (1, 2), 16)
    >>> Tensor.decode(t.encode()) == t
    True
    """

    dtype: str
    shape: tuple[int, ...]
    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            raise TensorError(f"tensor data must be bytes, got {type(self.data).__name__}")
        np_dtype = _np_dtype(self.dtype)
        size = check_shape(self.shape)
        if len(self.data) != size * np_dtype.itemsize:
            raise TensorError(
                f"{self.dtype}{list(self.shape)} needs {size * np_dtype.itemsize} bytes,"
                f" got {len(self.data)}"
            )
        if self.dtype == "bool" and self.data.translate(None, b"\x00\x01"):
            raise TensorError("bool tensor bytes must be 0x00 or 0x01")

    @classmethod
    def from_numpy(cls, array: npt.ArrayLike) -> Tensor:
        """The canonical tensor of a numpy array (any strides, any byte order)."""
        arr = np.asarray(array)
        name = "bool" if arr.dtype == np.bool_ else arr.dtype.name
        np_dtype = _np_dtype(name)
        data = np.ascontiguousarray(arr, dtype=np_dtype).tobytes(order="C")
        return cls(name, tuple(int(d) for d in arr.shape), data)

    def to_numpy(self) -> npt.NDArray[Any]:
        """A read-only numpy view of the data, in native byte order."""
        arr = np.frombuffer(self.data, dtype=DTYPES[self.dtype]).reshape(self.shape)
        return arr.astype(arr.dtype.newbyteorder("="), copy=False)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def encode(self) -> bytes:
        """The canonical ``cairn-tensor/v1`` bytes."""
        name = self.dtype.encode("ascii")
        dims = struct.pack(f"<{len(self.shape)}Q", *self.shape)
        return b"".join(
            (
                TENSOR_MAGIC,
                bytes([len(name)]),
                name,
                struct.pack("<I", len(self.shape)),
                dims,
                self.data,
            )
        )

    @classmethod
    def decode(cls, blob: bytes) -> Tensor:
        """Parse ``cairn-tensor/v1`` bytes; the inverse of :meth:`encode`."""
        reader = _Reader(blob, "tensor")
        if reader.take(len(TENSOR_MAGIC)) != TENSOR_MAGIC:
            raise TensorError("not a cairn-tensor/v1 encoding (bad magic)")
        name = reader.take(reader.u8()).decode("ascii", errors="replace")
        ndim = reader.u32()
        if ndim > MAX_NDIM:
            raise TensorError(f"tensor has {ndim} dimensions, at most {MAX_NDIM} allowed")
        shape = tuple(reader.u64() for _ in range(ndim))
        return cls(name, shape, reader.rest())

    def digest(self) -> str:
        """``0x`` + hex sha256 of the canonical encoding."""
        return "0x" + hashlib.sha256(self.encode()).hexdigest()

    def to_json(self, *, b64: bool = False) -> dict[str, Any]:
        """The HTTP-edge JSON form; ``b64`` writes the data as base64 instead of a list."""
        if b64:
            data: Any = base64.b64encode(self.data).decode("ascii")
        else:
            data = [_json_scalar(v) for v in self.to_numpy().reshape(-1).tolist()]
        return {"dtype": self.dtype, "shape": list(self.shape), "data": data}

    @classmethod
    def from_json(cls, obj: object, name: str = "tensor") -> Tensor:
        """Parse the HTTP-edge JSON form, strictly (see the module docstring)."""
        dtype, shape, data = parse_tensor(obj, name)
        return cls(dtype, shape, data)

    def __repr__(self) -> str:
        return f"Tensor({self.dtype}{list(self.shape)}, {self.digest()[:18]}…)"


def encode_tensors(tensors: Mapping[str, Tensor]) -> bytes:
    """The canonical ``cairn-tensors/v1`` bytes of named tensors (sorted by name)."""
    parts = [TENSORS_MAGIC, struct.pack("<I", len(tensors))]
    for name in sorted(tensors, key=lambda n: n.encode("utf-8")):
        raw_name, enc = name.encode("utf-8"), tensors[name].encode()
        parts += [struct.pack("<I", len(raw_name)), raw_name, struct.pack("<Q", len(enc)), enc]
    return b"".join(parts)


def decode_tensors(blob: bytes) -> dict[str, Tensor]:
    """Parse ``cairn-tensors/v1`` bytes; names must be sorted and unique."""
    reader = _Reader(blob, "tensors")
    if reader.take(len(TENSORS_MAGIC)) != TENSORS_MAGIC:
        raise TensorError("not a cairn-tensors/v1 encoding (bad magic)")
    out: dict[str, Tensor] = {}
    previous: bytes | None = None
    for _ in range(reader.u32()):
        raw_name = reader.take(reader.u32())
        if previous is not None and raw_name <= previous:
            raise TensorError("tensor names are not sorted and unique")
        previous = raw_name
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise TensorError("tensor name is not UTF-8") from None
        out[name] = Tensor.decode(reader.take(reader.u64()))
    if reader.remaining():
        raise TensorError(f"{reader.remaining()} trailing bytes after the tensors")
    return out


def hash_tensors(tensors: Mapping[str, Tensor]) -> str:
    """``0x`` + hex sha256 of :func:`encode_tensors` — the receipt's input or output hash."""
    return "0x" + hashlib.sha256(encode_tensors(tensors)).hexdigest()


def tensors_from_json(obj: object) -> dict[str, Tensor]:
    """Parse ``{"name": {"dtype": .., "shape": .., "data": ..}, ...}``, strictly."""
    if not isinstance(obj, dict):
        raise TensorError(f"expected an object of named tensors, got {type(obj).__name__}")
    if not obj:
        raise TensorError("no tensors given")
    out: dict[str, Tensor] = {}
    for name, value in obj.items():
        if not isinstance(name, str) or not name:
            raise TensorError("tensor names must be non-empty strings")
        out[name] = Tensor.from_json(value, name)
    return out


def tensors_to_json(tensors: Mapping[str, Tensor], *, b64: bool = False) -> dict[str, Any]:
    """The JSON form of named tensors, in name order."""
    return {name: tensors[name].to_json(b64=b64) for name in sorted(tensors)}


def _json_scalar(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


class _Reader:
    """Bounds-checked reads from a byte string; running out raises TensorError."""

    def __init__(self, blob: bytes, what: str) -> None:
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise TensorError(f"{what} encoding must be bytes")
        self.buf, self.pos, self.what = bytes(blob), 0, what

    def take(self, n: int) -> bytes:
        if n > len(self.buf) - self.pos:
            raise TensorError(f"truncated {self.what} encoding")
        self.pos += n
        return self.buf[self.pos - n : self.pos]

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def rest(self) -> bytes:
        return self.take(self.remaining())
