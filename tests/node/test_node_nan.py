"""An honest NaN output verifies: the node hashes NaN as the quiet NaN a JSON client rebuilds
from ``"NaN"``, whatever payload its runtime produced (session gateway, real HTTP)."""

from __future__ import annotations

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
