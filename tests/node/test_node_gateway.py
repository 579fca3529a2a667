"""The gateway over real HTTP: answers with receipts that verify, clean 4xx on bad
input, anchoring and inclusion proofs against the embedded chain, the trustless
gateway, and the network document the auditor reads."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.datasets import load_digits

from cairn import content
from cairn.audit import audit_live
from cairn.audit.network import NetworkDocument
from cairn.chain import Network
from cairn.client import GatewayClient, verify_answer
from cairn.config import DataDir
from cairn.errors import ReceiptInvalid
from cairn.provenance import ManifestIndex, verify
from cairn.receipts import InclusionProof, Receipt, verify_online

EMBED = {"model": "all-MiniLM-L6-v2", "input": ["the cairn marks the trail", "a second text"]}


def _digit_request() -> dict[str, Any]:
    digits = load_digits()
    return {
        "inputs": {
            "pixels": {
                "dtype": "float32",
                "shape": [2, 64],
                "data": digits.data[:2].astype(np.float32).ravel().tolist(),
            }
        }
    }


def test_embeddings_answer_is_openai_shaped_and_its_receipt_verifies(client: httpx.Client) -> None:
    resp = client.post("/v1/embeddings", json=EMBED)
    assert resp.status_code == 200
    body = resp.json()
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert len(body["data"][0]["embedding"]) == 384
    assert body["usage"]["prompt_tokens"] > 0
    assert Receipt.from_header(resp.headers["Cairn-Receipt"]) == Receipt.from_json(body["receipt"])
    receipt = verify_answer(body, EMBED)
    assert receipt.model == client.get("/v1/models").json()["data"][0]["cid"]


def test_request_ids_rise_with_time_and_stay_distinct(client: httpx.Client) -> None:
    """The store's key appends at the end of its index (cairn.node.gateway._request_id)."""
    ids = []
    for _ in range(3):
        body = client.post("/v1/embeddings", json=EMBED).json()
        receipt = Receipt.from_json(body["receipt"])
        ms = int.from_bytes(receipt.request_id[:6], "big")
        assert receipt.issued_at * 1000 <= ms < (receipt.issued_at + 1) * 1000
        ids.append(receipt.request_id)
        time.sleep(0.002)
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert len({i[6:] for i in ids}) == 3  # the random part differs too


def test_a_changed_number_or_input_fails_verification(client: httpx.Client) -> None:
    body = client.post("/v1/embeddings", json=EMBED).json()
    changed = copy.deepcopy(body)
    changed["data"][1]["embedding"][5] = float(
        np.float32(changed["data"][1]["embedding"][5] + 0.01)
    )
    with pytest.raises(ReceiptInvalid, match="output does not match"):
        verify_answer(changed, EMBED)
    with pytest.raises(ReceiptInvalid, match="input does not match"):
        verify_answer(body, {**EMBED, "input": ["something else", "a second text"]})


def test_digits_inference_is_right_and_receipted(client: httpx.Client) -> None:
    request = _digit_request()
    resp = client.post("/v1/infer/digits-logreg", json=request)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["outputs"]["label"]["data"] == list(load_digits().target[:2])
    verify_answer(body, request)


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "detail"),
    [
        ("post", "/v1/embeddings", {"model": "nope", "input": "x"}, 404, "unknown model"),
        (
            "post",
            "/v1/embeddings",
            {"model": "digits-logreg", "input": "x"},
            400,
            "not an embedding",
        ),
        ("post", "/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": []}, 400, "1 to"),
        ("post", "/v1/infer/all-MiniLM-L6-v2", {"inputs": {}}, 400, "takes text"),
        (
            "post",
            "/v1/infer/digits-logreg",
            {"inputs": {"pixels": {"dtype": "int64", "shape": [1, 64], "data": [0] * 64}}},
            400,
            "dtype",
        ),
        (
            "post",
            "/v1/infer/digits-logreg",
            {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 63], "data": [0] * 63}}},
            400,
            "",
        ),
        (
            "post",
            "/v1/infer/digits-logreg",
            {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": [0] * 3}}},
            400,
            "",
        ),
        ("get", "/v1/receipts/0x1234", None, 404, "no receipt"),
        ("get", "/v1/receipts/" + "00" * 32 + "/proof", None, 404, "no receipt"),
        ("get", "/ipfs/not-a-cid", None, 400, "not a valid CID"),
        ("get", "/ipfs/" + str(content.Cid.of(b"absent")), None, 404, "not on this node"),
    ],
)
def test_bad_requests_are_clear_4xx(
    client: httpx.Client, method: str, path: str, payload: Any, status: int, detail: str
) -> None:
    resp = client.request(method, path, json=payload)
    assert resp.status_code == status, resp.text
    assert detail in json.dumps(resp.json())


def test_malformed_json_and_oversized_bodies(client: httpx.Client) -> None:
    resp = client.post(
        "/v1/embeddings", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422
    resp = client.post("/v1/embeddings", json={"model": "x", "input": "a" * 100_000})
    assert resp.status_code == 413 and "body over" in resp.json()["detail"]


def test_anchoring_and_inclusion_proofs(node: Any, client: httpx.Client) -> None:
    answers = [
        client.post("/v1/embeddings", json={**EMBED, "input": [f"text {i}"]}) for i in range(5)
    ]
    bodies = [a.json() for a in answers]
    pending = client.get(f"/v1/receipts/{bodies[0]['receipt']['requestId']}/proof")
    assert pending.status_code in (200, 404)
    node.ctx.batcher.flush()
    chain = node.ctx.chain
    for body in bodies:
        receipt = Receipt.from_json(body["receipt"])
        proof_json = client.get(f"/v1/receipts/{body['receipt']['requestId']}/proof").json()
        assert proof_json["anchored"] is True
        proof = InclusionProof.from_json(proof_json)
        with node.ctx.chain_lock:
            verify_online(
                receipt, proof, chain.anchor.commitment_of, lambda a: chain.staking.is_staked(a)
            )
        # and as a client does it, through the gateway's read-only RPC
        with GatewayClient(node.url) as gateway:
            pinned = Network.from_deployment("n", chain.deployment, f"{node.url}/v1/chain/rpc")
            gateway.verify_online(verify_answer(body, domain=pinned.domain), pinned)
    forged = dataclasses.replace(proof, root=bytes(32))
    with pytest.raises(ReceiptInvalid, match="another root"), node.ctx.chain_lock:
        verify_online(receipt, forged, chain.anchor.commitment_of, lambda a: True)
    undercount = dataclasses.replace(proof, count=proof.count + 1)  # another declared count
    with pytest.raises(ReceiptInvalid, match="another root or count"), node.ctx.chain_lock:
        verify_online(receipt, undercount, chain.anchor.commitment_of, lambda a: True)
    if proof.count > 1:  # a forged index: the same siblings for another leaf
        moved = dataclasses.replace(proof, leaf_index=proof.leaf_index ^ 1)
        with pytest.raises(ReceiptInvalid, match="inclusion proof"), node.ctx.chain_lock:
            verify_online(receipt, moved, chain.anchor.commitment_of, lambda a: True)
    stored = client.get(f"/v1/receipts/{bodies[0]['receipt']['requestId']}").json()
    assert stored["batch_id"] >= 1
    retained = client.get(
        f"/v1/receipts/{bodies[0]['receipt']['requestId']}/input",
        headers={"Authorization": f"Bearer {answers[0].headers['Cairn-Access']}"},
    ).json()
    assert retained == ["text 0"]


def test_models_carry_verifiable_manifests(node: Any, client: httpx.Client) -> None:
    models = client.get("/v1/models").json()["data"]
    assert {m["id"] for m in models} == {"all-MiniLM-L6-v2", "digits-logreg"}
    for m in models:
        index = ManifestIndex(node.ctx.data_dir.root / "provenance" / "index.json")
        result = verify(
            content.Cid.parse(m["manifest_cid"]),
            node.ctx.store,
            index,
            expected_signer=node.ctx.signer.address,
        )
        assert [s.cid for s in result.subjects] == [m["cid"]]
        assert result.card.name == m["id"]
        assert m["policy"]["kind"] in ("cosine", "tolerance")


@pytest.mark.parametrize("car", [True, False])
def test_trustless_gateway_serves_verifiable_blocks(
    client: httpx.Client, tmp_path: Any, car: bool
) -> None:
    cid = client.get("/v1/models").json()["data"][1]["cid"]  # the small digits model
    store = content.FilesystemBlockstore(tmp_path / "b")
    assert content.fetch(content.Cid.parse(cid), str(client.base_url), store, car=car) > 1
    names = [n for n, _ in content.list_directory(content.Cid.parse(cid), store)]
    assert "model.onnx" in names


def test_network_document_and_live_audit_are_honest(
    client: httpx.Client, node: Any, tmp_path: Any
) -> None:
    from cairn.chain.batch import BATCH_SETTLEMENT_ADDRESS

    doc = NetworkDocument.model_validate(client.get("/v1/network").json())
    assert doc.chain.kind == "embedded" and doc.inference.operators == 1
    assert doc.chain.contracts["BatchSettlement"] == BATCH_SETTLEMENT_ADDRESS  # placed by deploy
    report = json.dumps(audit_live(node.url, data_dir=DataDir(tmp_path)).to_dict())
    assert "one local process" in report and "one operator" in report


def test_rpc_proxy_relays_signed_transactions_and_signs_nothing(client: httpx.Client) -> None:
    ok = client.post("/v1/chain/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
    assert ok.json()["result"].startswith("0x")
    denied = client.post(
        "/v1/chain/rpc",
        json={"jsonrpc": "2.0", "id": 2, "method": "eth_sendTransaction", "params": [{}]},
    )
    assert "not allowed" in denied.json()["error"]["message"]
    relayed = client.post(
        "/v1/chain/rpc",
        json={"jsonrpc": "2.0", "id": 3, "method": "eth_sendRawTransaction", "params": ["0x00"]},
    )
    error = relayed.json()["error"]  # not a transaction: the chain refuses it, not the proxy
    assert error["code"] != -32601 and "not allowed" not in error["message"]


def test_metrics_and_health(client: httpx.Client) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["anchor_error"] is None and health["anchor_failures"] == 0
    text = client.get("/metrics").text
    assert "cairn_receipts_signed_total" in text and "cairn_requests_total" in text
    assert "cairn_anchor_failures_total 0.0" in text and "cairn_anchor_failing 0.0" in text


def test_cairn_audit_live_against_the_running_gateway(node: Any, tmp_path: Any) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "cairn", "audit", "--live", node.url, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**__import__("os").environ, "CAIRN_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["rosette"]) >= {"storage", "inference", "verification"}
    assert report["stage"]["stage"] == 0
    text = json.dumps(report)
    assert "one local process" in text and "one operator" in text
