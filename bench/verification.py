"""Verification: how fast sampling catches a cheater, and what auditing costs.

1. Detection. For sampling rate p and cheating rate f, the probability that a
   cheater is caught within n requests is 1-(1-p·f)^n. Checked two ways: many
   simulated trials (geometric draws), and fewer trials that run the protocol's
   own keccak sampler (:func:`cairn.verification.is_sampled`) on random block hashes.
   Plus one real run: chain, nodes and validators as processes (the Anvil
   adversarial test), which must end with every cheater slashed.
2. Overhead. Validator CPU seconds (re-executing a p-sample: fetch-decode,
   hash checks, inference, policy) over serving CPU seconds (decode, inference,
   hashes, EIP-712 signature) for the same requests, in this process.
3. zk. EZKL setup, prove and verify times for the digits classifier (if EZKL works here).

Writes bench/results/verification.json. ``--quick`` finishes in well under five minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cairn.content import MemoryBlockstore
from cairn.identity import LocalSigner
from cairn.inference import (
    build_digits_classifier,
    digits_split,
    parse_policy,
    tensors_from_json,
    tensors_to_json,
)
from cairn.provenance import Card, ManifestIndex, publish
from cairn.receipts import Receipt, ReceiptDomain, tensors_hash
from cairn.verification import (
    MemoryNodeSource,
    Reexecutor,
    RetainedIO,
    detection_probability,
    is_sampled,
    requests_to_detect,
    simulate_detection,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "verification.json"
P, F, N = 0.05, 0.01, 10_000


def detection(trials: int, sampler_trials: int) -> dict[str, object]:
    analytic = detection_probability(P, F, N)
    simulated, caught = simulate_detection(P, F, N, trials, seed=1)
    rng = np.random.default_rng(2)
    hits = 0
    ppm = int(P * 1_000_000)
    for _ in range(sampler_trials):  # the protocol's own sampler, one seed per batch of 100
        for _batch in range(N // 100):
            seed = rng.bytes(32)
            wrong = np.flatnonzero(rng.random(100) < F)
            if any(is_sampled(seed, int(i), ppm) for i in wrong):
                hits += 1
                break
    return {
        "p": P,
        "f": F,
        "n": N,
        "detection_probability": round(analytic, 6),
        "simulated": round(simulated, 6),
        "simulated_trials": trials,
        "sampler_simulated": round(hits / sampler_trials, 6),
        "sampler_trials": sampler_trials,
        "median_requests_to_slash": int(np.median(caught)) if caught else None,
        "requests_for_0.99": requests_to_detect(P, F, 0.99),
    }


def overhead(requests: int) -> dict[str, object]:
    import tempfile

    store = MemoryBlockstore()
    signer = LocalSigner(os.urandom(32))
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_digits_classifier(Path(tmp) / "digits")
        card = Card(
            "model",
            "digits-logreg",
            "1",
            "Apache-2.0",
            policy=parse_policy({"kind": "tolerance", "atol": 1e-5}),
        )
        pub = publish(folder, card, signer, store, ManifestIndex(Path(tmp) / "index.json"))
    from cairn.inference import load_model

    model = load_model(pub.artifact_cid, store)
    domain = ReceiptDomain(1, "0x" + "11" * 20)
    pixels = digits_split()[1]
    source = MemoryNodeSource(blocks=store)
    receipts = []
    t0 = time.process_time()
    for i in range(requests):
        body = {
            "pixels": {
                "dtype": "float32",
                "shape": [1, 64],
                "data": [float(x) for x in pixels[i % len(pixels)]],
            }
        }
        inputs = tensors_from_json(body)
        outputs = model.runtime.run(inputs)
        in_blob = json.dumps(tensors_to_json(inputs, b64=True)).encode()
        out_blob = json.dumps(tensors_to_json(outputs, b64=True)).encode()
        r = Receipt(
            str(pub.artifact_cid),
            tensors_hash(inputs),
            tensors_hash(outputs),
            signer.address,
            os.urandom(32),
            0,
            "bench",
            0,
            domain,
        ).sign(signer)
        receipts.append(r)
        source.io[r.request_id] = RetainedIO(in_blob, out_blob)
    serving = time.process_time() - t0
    rex = Reexecutor(MemoryBlockstore())
    rex.load(str(pub.artifact_cid), source)  # model fetched once per validator, not per audit
    seed = os.urandom(32)
    t0 = time.process_time()
    audited = 0
    for i, r in enumerate(receipts):
        if is_sampled(seed, i, int(P * 1_000_000)):
            assert rex.audit(r, source).ok
            audited += 1
    validator = time.process_time() - t0
    return {
        "requests": requests,
        "audited": audited,
        "serving_cpu_s": round(serving, 4),
        "validator_cpu_s": round(validator, 4),
        "validator_cpu_ratio": round(validator / serving, 4),
        "request_path_added": "none (sampling and audits run after anchoring)",
    }


def real_run() -> dict[str, object]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/verification/test_verification_adversarial.py",
            "-k",
            "anvil",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return {
        "real_run_slashed": proc.returncode == 0,
        "real_run_s": round(time.monotonic() - t0, 1),
        "real_run": "5 node, 4 validator and 1 Anvil processes; 4 cheaters slashed, "
        "1 bad challenger loses its bond, balances checked to the wei",
    }


def zk(proofs: int) -> dict[str, object]:
    """Setup (compile, dev SRS, keys, calibration), then prove and verify ``proofs`` receipts
    of the digits classifier; medians. Verify = the full receipt check (proof, input felts,
    output comparison), with the artifact already loaded and its vk re-derived once."""
    import tempfile

    from cairn import content
    from cairn.inference import Tensor, load_model
    from cairn.verification import zk as zklib
    from cairn.verification.zk.prover import ZkProver

    store = MemoryBlockstore()
    with tempfile.TemporaryDirectory() as tmp:
        cid = str(content.add_path(build_digits_classifier(Path(tmp) / "m"), store))
        x = digits_split()[1]
        t0 = time.perf_counter()
        art = zklib.setup(cid, store, calibration=list(x[:16]))
        setup_s = time.perf_counter() - t0
        art = zklib.load_artifact(art.store(store, Path(tmp) / "zk"), store)
        t0 = time.perf_counter()
        zklib.check_derivation(art, store)
        derive_s = time.perf_counter() - t0
    model, prover = load_model(cid, store), ZkProver(art)
    policy = zklib.model_policy(cid, store)
    signer, domain = LocalSigner(os.urandom(32)), ReceiptDomain(1, "0x" + "11" * 20)
    prove_s, verify_ms = [], []
    for i in range(proofs):
        inputs = {"pixels": Tensor.from_numpy(x[i : i + 1])}
        outputs = model.runtime.run(inputs)
        r = Receipt(
            cid,
            tensors_hash(inputs),
            tensors_hash(outputs),
            signer.address,
            os.urandom(32),
            1,
            model.runtime.fingerprint,
            0,
            domain,
        ).sign(signer)
        io = RetainedIO(
            json.dumps(tensors_to_json(inputs, b64=True)).encode(),
            json.dumps(tensors_to_json(outputs, b64=True)).encode(),
        )
        t0 = time.perf_counter()
        proof = prover.prove(r, inputs)
        prove_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        zklib.verify_proof(proof, art, r, io, policy)
        verify_ms.append((time.perf_counter() - t0) * 1000)
    prover.close()
    return {
        "zk_setup_s": round(setup_s, 3),
        "zk_prove_s": round(float(np.median(prove_s)), 3),
        "zk_verify_ms": round(float(np.median(verify_ms)), 2),
        "zk_derive_vk_s": round(derive_s, 3),
        "zk_logrows": art.manifest["logrows"],
        "zk_output_atol": art.manifest["output_atol"],
        "zk_note": "EZKL, digits head (Mul+MatMul+Add = logits; Softmax/ArgMax recomputed by "
        "the verifier), scale 2^12, public input/output, dev SRS; "
        f"median of {proofs} proofs",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    result: dict[str, object] = {"bench": "verification", "quick": args.quick}
    result.update(detection(20_000 if args.quick else 200_000, 50 if args.quick else 400))
    result.update(overhead(2_000 if args.quick else 20_000))
    result.update(real_run())
    result.update(zk(3 if args.quick else 20))
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
