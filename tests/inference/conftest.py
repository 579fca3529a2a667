"""Fixtures for the inference tests: the two model folders, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.inference import Embedder, build_digits_classifier, build_minilm


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_minilm(tmp_path_factory.mktemp("models") / "minilm")


@pytest.fixture(scope="session")
def embedder(minilm_dir: Path) -> Embedder:
    return Embedder.from_folder(minilm_dir)


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_digits_classifier(tmp_path_factory.mktemp("models") / "digits")
