"""The float32 MiniLM runtime is bitwise reproducible at a fixed thread count."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.inference import Embedder, encode_tensors

TEXTS = [
    "A man is eating food.",
    "Cairn anchors receipts on an EVM chain; validators re-execute a random sample.",
    "",
    "word " * 60,
]


@pytest.mark.parametrize("threads", [1, 2])
def test_float32_outputs_are_bitwise_identical_across_100_runs(
    minilm_dir: Path, threads: int
) -> None:
    embedder = Embedder.from_folder(minilm_dir, threads=threads)
    inputs = embedder.tokenize(TEXTS)
    first = encode_tensors(embedder.model.runtime.run(inputs))
    for _ in range(99):
        assert encode_tensors(embedder.model.runtime.run(inputs)) == first
