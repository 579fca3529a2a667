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
4. Framing and escape. The expected value of framing an honest node for coalitions up to
   a third of the juror pool's stake (and beyond, to show where it turns), by simulating
   the contract's stake-weighted draw over Sybil-split pools and exactly
   (:mod:`cairn.verification.economics`), with the network's default parameters; and the
   probability that a cheater escapes when a share of the validators colludes with it.

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


def framing(trials: int) -> dict[str, object]:
    from cairn.chain import DisputeParams
    from cairn.verification.economics import escape_probability, framing_ev, framing_ev_exact

    params, ether = DisputeParams(), 10**18
    rows: list[dict[str, float]] = []
    honest = [ether] * 10 + [10 * ether] * 3  # a few large validators, many small ones
    for share in (0.1, 0.2, 0.3, 0.33, 0.5):
        # the coalition splits its stake into minimum-stake identities (0.1 ETH each)
        count = round(share * sum(honest) / (1 - share) / (ether // 10))
        for stake in (2 * ether, 1000 * ether):
            sim = framing_ev(params, stake, honest, [ether // 10] * (count + 1), trials, seed=7)
            exact = framing_ev_exact(params, stake, sim.share)
            rows.append(
                {
                    "share": round(sim.share, 4),
                    "node_stake_eth": stake // ether,
                    "ev_eth_simulated": sim.ev_wei / ether,
                    "ev_eth_exact": exact.ev_wei / ether,
                    "p_guilty": sim.p_guilty,
                }
            )
    under = [r["ev_eth_simulated"] for r in rows if r["share"] < 1 / 3]
    return {
        "framing_ev": rows,
        "framing_ev_max_eth_under_a_third": max(under),
        "framing_params": {
            "committee_size": params.committee_size,
            "challenge_bond_eth": params.challenge_bond / ether,
            "max_reward_bonds": params.max_reward_bonds,
            "juror_penalty_eth": params.juror_penalty / ether,
        },
        "escape_probability": {
            str(q): escape_probability(P, F, N, params.committee_size, q) for q in (0.0, 0.2, 1 / 3)
        },
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
    result.update(framing(20_000 if args.quick else 200_000))
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
