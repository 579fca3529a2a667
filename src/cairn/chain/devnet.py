"""A local Anvil for development, tests and benchmarks, started and stopped cleanly.

npm's ``@foundry-rs/anvil`` installs ``node_modules/.bin/anvil``, a small Node
wrapper that spawns the native binary. Killing the wrapper alone leaves the
binary running (and holding its port), so Anvil is started in its own process
group and the whole group is stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

from cairn.errors import ChainUnreachable

__all__ = ["Anvil", "free_port", "rpc_answers"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def rpc_answers(url: str) -> bool:
    """True if a JSON-RPC chain answers ``eth_chainId`` at ``url`` (directly: no proxy)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        with httpx.Client(trust_env=False, timeout=1) as http:
            return http.post(url, json=body).status_code == 200
    except httpx.HTTPError:
        return False


class Anvil:
    """``with Anvil(exe) as url: ...`` — Anvil on a free port; its chain id is 31337."""

    def __init__(self, exe: Path, *, timeout_s: float = 60.0) -> None:
        self.exe, self.timeout_s = exe, timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        if not self.exe.exists():
            raise ChainUnreachable(f"anvil not found at {self.exe}: run `npm ci`")
        self._proc = subprocess.Popen(
            [str(self.exe), "--port", str(self.port), "--host", "127.0.0.1", "--silent"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.timeout_s
        while not rpc_answers(self.url):
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise ChainUnreachable(f"anvil exited with {self._proc.returncode}: {err[-300:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise ChainUnreachable(f"anvil did not answer within {self.timeout_s:.0f} s")
            time.sleep(0.1)
        return self.url

    def stop(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=10)
        if self._proc.stderr is not None:
            self._proc.stderr.close()
        self._proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
