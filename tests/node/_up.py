"""``cairn up`` as its own process, the way a user starts it, for the tests that kill it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

UpProcess = Callable[[Path, int], "subprocess.Popen[str]"]


def up_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "CAIRN_DATA_DIR": str(data_dir), "CAIRN_PASSPHRASE": "up-test"}


def start_up(data_dir: Path, port: int) -> subprocess.Popen[str]:
    """Start ``cairn up`` and wait for ``/healthz`` (3 minutes at most)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cairn", "up", "--port", str(port), "--batch-seconds", "0.5"],
        env=up_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("cairn up did not come up")
