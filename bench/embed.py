"""How fast is cairn's MiniLM runtime? Against sentence-transformers and the hardware.

All in one run, interleaved round by round (medians), on the same texts:

- cairn's all-MiniLM-L6-v2 (ONNX Runtime, as a node serves it) and
  sentence-transformers on the CPU torch wheel, batch 64 and batch 1, one and
  two threads;
- cairn's all-MiniLM-L6-v2-int8 (the quantized variant), one thread;
- the limit: a single-thread float32 matrix product in numpy (BLAS), shaped
  like MiniLM's feed-forward layer at batch 64.

MiniLM's FLOPs per text are counted from the graph's MatMul weight shapes and
each text's own token count (no padding): ``2·n·ΣK·N`` for the linear layers
plus ``4·n²·hidden`` per layer for attention — the work any implementation must
do. Writes bench/results/embed.json.

    python bench/embed.py [--quick]

Targets (issue 11): float32 ratios >= 1.0 (batch 1 >= 1.8), limit_share_t1_b64
>= 0.85; ratio_int8_t1_b64 >= 1.8.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from threadpoolctl import threadpool_limits

from cairn.inference import Embedder, build_minilm, build_minilm_int8, minilm_source_dir
from cairn.inference.minilm_int8 import heldout_texts

RESULTS = Path(__file__).parent / "results" / "embed.json"


def _texts(n: int) -> list[str]:
    base = [t for t in heldout_texts() if len(t) <= 80]  # short texts, as the issue measures
    order = np.random.default_rng(11).permutation(len(base) * (n // len(base) + 1))
    return [base[i % len(base)] for i in order[:n]]


def _flops_per_text(model_onnx: Path, embedder: Embedder, texts: Sequence[str]) -> float:
    graph = onnx.load(str(model_onnx)).graph
    weights = {t.name: t for t in graph.initializer}
    linear = sum(
        int(np.prod(numpy_helper.to_array(weights[n.input[1]]).shape))
        for n in graph.node
        if n.op_type == "MatMul" and n.input[1] in weights
    )
    hidden, layers = embedder.dim, sum(1 for n in graph.node if n.op_type == "Softmax")
    # each text's own tokens (the attention mask), not the batch's padding
    lengths = [int(embedder.tokenize([t])["attention_mask"].to_numpy().sum()) for t in texts]
    per = [2 * n * linear + 4 * n * n * hidden * layers for n in lengths]
    return float(np.mean(per))


def _rate(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def _chunks(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer texts and rounds, same keys")
    args = ap.parse_args()
    rounds, n64, n1 = (3, 128, 32) if args.quick else (7, 256, 96)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import sentence_transformers
    import torch

    texts = _texts(n64)
    with tempfile.TemporaryDirectory() as tmp:
        float_dir = build_minilm(Path(tmp) / "minilm")
        int8_dir = build_minilm_int8(Path(tmp) / "minilm-int8", float_dir)
        cairn = {t: Embedder.from_folder(float_dir, threads=t) for t in (1, 2)}
        int8 = Embedder.from_folder(int8_dir, threads=1)
        flops = _flops_per_text(float_dir / "model.onnx", cairn[1], texts)
    reference = sentence_transformers.SentenceTransformer(str(minilm_source_dir()), device="cpu")

    def st(threads: int, batch: int, items: Sequence[str]) -> Callable[[], None]:
        def run() -> None:
            torch.set_num_threads(threads)
            for chunk in _chunks(items, batch):
                reference.encode(chunk, batch_size=batch, convert_to_numpy=True)

        return run

    def ours(embedder: Embedder, batch: int, items: Sequence[str]) -> Callable[[], None]:
        return lambda: [embedder.embed(chunk) for chunk in _chunks(items, batch)] and None

    a = np.random.default_rng(0).random((64 * 16, 384), dtype=np.float32)
    b = np.random.default_rng(1).random((384, 1536), dtype=np.float32)

    def matmul() -> None:
        with threadpool_limits(1):
            for _ in range(8):
                a @ b

    cases: dict[str, tuple[Callable[[], None], int]] = {}
    for t in (1, 2):
        cases[f"cairn_t{t}_b64"] = (ours(cairn[t], 64, texts), len(texts))
        cases[f"st_t{t}_b64"] = (st(t, 64, texts), len(texts))
        cases[f"cairn_t{t}_b1"] = (ours(cairn[t], 1, texts[:n1]), n1)
        cases[f"st_t{t}_b1"] = (st(t, 1, texts[:n1]), n1)
    cases["int8_t1_b64"] = (ours(int8, 64, texts), len(texts))
    cases["int8_t1_b1"] = (ours(int8, 1, texts[:n1]), n1)
    cases["matmul_1thread"] = (matmul, 8 * 2 * a.shape[0] * a.shape[1] * b.shape[1])
    for fn, _ in cases.values():  # warm up: first-call allocations, lazy imports
        fn()
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for key, (fn, n) in cases.items():
            samples[key].append(_rate(fn, n))
    rates = {k: statistics.median(v) for k, v in samples.items()}
    limit = rates.pop("matmul_1thread")
    achieved = rates["cairn_t1_b64"] * flops
    result = {
        "benchmark": "embed",
        "quick": args.quick,
        "rounds": rounds,
        "texts": {
            "b64": len(texts),
            "b1": n1,
            "source": "cairn.inference held-out texts of <= 80 characters",
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "versions": {
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        },
        "texts_per_s": {k: round(v, 1) for k, v in rates.items()},
        "ratio_t1_b64": round(rates["cairn_t1_b64"] / rates["st_t1_b64"], 3),
        "ratio_t2_b64": round(rates["cairn_t2_b64"] / rates["st_t2_b64"], 3),
        "ratio_t1_b1": round(rates["cairn_t1_b1"] / rates["st_t1_b1"], 3),
        "ratio_t2_b1": round(rates["cairn_t2_b1"] / rates["st_t2_b1"], 3),
        "ratio_int8_t1_b64": round(rates["int8_t1_b64"] / rates["st_t1_b64"], 3),
        "ratio_int8_to_float_t1_b64": round(rates["int8_t1_b64"] / rates["cairn_t1_b64"], 3),
        "flops_per_text": round(flops),
        "matmul_1thread_gflop_s": round(limit / 1e9, 1),
        "cairn_t1_b64_gflop_s": round(achieved / 1e9, 1),
        "limit_share_t1_b64": round(achieved / limit, 3),
    }
    result["targets_met"] = {
        "ratios_float": min(result[k] for k in ("ratio_t1_b64", "ratio_t2_b64", "ratio_t1_b1"))
        >= 1.0,
        "ratio_t1_b1": result["ratio_t1_b1"] >= 1.8,
        "limit_share_t1_b64": result["limit_share_t1_b64"] >= 0.85,
        "ratio_int8_t1_b64": result["ratio_int8_t1_b64"] >= 1.8,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        if key not in ("benchmark", "machine", "versions", "texts"):
            print(f"{key}: {value}")
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
