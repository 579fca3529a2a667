"""Fixtures for the inference tests: the two model folders (MiniLM built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.inference import Embedder, build_minilm, build_minilm_int8, digits_folder


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_minilm(tmp_path_factory.mktemp("models") / "minilm")


@pytest.fixture(scope="session")
def embedder(minilm_dir: Path) -> Embedder:
    return Embedder.from_folder(minilm_dir)


@pytest.fixture(scope="session")
def digits_dir() -> Path:
    """The prebuilt folder that ships with cairn, as nodes serve it (read-only)."""
    return digits_folder()


@pytest.fixture(scope="session")
def minilm_int8_dir(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path) -> Path:
    return build_minilm_int8(tmp_path_factory.mktemp("models") / "minilm-int8", minilm_dir)
