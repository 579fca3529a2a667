"""Interop fixtures: the agent0-sdk venv (a client we did not write), from `make test`."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
AGENT0_PYTHON = ROOT / ".venv-agent0" / "bin" / "python"


@pytest.fixture(scope="session")
def agent0_python() -> Path:
    """The interpreter of .venv-agent0, where the unmodified PyPI agent0-sdk lives."""
    if not AGENT0_PYTHON.exists():
        pytest.fail("agent0-sdk venv missing: run `make test` (it builds .venv-agent0)")
    return AGENT0_PYTHON
