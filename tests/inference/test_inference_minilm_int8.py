"""all-MiniLM-L6-v2-int8: built byte for byte from the float32 folder, its own policy,
batch- and thread-independent outputs, and the quality bound against float32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from cairn.errors import InferenceError
from cairn.inference import (
    MINILM_INT8_NAME,
    Embedder,
    build_minilm_int8,
    encode_tensors,
    evaluate_against_base,
    load_model_folder,
    parse_policy,
)
from cairn.inference.minilm_int8 import EVALUATION_BOUND, MINILM_INT8_POLICY, heldout_texts

TEXTS = ["A man is eating food.", "Thanks!", "", "The quick brown fox jumps over the lazy dog."]


@pytest.fixture(scope="module")
def int8(minilm_int8_dir: Path) -> Embedder:
    return Embedder.from_folder(minilm_int8_dir)


def test_the_build_is_reproducible_and_cached(
    minilm_int8_dir: Path, minilm_dir: Path, tmp_path: Path
) -> None:
    before = (minilm_int8_dir / "model.onnx").stat().st_mtime_ns
    assert build_minilm_int8(minilm_int8_dir, minilm_dir) == minilm_int8_dir
    assert (minilm_int8_dir / "model.onnx").stat().st_mtime_ns == before
    again = build_minilm_int8(tmp_path / "again", minilm_dir)
    for name in ("model.onnx", "cairn-model.json", "tokenizer.json"):
        assert (again / name).read_bytes() == (minilm_int8_dir / name).read_bytes(), name


def test_its_contract_names_its_own_policy_and_base(minilm_int8_dir: Path) -> None:
    spec = json.loads((minilm_int8_dir / "cairn-model.json").read_text())
    assert spec["name"] == MINILM_INT8_NAME and spec["opt_level"] == "extended"
    assert spec["policy"] == MINILM_INT8_POLICY
    assert len(spec["source"]["base_model_onnx_sha256"]) == 64
    graph = onnx.load(str(minilm_int8_dir / "model.onnx"))
    ops = [n.op_type for n in graph.graph.node]
    assert ops.count("MatMulInteger") == 12  # two feed-forward layers in each of six blocks
    float_matmuls = [n.name for n in graph.graph.node if n.op_type == "MatMul"]
    assert not [n for n in float_matmuls if "/ffn_" in n] and len(float_matmuls) == 36


def test_it_is_built_only_from_minilm(digits_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InferenceError, match="not all-MiniLM-L6-v2"):
        build_minilm_int8(tmp_path / "x", digits_dir)


def test_quality_bound_against_float32_on_the_heldout_texts(
    int8: Embedder, embedder: Embedder
) -> None:
    doc = evaluate_against_base(int8, embedder)
    assert doc["texts"] == len(heldout_texts()) >= 90
    assert doc["passed"] and doc["worst_cosine"] >= EVALUATION_BOUND == 0.99
    assert doc["worst_cosine"] < 0.9999  # it is a different model, not float32 renamed
    assert evaluate_against_base(int8, embedder) == doc  # the document is reproducible


def test_an_embedding_does_not_depend_on_its_batch(int8: Embedder) -> None:
    alone = np.concatenate([int8.embed([t]) for t in TEXTS])
    batched = int8.embed(TEXTS)
    np.testing.assert_allclose(alone, batched, atol=1e-6)
    policy = parse_policy(MINILM_INT8_POLICY)
    assert policy.agrees(int8.run(TEXTS[:1])[1], {"sentence_embedding": _t(batched[:1])})


def test_threads_and_repeats_give_the_same_bits(minilm_int8_dir: Path, int8: Embedder) -> None:
    inputs = int8.tokenize(TEXTS)
    first = encode_tensors(int8.model.runtime.run(inputs))
    for _ in range(20):
        assert encode_tensors(int8.model.runtime.run(inputs)) == first
    two = load_model_folder(minilm_int8_dir, threads=2).runtime
    policy = parse_policy(MINILM_INT8_POLICY)
    assert policy.agrees(int8.model.runtime.run(inputs), two.run(inputs))


def test_its_policy_tolerates_another_opt_level_but_not_float32(
    minilm_int8_dir: Path, int8: Embedder, embedder: Embedder
) -> None:
    inputs, expected = int8.run(heldout_texts()[:32])
    other = load_model_folder(minilm_int8_dir, opt_level="basic").runtime
    policy = parse_policy(MINILM_INT8_POLICY)
    assert policy.agrees(expected, other.run(inputs))
    assert not policy.agrees(expected, embedder.model.runtime.run(inputs))


def _t(a: np.ndarray) -> object:
    from cairn.inference import Tensor

    return Tensor.from_numpy(np.ascontiguousarray(a))
