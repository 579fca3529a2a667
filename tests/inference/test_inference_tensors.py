"""Canonical tensor encoding: golden bytes, round trips, strict JSON, hostile input."""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cairn.errors import CairnError, TensorError
from cairn.inference import (
    DTYPES,
    Tensor,
    decode_tensors,
    encode_tensors,
    hash_tensors,
    tensors_from_json,
    tensors_to_json,
)


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def test_golden_single_tensor_bytes() -> None:
    t = Tensor.from_numpy(np.array([[1.0, -2.5]], dtype=np.float32))
    expected = (
        b"cairn-tensor/v1\x00"
        + b"\x07float32"
        + u32(2)
        + u64(1)
        + u64(2)
        + struct.pack("<2f", 1.0, -2.5)
    )
    assert t.encode() == expected
    assert t.digest() == "0x82a5f701c9a92291cef2b956b7870ef193b4cbb84d622bda71b019616e7ffdaf"


def test_golden_named_tensors_sorted_by_name() -> None:
    ids = Tensor.from_numpy(np.array([7], dtype=np.int64))
    flag = Tensor.from_numpy(np.array(True))
    flag_enc = b"cairn-tensor/v1\x00" + b"\x04bool" + u32(0) + b"\x01"
    ids_enc = b"cairn-tensor/v1\x00" + b"\x05int64" + u32(1) + u64(1) + u64(7)
    expected = (
        b"cairn-tensors/v1\x00"
        + u32(2)
        + u32(4)
        + b"flag"
        + u64(len(flag_enc))
        + flag_enc
        + u32(3)
        + b"ids"
        + u64(len(ids_enc))
        + ids_enc
    )
    for order in ({"ids": ids, "flag": flag}, {"flag": flag, "ids": ids}):
        assert encode_tensors(order) == expected
        assert hash_tensors(order) == (
            "0x3c5bb0606e02a9d083856d4b457022aa0122bf5f58a8f17e3e019977458f3c4c"
        )
    assert decode_tensors(expected) == {"flag": flag, "ids": ids}


def test_layout_and_byte_order_do_not_change_the_bytes() -> None:
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    variants = [base, np.asfortranarray(base), base.astype(">f4"), base.T.copy().T]
    encodings = {Tensor.from_numpy(v).encode() for v in variants}
    assert len(encodings) == 1
    assert Tensor.from_numpy(base[:, ::2]).to_numpy().tolist() == base[:, ::2].tolist()


def test_negative_zero_is_a_different_hash() -> None:
    pos = Tensor.from_numpy(np.array([0.0], np.float32))
    neg = Tensor.from_numpy(np.array([-0.0], np.float32))
    assert pos.digest() != neg.digest()


@pytest.mark.parametrize(
    ("dtype", "shape", "data", "message"),
    [
        ("float31", (1,), b"\0" * 4, "did you mean 'float32'"),
        ("float32", (2,), b"\0" * 4, "needs 8 bytes"),
        ("float32", (-1,), b"", "non-negative"),
        ("bool", (1,), b"\x02", "0x00 or 0x01"),
        ("uint8", (1 << 20, 1 << 20), b"", "exceeds the limit"),
    ],
)
def test_invalid_tensor_values(
    dtype: str, shape: tuple[int, ...], data: bytes, message: str
) -> None:
    with pytest.raises(TensorError, match=message):
        Tensor(dtype, shape, data)


def test_unsupported_numpy_dtype() -> None:
    with pytest.raises(TensorError, match="unsupported dtype 'complex64'"):
        Tensor.from_numpy(np.zeros(2, np.complex64))


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"cairn-tensor/v2\x00\x07float32" + u32(0) + b"\0" * 4,
        b"cairn-tensor/v1\x00\x07float32" + u32(1),
        b"cairn-tensor/v1\x00\x07float32" + u32(0) + b"\0" * 5,
        b"cairn-tensor/v1\x00\x07float32" + u32(40),
    ],
)
def test_decode_rejects_bad_tensor_bytes(blob: bytes) -> None:
    with pytest.raises(TensorError):
        Tensor.decode(blob)


def test_decode_tensors_rejects_unsorted_duplicate_and_trailing() -> None:
    one = Tensor.from_numpy(np.array([1], np.int32)).encode()
    entry_a = u32(1) + b"a" + u64(len(one)) + one
    entry_b = u32(1) + b"b" + u64(len(one)) + one
    head = b"cairn-tensors/v1\x00"
    with pytest.raises(TensorError, match="sorted"):
        decode_tensors(head + u32(2) + entry_b + entry_a)
    with pytest.raises(TensorError, match="sorted"):
        decode_tensors(head + u32(2) + entry_a + entry_a)
    with pytest.raises(TensorError, match="trailing"):
        decode_tensors(head + u32(1) + entry_a + b"x")


def test_json_flat_nested_and_base64_agree() -> None:
    arr = np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, 7.0]], dtype=np.float32)
    t = Tensor.from_numpy(arr)
    flat = {"dtype": "float32", "shape": [2, 3], "data": arr.reshape(-1).tolist()}
    nested = {"dtype": "float32", "shape": [2, 3], "data": arr.tolist()}
    b64 = {"dtype": "float32", "shape": [2, 3], "data": base64.b64encode(t.data).decode()}
    assert Tensor.from_json(flat) == Tensor.from_json(nested) == Tensor.from_json(b64) == t
    assert Tensor.from_json(t.to_json()) == t
    assert Tensor.from_json(json.loads(json.dumps(t.to_json(b64=True)))) == t


def test_json_non_finite_floats_round_trip() -> None:
    t = Tensor.from_numpy(np.array([np.nan, np.inf, -np.inf, 1.0], np.float64))
    as_json = json.dumps(t.to_json(), allow_nan=False)
    assert '"NaN"' in as_json
    assert Tensor.from_json(json.loads(as_json)) == t


def test_named_json_round_trip() -> None:
    named = {
        "input_ids": Tensor.from_numpy(np.array([[101, 2023, 102]], np.int64)),
        "mask": Tensor.from_numpy(np.array([[True, True, False]])),
    }
    assert tensors_from_json(tensors_to_json(named)) == named
    assert list(tensors_to_json(named)) == ["input_ids", "mask"]


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"dtype": "int64", "shape": [2], "data": [1]}, "expected 2 items"),
        ({"dtype": "int64", "shape": [1], "data": [1.5]}, "must be integers"),
        ({"dtype": "int64", "shape": [1], "data": [True]}, "must be integers"),
        ({"dtype": "int8", "shape": [1], "data": [128]}, "out of range for int8"),
        ({"dtype": "uint8", "shape": [1], "data": [-1]}, "out of range for uint8"),
        ({"dtype": "float32", "shape": [1], "data": [1e39]}, "out of range for float32"),
        ({"dtype": "float64", "shape": [1], "data": [10**400]}, "out of range"),
        ({"dtype": "float32", "shape": [1], "data": ["1.0"]}, "must be numbers"),
        ({"dtype": "bool", "shape": [1], "data": [1]}, "true or false"),
        ({"dtype": "float32", "shape": [1], "data": "!!!"}, "base64"),
        ({"dtype": "float32", "shape": [2], "data": "AAAAAA=="}, "needs 8 bytes"),
        ({"dtype": "float32", "shape": [1.0], "data": [1]}, "shape must be a list of integers"),
        ({"dtype": "float32", "shape": [1], "data": [1], "extra": 1}, "unknown keys"),
        ({"dtype": "float32", "shape": [1]}, "missing keys"),
        ({"dtype": "float32", "shape": [2, 1], "data": [[1, 2]]}, "expected 2 items"),
        ({"dtype": "float32", "shape": [1], "data": [[1]]}, "nested deeper"),
        ({"dtype": "float32", "shape": [], "data": 3}, "list or a base64"),
        ([1, 2], "expected an object"),
    ],
)
def test_json_validation_messages(obj: Any, message: str) -> None:
    with pytest.raises(TensorError, match=message):
        Tensor.from_json(obj, "x")


def test_named_json_rejects_non_objects_and_empty() -> None:
    for bad in ([], {}, "x", {"": {"dtype": "bool", "shape": [], "data": [True]}}):
        with pytest.raises(TensorError):
            tensors_from_json(bad)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
_tensorish = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from([*DTYPES, "float31", 3]),
        "shape": st.lists(st.integers(-2, 4), max_size=3) | _json,
        "data": _json | st.binary(max_size=16).map(lambda b: base64.b64encode(b).decode()),
    }
)


@settings(max_examples=300, deadline=None)
@given(_json | _tensorish | st.dictionaries(st.text(max_size=4), _tensorish, max_size=3))
def test_json_garbage_raises_only_tensor_error(obj: object) -> None:
    with contextlib.suppress(TensorError):
        tensors_from_json(obj)
    with contextlib.suppress(TensorError):
        Tensor.from_json(obj)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_bytes_garbage_raises_only_cairn_errors(blob: bytes) -> None:
    for decode in (Tensor.decode, decode_tensors):
        for candidate in (blob, b"cairn-tensor/v1\x00" + blob, b"cairn-tensors/v1\x00" + blob):
            with contextlib.suppress(CairnError):
                decode(candidate)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    )
)
def test_round_trip_any_array(arr: np.ndarray[Any, Any]) -> None:
    t = Tensor.from_numpy(arr)
    assert Tensor.decode(t.encode()) == t
    assert Tensor.from_json(t.to_json(b64=True)) == t  # base64: bit-exact, NaN payloads too
    from_list = Tensor.from_json(json.loads(json.dumps(t.to_json())))
    np.testing.assert_array_equal(from_list.to_numpy(), arr)  # lists: values, NaN as "NaN"
    np.testing.assert_array_equal(t.to_numpy(), arr)
