"""The official ``openai`` SDK, unmodified, against a real gateway over HTTP.

"OpenAI-compatible" means a new user's first ``client.embeddings.create`` works:
the SDK asks for ``encoding_format: "base64"`` unless told otherwise, reads
``usage``, lists models, and raises its own typed errors with our message. The
receipt in the ``Cairn-Receipt`` header must verify against the vectors the SDK
hands back, whichever encoding carried them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import openai
import pytest

from cairn.client import verify_answer
from cairn.errors import ReceiptInvalid
from cairn.inference import Tensor
from cairn.receipts import Receipt, tensors_hash, texts_hash, verify_offline

pytestmark = pytest.mark.integration

MODEL = "all-MiniLM-L6-v2"
TEXTS = ["the cairn marks the trail", "a second text"]


@pytest.fixture(scope="module")
def sdk(node: Any) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{node.url}/v1", api_key="any string", max_retries=0, timeout=60
    ) as client:
        yield client


def _output_hash(vectors: list[list[float]]) -> bytes:
    """The receipt's outputHash, recomputed from what the SDK returned."""
    as32 = np.asarray(vectors, dtype=np.float32)
    assert np.array_equal(as32.astype(np.float64), np.asarray(vectors, dtype=np.float64))
    return tensors_hash({"sentence_embedding": Tensor.from_numpy(as32)})


def _verify(node: Any, header: str, texts: list[str], vectors: list[list[float]]) -> Receipt:
    receipt = Receipt.from_header(header)
    verify_offline(
        receipt,
        input_hash=texts_hash(texts),
        output_hash=_output_hash(vectors),
        expected_node=node.ctx.signer.address,
        expected_domain=node.ctx.domain,
    )
    return receipt


def test_default_base64_and_float_carry_the_same_bits_and_both_verify(
    node: Any, sdk: openai.OpenAI
) -> None:
    raw = sdk.embeddings.with_raw_response.create(model=MODEL, input=TEXTS)
    assert json.loads(raw.http_request.content)["encoding_format"] == "base64"  # SDK default
    body = raw.http_response.json()
    assert all(isinstance(d["embedding"], str) for d in body["data"])
    as_b64 = raw.parse()
    by_b64 = [d.embedding for d in sorted(as_b64.data, key=lambda d: d.index)]
    assert [len(v) for v in by_b64] == [384, 384]
    assert as_b64.model == MODEL and as_b64.object == "list"
    assert as_b64.usage.prompt_tokens == as_b64.usage.total_tokens > len(TEXTS)

    raw_float = sdk.embeddings.with_raw_response.create(
        model=MODEL, input=TEXTS, encoding_format="float"
    )
    by_float = [d.embedding for d in sorted(raw_float.parse().data, key=lambda d: d.index)]
    assert isinstance(by_float[0][0], float)
    assert (
        np.asarray(by_b64, dtype=np.float32).tobytes()
        == np.asarray(by_float, dtype=np.float32).tobytes()
    )

    # the receipt is bound to the tensor bytes, whatever the encoding
    receipt = _verify(node, raw.headers["Cairn-Receipt"], TEXTS, by_b64)
    assert receipt == Receipt.from_json(body["receipt"])
    other = _verify(node, raw_float.headers["Cairn-Receipt"], TEXTS, by_float)
    assert other.output_hash == receipt.output_hash and other.request_id != receipt.request_id
    # and cairn's own client check reads the base64 answer as it came over the wire
    assert verify_answer(body, {"model": MODEL, "input": TEXTS}) == receipt

    changed = [list(v) for v in by_b64]
    changed[1][7] = float(np.float32(changed[1][7] + 0.01))
    with pytest.raises(ReceiptInvalid, match="output does not match"):
        _verify(node, raw.headers["Cairn-Receipt"], TEXTS, changed)
    tampered = json.loads(json.dumps(body))
    row = np.frombuffer(base64.b64decode(tampered["data"][0]["embedding"]), "<f4").copy()
    row[0] = -row[0]
    tampered["data"][0]["embedding"] = base64.b64encode(row.tobytes()).decode()
    with pytest.raises(ReceiptInvalid, match="output does not match"):
        verify_answer(tampered, {"model": MODEL, "input": TEXTS})


def test_explicit_base64_is_little_endian_float32(node: Any, sdk: openai.OpenAI) -> None:
    raw = sdk.embeddings.with_raw_response.create(
        model=MODEL, input="one text", encoding_format="base64", user="end-user-42"
    )
    got = raw.parse().data[0].embedding
    assert isinstance(got, str)  # asked for explicitly: the SDK hands the string back
    vector = np.frombuffer(base64.b64decode(got), dtype="<f4")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    _verify(node, raw.headers["Cairn-Receipt"], ["one text"], [vector.tolist()])


def test_dimensions_equal_to_the_model_is_accepted(sdk: openai.OpenAI) -> None:
    answer = sdk.embeddings.create(model=MODEL, input="x", dimensions=384)
    assert len(answer.data[0].embedding) == 384


def test_models_list_and_retrieve(node: Any, sdk: openai.OpenAI) -> None:
    models = list(sdk.models.list())
    assert {m.id for m in models} == {MODEL, "digits-logreg"}
    for m in models:
        assert m.object == "model" and isinstance(m.created, int) and m.created > 0
        assert m.owned_by == node.ctx.signer.address
    assert sdk.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError, match="unknown model"):
        sdk.models.retrieve("nope")


def test_unknown_model_is_not_found(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="unknown model 'nope'") as caught:
        sdk.embeddings.create(model="nope", input="x")
    assert caught.value.code == "model_not_found" and caught.value.param == "model"


@pytest.mark.parametrize(
    ("kwargs", "param", "message"),
    [
        ({"dimensions": 256}, "dimensions", "has 384 dimensions; dimensions=256"),
        ({"input": [[101, 2023, 102]]}, "input", "token-array input is not supported"),
        ({"input": [101, 2023, 102]}, "input", "token-array input is not supported"),
        ({"input": []}, "input", "input must hold 1 to"),
        ({"model": "digits-logreg"}, "model", "not an embedding model"),
        ({"encoding_format": "int8"}, "encoding_format", "must be 'float' or 'base64'"),
    ],
)
def test_what_cannot_be_honoured_is_a_clear_bad_request(
    sdk: openai.OpenAI, kwargs: dict[str, Any], param: str, message: str
) -> None:
    request: dict[str, Any] = {"model": MODEL, "input": "x", **kwargs}
    with pytest.raises(openai.BadRequestError, match=message) as caught:
        sdk.embeddings.create(**request)
    err = caught.value
    assert err.status_code == 400 and err.param == param
    assert err.type == "invalid_request_error"
    body = err.response.json()
    assert body["detail"] == body["error"]["message"]  # the old shape is kept


def test_malformed_and_oversized_requests_name_the_problem(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError, match="input") as caught:
        sdk.embeddings.create(model=MODEL, input=cast(Any, [{"not": "text"}]))
    assert caught.value.param == "input"
    with pytest.raises(openai.APIStatusError, match="body over") as too_big:
        sdk.embeddings.create(model=MODEL, input="a" * 100_000)
    assert too_big.value.status_code == 413
