"""cairn.client against a real gateway over HTTP: every call, every check, every refusal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cairn.chain import Network
from cairn.client import GatewayClient, GatewayNodeSource
from cairn.errors import ClientError, NodeUnavailable, ReceiptInvalid
from cairn.inference import Tensor, digits_samples
from cairn.receipts import MerkleTree, wire

pytestmark = pytest.mark.integration


def test_embed_infer_verify_and_what_a_validator_reads(node: Any) -> None:
    with GatewayClient(node.url) as gw:
        names = {m["id"] for m in gw.models()}
        assert {"all-MiniLM-L6-v2", "digits-logreg"} <= names
        floats = gw.embed(["one trail", "two cairns"])
        b64 = gw.embed(["one trail", "two cairns"], encoding="base64")
        receipt = gw.verify(floats)
        gw.verify(b64)
        assert np.array_equal(floats.vectors(), b64.vectors())
        assert floats.vectors().shape == (2, 384)
        pixels = np.asarray(digits_samples()[0][:1], dtype=np.float32)
        labels = gw.infer("digits-logreg", {"pixels": Tensor.from_numpy(pixels)})
        gw.verify(labels)
        assert gw.receipt(receipt.request_id) == receipt

        node.ctx.batcher.flush()
        pinned = Network.from_deployment(
            "local", node.ctx.chain.deployment, f"{node.url}/v1/chain/rpc"
        )
        gw.verify_online(receipt, pinned, wait_s=30)
        proof = gw.proof(receipt.request_id)
        members = gw.batch(proof.batch_id)
        assert MerkleTree.build([r.digest() for r in members]).root == proof.root

        retained = gw.retained(receipt.request_id, access=floats.access)
        call = wire.call_of_retained(retained.input, "text")
        assert call.input_hash == receipt.input_hash
        assert wire.tensors_hash(wire.outputs_of_retained(retained.output)) == receipt.output_hash


def test_a_changed_answer_or_request_fails_and_refusals_are_client_errors(node: Any) -> None:
    with GatewayClient(node.url) as gw:
        answer = gw.embed(["the trail"])
        body = dict(answer.body)
        body["data"] = [{**body["data"][0], "embedding": [0.5] * 384}]
        with pytest.raises(ReceiptInvalid, match="output does not match"):
            gw.verify(body, answer.request)
        with pytest.raises(ReceiptInvalid, match="input does not match"):
            gw.verify(answer.body, {"model": "all-MiniLM-L6-v2", "input": ["another"]})
        with pytest.raises(ClientError, match="unknown model") as refused:
            gw.embed(["x"], model="no-such-model")
        assert refused.value.status == 404
        with pytest.raises(ReceiptInvalid, match="not anchored"):
            gw.proof(bytes(32))
    with pytest.raises(ClientError, match="unreachable"), GatewayClient("http://127.0.0.1:9") as gw:
        gw.models()
    source = GatewayNodeSource(node.url)
    with pytest.raises(NodeUnavailable):
        source.retained(bytes(32))
    with pytest.raises(NodeUnavailable):
        source.batch(10**9)
    assert source.zk_proof(bytes(32)) is None  # 404: no proof, not a failure
    source.close()


def test_infer_accepts_tensor_json_as_well(node: Any) -> None:
    request: dict[str, Any] = {"pixels": {"dtype": "float32", "shape": [1, 64], "data": [0.0] * 64}}
    with GatewayClient(node.url) as gw:
        gw.verify(gw.infer("digits-logreg", request))
