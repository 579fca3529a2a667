"""The call protocol: how a call to a model becomes the bytes and hashes a receipt binds.

Every party that touches a call — the gateway that answers it, the client that
checks the answer, the validator that re-executes it, the CLI — turns it into
bytes here and nowhere else. If two of them disagreed, an honest node could be
slashed or a cheater could pass (DESIGN.md, "Receipts" and "Verification").

Two kinds of call, one rule for each:

**Text calls** (``POST /v1/embeddings``). The input is the list of texts the
client sent, not the tokens, so a client can check the hash with sha256 alone::

    input bytes  = b"cairn-text/v1\\n" + JSON array of the strings
                   (UTF-8, separators "," and ":", non-ASCII kept as is)

The output is one tensor, named :data:`EMBEDDING`, of float32 vectors (one row
per text), whatever the model's own output is called.

**Tensor calls** (``POST /v1/infer/{model}``). Input and output are named
tensors in the canonical ``cairn-tensors/v1`` encoding
(:mod:`cairn.inference.tensors`).

In both, ``inputHash`` = sha256(input bytes) and ``outputHash`` = sha256 of the
canonical encoding of the output tensors, every NaN in them written as the one
quiet NaN (:func:`canonical_outputs`): a JSON answer can only carry NaN as
``"NaN"``, which decodes to that NaN, so a node hashing its runtime's own NaN
payload would sign bytes no client can rebuild. A node retains exactly the input
bytes and the output bytes, so what it hands a validator hashes to what it
signed; over HTTP they travel as JSON (:func:`retained_to_json`), texts as a
JSON list and tensors with base64 data, so every bit survives.

At the HTTP edge an embedding is a list of floats or, as OpenAI's
``encoding_format: "base64"``, the base64 of its little-endian float32 bytes;
both decode to the same tensor (:func:`outputs_of_answer`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cairn.errors import CairnError, ReceiptInvalid
from cairn.inference import (
    Tensor,
    decode_tensors,
    encode_tensors,
    tensors_from_json,
    tensors_to_json,
)

__all__ = [
    "EMBEDDING",
    "TEXT_MAGIC",
    "Call",
    "CanonicalOutputs",
    "call_of_request",
    "call_of_retained",
    "canonical_outputs",
    "embedding_outputs",
    "encode_embedding",
    "output_bytes",
    "outputs_of_answer",
    "outputs_of_retained",
    "retained_to_json",
    "tensor_call",
    "tensors_hash",
    "text_call",
    "texts_hash",
]

TEXT_MAGIC = b"cairn-text/v1\n"
EMBEDDING = "sentence_embedding"
Kind = Literal["text", "tensors"]


@dataclass(frozen=True)
class Call:
    """One call to a model: its kind, its input, and the exact bytes the receipt binds."""

    kind: Kind
    texts: tuple[str, ...] | None
    tensors: Mapping[str, Tensor] | None
    input_bytes: bytes

    @property
    def input_hash(self) -> bytes:
        return hashlib.sha256(self.input_bytes).digest()


def text_call(texts: Sequence[str]) -> Call:
    body = json.dumps(list(texts), ensure_ascii=False, separators=(",", ":"))
    try:
        raw = body.encode()
    except UnicodeEncodeError as exc:  # a lone surrogate: not text, and not UTF-8
        raise ReceiptInvalid(
            f"texts must be Unicode scalar values, not a lone surrogate "
            f"({body[exc.start]!r}): it has no UTF-8 bytes to hash"
        ) from None
    return Call("text", tuple(texts), None, TEXT_MAGIC + raw)


def tensor_call(tensors: Mapping[str, Tensor]) -> Call:
    return Call("tensors", None, dict(tensors), encode_tensors(tensors))


def texts_hash(texts: Sequence[str]) -> bytes:
    """The ``inputHash`` of a text call."""
    return text_call(texts).input_hash


def tensors_hash(tensors: Mapping[str, Tensor]) -> bytes:
    """The ``inputHash`` of a tensor call, and every call's ``outputHash``."""
    return hashlib.sha256(encode_tensors(tensors)).digest()


def output_bytes(outputs: Mapping[str, Tensor]) -> bytes:
    """What a node retains of an answer; its sha256 is the ``outputHash``."""
    return encode_tensors(canonical_outputs(outputs))


class CanonicalOutputs(dict[str, Tensor]):
    """Outputs already canonical, as only :func:`canonical_outputs` and
    :func:`embedding_outputs` make them: passed through as they are, not scanned again."""


def canonical_outputs(outputs: Mapping[str, Tensor]) -> CanonicalOutputs:
    """The outputs with every NaN as the quiet NaN a JSON ``"NaN"`` decodes to.

    >>> odd = np.array([0x7FC00001, 0xFFC00000], np.uint32).view(np.float32)
    >>> out = canonical_outputs({"y": Tensor.from_numpy(odd)})["y"]
    >>> out.to_numpy().view(np.uint32).tolist() == [0x7FC00000] * 2
    True
    """
    if isinstance(outputs, CanonicalOutputs):
        return outputs
    return CanonicalOutputs({name: _canonical_nan(t) for name, t in outputs.items()})


def _canonical_nan(tensor: Tensor) -> Tensor:
    values = tensor.to_numpy()
    if values.dtype.kind != "f" or not np.isnan(values).any():
        return tensor
    return Tensor.from_numpy(_quiet_nans(values))


def _quiet_nans(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``values`` with every NaN the quiet NaN of its dtype (the rule: canonical_outputs)."""
    return np.where(np.isnan(values), values.dtype.type(np.nan), values)


def embedding_outputs(vectors: Any) -> CanonicalOutputs:
    """A text call's output: the vectors as one float32 tensor named :data:`EMBEDDING`,
    canonical (:func:`canonical_outputs`)."""
    values = np.asarray(vectors, dtype=np.float32)
    if np.isnan(values).any():
        values = _quiet_nans(values)
    values = np.ascontiguousarray(values, dtype="<f4")  # the tensor's bytes, as they are
    return CanonicalOutputs({EMBEDDING: Tensor("float32", values.shape, values.tobytes())})


def encode_embedding(
    vector: Any, encoding: Literal["float", "base64"]
) -> npt.NDArray[np.float64] | str:
    """One row of an embeddings answer, as OpenAI spells it for ``encoding_format``:
    base64 of the little-endian float32 bytes, or the float32 values each widened exactly
    to a double. The doubles stay a numpy array, which orjson writes
    (``OPT_SERIALIZE_NUMPY``) as the same shortest round-trip text as a list of Python
    floats, without making 384 float objects first; a writer without numpy support takes
    ``.tolist()``."""
    row = np.asarray(vector, dtype="<f4")
    if encoding == "base64":
        return base64.b64encode(row.tobytes()).decode("ascii")
    return row.astype(np.float64)


# -- the client's side: a request and an answer as sent over HTTP ------------------


def call_of_request(request: Mapping[str, Any]) -> Call:
    """The call a gateway request body makes (``input`` texts or ``inputs`` tensors)."""
    if "input" in request:
        texts = request["input"]
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ReceiptInvalid("request 'input' must be a text or a list of texts")
        return text_call(texts)
    if "inputs" in request:
        return tensor_call(tensors_from_json(request["inputs"]))
    raise ReceiptInvalid("request has neither 'input' nor 'inputs'")


def outputs_of_answer(answer: Mapping[str, Any]) -> dict[str, Tensor]:
    """The output tensors an answer carries (a changed number changes the hash)."""
    if "data" in answer:  # OpenAI embeddings shape, float or base64 rows
        try:
            items = sorted(answer["data"], key=lambda d: d["index"])
            rows = [_embedding_row(item["embedding"]) for item in items]
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ReceiptInvalid(f"malformed embeddings answer: {exc}") from None
        if not rows or len({len(r) for r in rows}) != 1:
            raise ReceiptInvalid("embeddings answer rows are missing or of unequal length")
        return embedding_outputs(np.stack(rows))
    if "outputs" in answer:
        try:
            return tensors_from_json(answer["outputs"])
        except CairnError as exc:
            raise ReceiptInvalid(f"malformed outputs: {exc}") from None
    raise ReceiptInvalid("answer has neither 'data' nor 'outputs'")


def _embedding_row(value: object) -> Any:
    if isinstance(value, str):
        raw = base64.b64decode(value, validate=True)
        if len(raw) % 4:
            raise ValueError("base64 embedding is not whole float32 values")
        return np.frombuffer(raw, dtype="<f4")
    as64 = np.asarray(value, dtype=np.float64)
    as32 = as64.astype(np.float32)
    if as64.ndim != 1 or not np.array_equal(as32.astype(np.float64), as64, equal_nan=True):
        raise ValueError("embedding values are not the float32 values the node returned")
    return as32


# -- the validator's side: what a node retained ------------------------------------


def retained_to_json(blob: bytes) -> bytes:
    """Retained input or output bytes as the JSON a validator is handed."""
    if blob.startswith(TEXT_MAGIC):
        return blob[len(TEXT_MAGIC) :]
    if blob.startswith(b"cairn-tensors/"):
        return json.dumps(tensors_to_json(decode_tensors(blob), b64=True)).encode()
    return blob  # stored before the wire format had one owner: JSON already


def call_of_retained(raw: bytes, kind: Kind) -> Call:
    """Decode a retained input (as :func:`retained_to_json` serves it) into its call."""
    try:
        value = json.loads(raw)
        if kind == "text":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ReceiptInvalid("retained input is not a list of texts")
            return text_call(value)
        return tensor_call(tensors_from_json(value))
    except (ValueError, CairnError) as exc:
        raise ReceiptInvalid(f"retained input is malformed: {exc}") from None


def outputs_of_retained(raw: bytes) -> dict[str, Tensor]:
    """Decode a retained output (tensors JSON, base64 data)."""
    try:
        return tensors_from_json(json.loads(raw))
    except (ValueError, CairnError) as exc:
        raise ReceiptInvalid(f"retained output is malformed: {exc}") from None
