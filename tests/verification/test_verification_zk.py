"""The zk tier: a real EZKL proof of the digits classifier, bound to a receipt's model, input
and output; forgeries fail with ZkError; a valid proof settles a dispute (jurors verify it)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from _vnet import DPARAMS, account, anchor_batch, key

pytest.importorskip("ezkl")

from cairn import content
from cairn.chain import DisputeKind, Outcome, commitment
from cairn.errors import CairnError, ZkError
from cairn.identity import LocalSigner
from cairn.inference import Tensor, build_digits_classifier, digits_split, load_model
from cairn.receipts import Receipt, ReceiptDomain, tensors_hash
from cairn.verification import (
    MemoryNodeSource,
    Reexecutor,
    RetainedIO,
    Validator,
    ValidatorState,
    zk,
)
from cairn.verification.zk.prover import ProvingQueue, ZkProver
from cairn.verification.zk.verifier import ZkVerifier


class World:
    """A digits model in a blockstore, its stored zk artifact, and a prover."""

    def __init__(self, root: Path) -> None:
        self.store = content.MemoryBlockstore()
        self.cid = str(content.add_path(build_digits_classifier(root / "model"), self.store))
        self.model = load_model(self.cid, self.store)
        self.x = digits_split()[1]
        started = time.perf_counter()
        art = zk.setup(self.cid, self.store, calibration=list(self.x[:16]))
        self.setup_s = time.perf_counter() - started
        self.artifact = zk.load_artifact(art.store(self.store, root / "zk"), self.store)
        self.prover = ZkProver(self.artifact)

    def receipt(self, chain, i: int, *, wrong: bool = False):
        """A signed receipt of image ``i`` and its retained I/O (``wrong``: another label)."""
        inputs = {"pixels": Tensor.from_numpy(self.x[i : i + 1])}
        outputs = dict(self.model.runtime.run(inputs))
        if wrong:
            label = (np.asarray(outputs["label"].to_numpy()) + 1) % 10
            outputs["label"] = Tensor.from_numpy(label.astype(np.int64))
        domain = (
            ReceiptDomain(chain.chain_id, chain.deployment.anchor)
            if chain
            else ReceiptDomain(31337, "0x" + "11" * 20)
        )
        node = LocalSigner(key("node"))
        r = Receipt(
            self.cid,
            tensors_hash(inputs),
            tensors_hash(outputs),
            node.address,
            os.urandom(32),
            (chain.now() if chain else 1_700_000_000) + i,  # inside the audit window
            "onnxruntime/test",
            7,
            domain,
        ).sign(node)
        io = RetainedIO(_json(inputs), _json(outputs))
        return r, inputs, io


def _json(tensors) -> bytes:
    from cairn.inference import tensors_to_json

    return json.dumps(tensors_to_json(tensors, b64=True)).encode()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("zk"))


@pytest.fixture(scope="module")
def proven(world):
    """One honest receipt with a real proof."""
    receipt, inputs, io = world.receipt(None, 0)
    started = time.perf_counter()
    proof = world.prover.prove(receipt, inputs)
    return receipt, io, proof, time.perf_counter() - started


@pytest.mark.slow
def test_a_real_proof_verifies_in_milliseconds(world, proven):
    receipt, io, proof, _prove_s = proven  # timings are measured in bench/verification.py
    policy = zk.model_policy(world.cid, world.store)
    reason = zk.verify_proof(
        zk.ZkProof.from_bytes(proof.to_bytes()), world.artifact, receipt, io, policy
    )
    assert reason.startswith("zk proof verified")
    assert world.artifact.manifest["model"] == world.cid
    assert world.artifact.manifest["tail"][0]["op"] == "Softmax"
    zk.check_derivation(world.artifact, world.store)  # anyone re-derives the same vk


def test_a_tampered_proof_fails(world, proven):
    receipt, io, proof, _ = proven
    body = json.loads(proof.proof)
    body["proof"][40] ^= 1
    forged = zk.ZkProof(proof.request_id, proof.artifact, json.dumps(body).encode())
    with pytest.raises(ZkError, match="does not verify"):
        zk.verify_proof(forged, world.artifact, receipt, io)


def test_a_proof_with_edited_public_outputs_fails(world, proven):
    receipt, io, proof, _ = proven
    body = json.loads(proof.proof)
    body["instances"][0][-1], body["instances"][0][-2] = body["instances"][0][-2:]
    forged = zk.ZkProof(proof.request_id, proof.artifact, json.dumps(body).encode())
    with pytest.raises(ZkError, match="does not verify"):
        zk.verify_proof(forged, world.artifact, receipt, io)


def test_a_proof_of_another_input_fails(world, proven):
    _receipt, _io, proof, _ = proven
    other, _inputs, other_io = world.receipt(None, 1)
    moved = zk.ZkProof(other.request_id, proof.artifact, proof.proof)
    with pytest.raises(ZkError, match="another input"):
        zk.verify_proof(moved, world.artifact, other, other_io)


def test_a_proof_does_not_cover_another_output(world, proven):
    receipt, _io, proof, _ = proven
    wrong, inputs, wrong_io = world.receipt(None, 0, wrong=True)
    assert tensors_hash(inputs) == receipt.input_hash
    moved = zk.ZkProof(wrong.request_id, proof.artifact, proof.proof)
    with pytest.raises(ZkError, match=r"outputs disagree.*label"):
        zk.verify_proof(moved, world.artifact, wrong, wrong_io)


def test_another_models_vk_fails(world, proven, tmp_path):
    receipt, io, proof, _ = proven
    other_folder = build_digits_classifier(tmp_path / "other")
    onnx_path = other_folder / "model.onnx"
    import onnx
    from onnx import numpy_helper

    m = onnx.load(onnx_path)
    w = next(i for i in m.graph.initializer if i.name == "weight")
    w.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(w) * 1.5, "weight"))
    onnx.save(m, onnx_path)
    other_cid = str(content.add_path(other_folder, world.store))
    other = zk.setup(other_cid, world.store, srs=world.artifact.files["srs"])
    with pytest.raises(ZkError, match="circuit is for model"):
        zk.verify_proof(proof, other, receipt, io)
    # the other model's keys passed off as this model's: the proof does not verify ...
    forged = zk.ZkArtifact({**other.manifest, "model": world.cid}, other.files)
    with pytest.raises(ZkError, match="does not verify"):
        zk.verify_proof(proof, forged, receipt, io)
    # ... and re-deriving the vk from the named model exposes the forgery
    with pytest.raises(ZkError, match="not the head of model"):
        zk.check_derivation(forged, world.store)


def test_an_artifact_whose_files_were_swapped_is_refused(world, tmp_path):
    folder = tmp_path / "bad"
    cid = world.artifact.store(world.store, folder)
    (folder / "vk.key").write_bytes(b"not a key")
    bad = str(content.add_path(folder, world.store))
    assert bad != cid
    with pytest.raises(CairnError, match=r"vk\.key does not match"):
        zk.load_artifact(bad, world.store)


def test_the_node_queue_proves_off_the_request_path(world, tmp_path):
    q = ProvingQueue(tmp_path / "proofs", {world.cid: world.artifact})
    receipt, inputs, io = world.receipt(None, 2)
    q.submit(receipt, inputs)
    assert q.get(receipt.request_id) is None  # submit queued it; proving happens elsewhere
    q.join()
    raw = q.get(receipt.request_id)
    q.stop()
    assert raw is not None and q.failures == 0
    verifier = ZkVerifier(world.store)
    assert verifier.verify(receipt, io, raw).startswith("zk proof verified")
    with pytest.raises(ZkError, match="untrusted SRS"):
        ZkVerifier(world.store, trusted_srs={"00"}).verify(receipt, io, raw)


def _jurors(net, world, source, tmp_path):
    out = {}
    for name in ("v2", "v3", "v4"):
        verifier = ZkVerifier(world.store)
        reexec = Reexecutor(world.store, zk=verifier)
        out[name] = Validator(
            net,
            account(name),
            reexec,
            ValidatorState(tmp_path / f"{name}.db"),
            sources=lambda _url: source,
        )
    return out


def _vote(net, dispute_id, votes):
    salts = {n: os.urandom(32) for n in votes}
    for n, vote in votes.items():
        a = account(n)
        net.disputes.commit(a, dispute_id, commitment(dispute_id, a.address, vote, salts[n]))
    net.increase_time(DPARAMS.commit_window + 1)
    for n, vote in votes.items():
        net.disputes.reveal(account(n), dispute_id, vote, salts[n])
    net.increase_time(DPARAMS.reveal_window + 1)


def test_a_valid_proof_settles_a_dispute(world, net, tmp_path):
    """An honest receipt with a proof: jurors verify it (no re-execution) and clear the node;
    a wrong receipt's proof does not cover its output, so jurors re-execute and convict."""
    from cairn.verification import evidence_for

    honest, h_in, h_io = world.receipt(net, 3)
    wrong, w_in, w_io = world.receipt(net, 4, wrong=True)
    batch = anchor_batch(net, [honest, wrong])
    source = MemoryNodeSource(
        batches={1: batch.receipts},
        blocks=world.store,
        io={honest.request_id: h_io, wrong.request_id: w_io},
        proofs={
            r.request_id: world.prover.prove(r, i).to_bytes()
            for r, i in ((honest, h_in), (wrong, w_in))
        },
    )
    jurors = _jurors(net, world, source, tmp_path)
    outcomes = {}
    for receipt in (honest, wrong):
        opened = net.disputes.open(
            account("v1"),
            evidence_for(receipt, batch.receipts, 1),
            b"\x01" * 32,
            DisputeKind.WRONG_OUTPUT,
        )
        net.increase_time(1)
        net.disputes.draw(account("v1"), opened.value)
        dispute = next(d for d in net.disputes.opened(0) if d.id == opened.value)
        findings = {n: j.reexecutor.audit(dispute.receipt, source) for n, j in jurors.items()}
        seated = set(net.disputes.dispute(opened.value).committee)
        votes = {n: j.judge(dispute) for n, j in jurors.items() if j.address in seated}
        _vote(net, opened.value, votes)
        outcomes[receipt.request_id] = (
            net.disputes.resolve(account("v1"), opened.value).value,
            findings,
        )
    cleared, findings = outcomes[honest.request_id]
    assert cleared is Outcome.CLEARED
    assert all(f.reason.startswith("zk proof verified") for f in findings.values())
    guilty, findings = outcomes[wrong.request_id]
    assert guilty is Outcome.GUILTY
    assert all(f.kind is DisputeKind.WRONG_OUTPUT for f in findings.values())
