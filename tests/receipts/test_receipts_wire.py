"""The call protocol (cairn.receipts.wire): the one definition of a call's bytes and hashes,
held to its documented form and to the round trips every party relies on."""

from __future__ import annotations

import base64
import hashlib
import json

import numpy as np
import orjson
import pytest

from cairn.errors import ReceiptInvalid
from cairn.inference import Tensor, encode_tensors
from cairn.receipts import wire


def test_text_call_bytes_are_the_documented_form() -> None:
    call = wire.text_call(["héllo", "a b"])
    assert call.input_bytes == b"cairn-text/v1\n" + '["héllo","a b"]'.encode()
    assert call.input_hash == hashlib.sha256(call.input_bytes).digest()
    assert wire.texts_hash(["héllo", "a b"]) == call.input_hash
    assert wire.call_of_request({"model": "m", "input": "x"}).input_hash == wire.texts_hash(["x"])


def test_tensor_call_hashes_the_canonical_encoding() -> None:
    tensors = {"x": Tensor.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))}
    call = wire.tensor_call(tensors)
    assert call.input_bytes == encode_tensors(tensors)
    assert call.input_hash == wire.tensors_hash(tensors)
    request = {"inputs": {"x": tensors["x"].to_json()}}
    assert wire.call_of_request(request).input_hash == call.input_hash


@pytest.mark.parametrize("kind", ["text", "tensors"])
def test_retained_bytes_round_trip_to_the_same_call(kind: str) -> None:
    if kind == "text":
        call = wire.text_call(["one", "twö"])
    else:
        call = wire.tensor_call({"x": Tensor.from_numpy(np.array([np.nan, 1.5], np.float32))})
    served = wire.retained_to_json(call.input_bytes)
    again = wire.call_of_retained(served, kind)  # type: ignore[arg-type]
    assert again.input_bytes == call.input_bytes


@pytest.mark.parametrize(
    "vectors",
    [
        np.array([[0.25, -0.0, 3.0]], np.float32),
        np.arange(12, dtype=np.float64).reshape(3, 4) / 7,  # widened: cast down
        np.arange(12, dtype=">f4").reshape(3, 4),  # big-endian
        np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2],  # not contiguous
        np.array([0x7FC00001, 0xFFC00000, 0x3F800000], np.uint32).view(np.float32)[None],
    ],
)
def test_embedding_outputs_are_the_canonical_tensor(vectors: np.ndarray) -> None:
    """The request path's shortcut makes the tensor canonical_outputs makes (NaN payloads
    made quiet, little-endian C order), bit for bit."""
    expected = wire.canonical_outputs({wire.EMBEDDING: Tensor.from_numpy(vectors.astype("f4"))})
    made = wire.embedding_outputs(vectors)
    assert made == expected and wire.canonical_outputs(made) is made  # not scanned again
    assert wire.output_bytes(made) == encode_tensors(expected)


def test_float_and_base64_answers_carry_the_same_tensor() -> None:
    vectors = np.array([[0.1, -0.0, 3.0], [1e-8, 2.0, np.float32(1) / 3]], np.float32)
    outputs = wire.embedding_outputs(vectors)
    rows = {
        enc: [
            {"index": i, "embedding": wire.encode_embedding(v, enc)} for i, v in enumerate(vectors)
        ]
        for enc in ("float", "base64")
    }
    for data in rows.values():
        got = wire.outputs_of_answer({"data": list(reversed(data))})
        assert wire.tensors_hash(got) == wire.tensors_hash(outputs)
    assert base64.b64decode(rows["base64"][0]["embedding"]) == vectors[0].astype("<f4").tobytes()


def test_a_float_row_is_written_as_the_text_of_its_python_floats() -> None:
    """encode_embedding's doubles, written by orjson's numpy writer (the gateway's answers),
    are the text a list of the same Python floats gives: shortest round trip, every
    magnitude a float32 has, subnormals and signed zero included."""
    rng = np.random.default_rng(7)
    rows = [np.array([0.1, -0.0, 0.0, 1e-45, 3.4028235e38, -1.1754944e-38], np.float32)]
    for exponent in range(-45, 39, 3):
        rows.append((rng.standard_normal(384) * 10.0**exponent).astype(np.float32))
    for row in rows:
        row = row[np.isfinite(row)]
        encoded = wire.encode_embedding(row, "float")
        fast = orjson.dumps(encoded, option=orjson.OPT_SERIALIZE_NUMPY)
        assert fast == orjson.dumps(row.astype(np.float64).tolist())
        assert np.array_equal(np.array(json.loads(fast), np.float32), row)


@pytest.mark.parametrize(
    "answer",
    [
        {"data": [{"index": 0, "embedding": [0.1]}]},  # 0.1 is not a float32 value
        {"data": [{"index": 0, "embedding": "AAA"}]},  # not whole float32s
        {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]},
        {"data": []},
        {"outputs": {"x": {"dtype": "float32"}}},
        {"nothing": 1},
    ],
)
def test_malformed_answers_are_refused_with_one_error(answer: dict[str, object]) -> None:
    with pytest.raises(ReceiptInvalid):
        wire.outputs_of_answer(answer)


def test_legacy_retained_json_still_decodes() -> None:
    legacy = json.dumps(["old", "texts"]).encode()
    assert wire.retained_to_json(legacy) == legacy
    assert wire.call_of_retained(legacy, "text").texts == ("old", "texts")
    with pytest.raises(ReceiptInvalid, match="not a list of texts"):
        wire.call_of_retained(b'{"a": 1}', "text")
