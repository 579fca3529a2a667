"""An honest NaN output verifies: the node hashes NaN as the quiet NaN a JSON client rebuilds
from ``"NaN"``, whatever payload its runtime produced (session gateway, real HTTP)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

from cairn.client import verify_answer
from cairn.inference import Tensor, tensors_from_json, tensors_to_json


def test_an_honest_nan_output_verifies(
    node: Any, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = node.ctx.models["digits-logreg"].model.runtime
    honest = runtime.run

    def nan_with_payloads(inputs: Any) -> dict[str, Tensor]:
        out = dict(honest(inputs))
        probs = np.array(out["probabilities"].to_numpy(), dtype=np.float32)
        probs.view(np.uint32)[0, :2] = [0x7FC00123, 0xFFC00000]  # NaN, not the one JSON has
        out["probabilities"] = Tensor.from_numpy(probs)
        return out

    monkeypatch.setattr(runtime, "run", nan_with_payloads)
    request = {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": [0.0] * 64}}}
    for format_ in ("lists", "base64"):
        resp = client.post("/v1/infer/digits-logreg", json=request)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["outputs"]["probabilities"]["data"][:2] == ["NaN", "NaN"]
        if format_ == "base64":  # what a client re-encoding the answer's tensors would hash
            body["outputs"] = tensors_to_json(tensors_from_json(body["outputs"]), b64=True)
        verify_answer(body, request)


def test_an_embedding_with_nan_and_infinity_verifies(
    node: Any, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embeddings answer writes them as ``NaN`` / ``Infinity`` (as ``json.dumps`` does;
    the fast writer's ``null`` could not be hashed back), and its receipt verifies."""
    embedder = node.ctx.models["all-MiniLM-L6-v2"].embedder
    honest = embedder.run

    def odd(texts: Any) -> Any:
        inputs, out = honest(texts)
        name = embedder.output
        values = np.array(out[name].to_numpy(), dtype=np.float32)
        values.view(np.uint32)[0, :2] = [0x7FC00123, 0xFFC00000]  # NaN, with payloads
        values[0, 2:4] = [np.inf, -np.inf]
        return inputs, {**out, name: Tensor.from_numpy(values)}

    monkeypatch.setattr(embedder, "run", odd)
    request = {"model": "all-MiniLM-L6-v2", "input": ["a stone"]}
    resp = client.post("/v1/embeddings", json=request)
    assert resp.status_code == 200, resp.text
    assert resp.text.count("NaN") == 2 and "Infinity" in resp.text and "null" not in resp.text
    verify_answer(resp.json(), request)
    monkeypatch.setattr(embedder, "run", honest)
    plain = client.post("/v1/embeddings", json=request)  # finite: the fast writer's answer
    assert plain.status_code == 200 and "NaN" not in plain.text
    verify_answer(plain.json(), request)


def test_an_answer_orjson_cannot_write_is_written_all_the_same() -> None:
    """A chain id past 64 bits (EIP-155 allows 256): the answer falls back to pydantic-core
    and carries the receipt whole; a finite one is the same JSON either way."""
    from cairn.content import Cid
    from cairn.identity import LocalSigner
    from cairn.node.gateway import _answer
    from cairn.receipts import Receipt, ReceiptDomain

    signer = LocalSigner.generate()
    for chain_id in (2**70 + 1, 31337):
        domain = ReceiptDomain(chain_id, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
        receipt = Receipt(
            str(Cid.of(b"m")), bytes(32), bytes(32), signer.address, bytes(range(32)),
            1_700_000_000, "onnxruntime", 0, domain,
        ).sign(signer, domain.separator)  # fmt: skip
        values = [0.1, 1 / 3, -0.0, 1e-45]
        body = {"data": [{"embedding": values}, {"embedding": np.array(values)}]}
        resp = _answer(dict(body), (receipt, "secret"))
        got = json.loads(resp.body)
        assert got["receipt"]["domain"]["chainId"] == chain_id
        assert Receipt.from_json(got["receipt"]) == receipt
        assert got["data"] == [{"embedding": values}] * 2  # an array is written as its list
        assert resp.headers["Cairn-Access"] == "secret"
