"""What do receipts cost on the request path? cairn's gateway against a bare endpoint.

Serves all-MiniLM-L6-v2 two ways in the same run, each in its own process:
(a) a bare FastAPI + onnxruntime endpoint (bench/_bare_server.py: no receipts),
(b) ``cairn up`` (a signed EIP-712 receipt per answer, stored with its input and
output in SQLite, batched and anchored on the embedded chain in the background).
Same texts, concurrency 1 and 8, measured in pairs of adjacent short windows (bare
then cairn, then cairn then bare), so that both halves of a pair share whatever
else the shared machine is doing; a ratio is the median of its pairs' ratios
(every pair is listed in the JSON), rps and latencies the medians of the windows.
Beside each window, the server's CPU per request (``/proc``: every thread, the
batcher's too): ``server_cpu_us_c8`` and ``server_cpu_ratio_c8`` (bare over cairn),
which the machine's other tenants move less than throughput.
Also the cost of signing one receipt and verifying one offline,
and the cold start of the network in a box: ``cairn up`` again on the data dir
the run built (the model already imported), seconds from the process's spawn to
the first answer whose receipt verifies offline against the pinned network
(``up_ready_s``, target <= 5 s) and to its inclusion proof verifying against the
anchor onchain (``up_anchored_s``).

    python bench/gateway.py [--quick]

Writes bench/results/gateway.json. Targets (issues 4 and 11): throughput at
concurrency 8 >= 0.95x of bare; added p50 latency <= 1 ms; up_ready_s <= 5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from cairn.content import Cid
from cairn.errors import CairnError
from cairn.identity import LocalSigner
from cairn.node.server import free_port
from cairn.receipts import Receipt, ReceiptDomain, texts_hash, verify_offline

RESULTS = Path(__file__).parent / "results" / "gateway.json"
TEXTS = [f"sentence number {i} about stones, trails and verifiable answers" for i in range(64)]


def _start(cmd: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def _load(url: str, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        with httpx.Client(timeout=60) as client:
            i = n
            while time.monotonic() < stop:
                body = {"model": "all-MiniLM-L6-v2", "input": [TEXTS[i % len(TEXTS)]]}
                t = time.perf_counter()
                resp = client.post(f"{url}/v1/embeddings", json=body)
                dt = time.perf_counter() - t
                if resp.status_code != 200:
                    raise SystemExit(f"{url}: {resp.status_code} {resp.text[:200]}")
                with lock:
                    latencies.append(dt)
                i += concurrency

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": 1e3 * latencies[len(latencies) // 2],
        "p99_ms": 1e3 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "requests": len(latencies),
    }


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _up(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "cairn", "up", "--port", str(port), *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _cold_start(env: dict[str, str], data_dir: Path) -> tuple[float, float]:
    """``cairn up`` on a data dir that has everything: seconds to the first answer
    verified offline against the pinned network, and to its proof verified onchain."""
    from cairn.chain import load_network
    from cairn.client import GatewayClient
    from cairn.config import DataDir

    port = free_port()
    began = time.perf_counter()
    proc = _up(env, port, "--batch-seconds", "0.2")
    try:
        with GatewayClient(f"http://127.0.0.1:{port}", timeout=30) as gw:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"cairn up exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                try:
                    answer = gw.embed([TEXTS[0]])
                    break
                except CairnError:
                    time.sleep(0.02)
            network = load_network(DataDir(data_dir), "local")
            receipt = gw.verify(answer, domain=network.domain)
            ready = time.perf_counter() - began
            gw.verify_online(receipt, network, wait_s=60, data_dir=DataDir(data_dir))
            anchored = time.perf_counter() - began
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return ready, anchored


def _receipt_costs(n: int) -> tuple[float, float]:
    signer = LocalSigner.generate()
    domain = ReceiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    sep = domain.separator
    model = str(Cid.of(b"model"))
    base = Receipt(
        model, texts_hash(["x"]), bytes(32), signer.address, bytes(32), 0, "onnxruntime", 0, domain
    )
    t = time.perf_counter()
    signed = [base.sign(signer, sep) for _ in range(n)]
    sign_us = 1e6 * (time.perf_counter() - t) / n
    t = time.perf_counter()
    for r in signed:
        verify_offline(r, expected_node=signer.address)
    verify_us = 1e6 * (time.perf_counter() - t) / n
    return sign_us, verify_us


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short runs (< 2 minutes)")
    args = ap.parse_args()
    seconds, rounds = (3.0, 7) if args.quick else (4.0, 12)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CAIRN_DATA_DIR": tmp, "CAIRN_PASSPHRASE": "bench"}
        cairn_port, bare_port = free_port(), free_port()
        cairn_url, bare_url = f"http://127.0.0.1:{cairn_port}", f"http://127.0.0.1:{bare_port}"
        procs = [
            _start(
                [
                    sys.executable,
                    "-m",
                    "cairn",
                    "up",
                    "--port",
                    str(cairn_port),
                    "--batch-size",
                    "10000",
                    "--batch-seconds",
                    "5",
                ],
                env,
                cairn_url,
            )
        ]
        model_dir = Path(tmp) / "models" / "all-MiniLM-L6-v2"
        procs.append(
            _start(
                [
                    sys.executable,
                    str(Path(__file__).parent / "_bare_server.py"),
                    str(model_dir),
                    str(bare_port),
                ],
                env,
                bare_url,
            )
        )
        try:
            for url in (bare_url, cairn_url):
                _load(url, 2, 2.0)  # warm up
            runs: dict[str, dict[int, list[dict[str, float]]]] = {
                "bare": {1: [], 8: []},
                "cairn": {1: [], 8: []},
            }
            for c in (1, 8):
                for i in range(rounds):
                    order = [("bare", bare_url, procs[1]), ("cairn", cairn_url, procs[0])]
                    for name, url, proc in order if i % 2 == 0 else order[::-1]:
                        before = _cpu_s(proc.pid)
                        run = _load(url, c, seconds)
                        run["cpu_us"] = 1e6 * (_cpu_s(proc.pid) - before) / run["requests"]
                        runs[name][c].append(run)
                    b, r = runs["bare"][c][-1], runs["cairn"][c][-1]
                    print(
                        f"c={c} pair {i + 1}: bare {b['rps']:6.1f} req/s p50 {b['p50_ms']:6.2f} ms"
                        f" | cairn {r['rps']:6.1f} req/s p50 {r['p50_ms']:6.2f} ms"
                        f" | ratio {r['rps'] / b['rps']:.3f}"
                    )
            anchored = httpx.get(f"{cairn_url}/healthz").json()
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=60)
        starts = [_cold_start(env, Path(tmp)) for _ in range(1 if args.quick else 3)]
        for ready, proven in starts:
            print(f"cold start: answer verified in {ready:.2f} s, anchored in {proven:.2f} s")
    med = {
        name: {c: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for c, rs in by_c.items()}
        for name, by_c in runs.items()
    }
    pairs = {
        c: [r["rps"] / b["rps"] for b, r in zip(runs["bare"][c], runs["cairn"][c], strict=True)]
        for c in (1, 8)
    }
    added = {
        c: [
            r["p50_ms"] - b["p50_ms"]
            for b, r in zip(runs["bare"][c], runs["cairn"][c], strict=True)
        ]
        for c in (1, 8)
    }
    sign_us, verify_us = _receipt_costs(2000)
    result: dict[str, Any] = {
        "benchmark": "gateway",
        "quick": args.quick,
        "seconds_per_run": seconds,
        "rounds": rounds,  # pairs of windows per concurrency
        "cores": os.cpu_count(),
        "bare": med["bare"],
        "cairn": med["cairn"],
        "throughput_ratio_c1": round(statistics.median(pairs[1]), 3),
        "throughput_ratio_c8": round(statistics.median(pairs[8]), 3),
        "throughput_ratio_c8_pairs": [round(x, 3) for x in pairs[8]],
        # the server's CPU a request (all threads: the batcher's too), the median of the
        # windows: less at the mercy of the shared machine than throughput
        "server_cpu_us_c8": {n: round(med[n][8]["cpu_us"]) for n in ("bare", "cairn")},
        "server_cpu_ratio_c8": round(med["bare"][8]["cpu_us"] / med["cairn"][8]["cpu_us"], 3),
        "added_p50_ms": round(statistics.median(added[1]), 3),
        "added_p50_ms_c8": round(statistics.median(added[8]), 3),
        "sign_us": round(sign_us, 1),
        "verify_us": round(verify_us, 1),
        "anchor_error": anchored.get("anchor_error"),
        "up_ready_s": round(statistics.median(r for r, _ in starts), 2),
        "up_anchored_s": round(statistics.median(a for _, a in starts), 2),
    }
    result["targets"] = {
        "throughput_ratio_c8 >= 0.95": result["throughput_ratio_c8"] >= 0.95,
        "added_p50_ms <= 1": result["added_p50_ms"] <= 1.0,
        "up_ready_s <= 5": result["up_ready_s"] <= 5.0,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("bare", "cairn")}, indent=2))


if __name__ == "__main__":
    main()
