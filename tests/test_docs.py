"""The docs run as written: every ``cairn`` command in README.md and docs/*.md.

Each ``sh`` block is a flow a reader types, top to bottom; it runs as one bash
script (``set -euo pipefail``) in a fresh sandbox: its own data dir, the fixture
files the pages talk about (``model/``, ``data/``, ``request.json`` ...), and its
own network and pid namespaces, so ``cairn up`` gets the documented port 8000
whatever else runs on this machine, and a peer the page starts in the background
(Anvil, arlocal, from ``node_modules/.bin`` as in a clone) ends with the flow.
A line that starts ``cairn up`` is the one thing not run verbatim in the
foreground: it is started in the background (the reader's first terminal) and the
flow waits for its ``/healthz`` before going on. A block
without any ``cairn`` command (``make demo``) is not a flow: CI runs those.

So a doc can no longer drift from the code: a renamed option, a missing flag or
a command that fails breaks this test, naming the page and the line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
_UNSHARE = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", "--"]
_FENCE = re.compile(r"^```(\w*)\s*$")
_COMMAND = re.compile(r"(^|\$\(|\|\s*|&&\s*)cairn\s")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based, of the opening fence
    lang: str
    text: str

    @property
    def commands(self) -> list[str]:
        return [ln for ln in self.text.splitlines() if _COMMAND.search(ln.split("#", 1)[0])]

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    found, lang, start, body = [], None, 0, []
    for n, line in enumerate(page.read_text().splitlines(), 1):
        fence = _FENCE.match(line)
        if fence and lang is None:
            lang, start, body = fence.group(1), n, []
        elif line.startswith("```") and lang is not None:
            found.append(Block(page, start, lang, "\n".join(body)))
            lang = None
        elif lang is not None:
            body.append(line)
    return found


def flows() -> list[Block]:
    """Every ``sh`` block with a ``cairn`` command, in page order."""
    return [b for page in PAGES for b in blocks(page) if b.lang == "sh" and b.commands]


def test_every_documented_command_is_in_a_block_that_runs() -> None:
    """A ``cairn`` command shown anywhere but an ``sh`` block would escape the flow test."""
    stray = [
        f"{b.where()} ({b.lang or 'no language'}): {b.commands[0].strip()}"
        for page in PAGES
        for b in blocks(page)
        if b.commands and b.lang not in ("sh", "python", "yaml", "json")
    ]
    assert not stray, "cairn commands outside sh blocks:\n" + "\n".join(stray)
    assert len([c for b in flows() for c in b.commands]) >= 30


_WAIT_UP = """
cairn-docs-up() {{  # the page's `cairn up`, in the background ("another terminal")
  ( {line} ) > "$SANDBOX/up.log" 2>&1 &
  UP_PID=$!
  for _ in $(seq 1 240); do
    if curl -sf http://127.0.0.1:${{CAIRN_PORT:-8000}}/healthz > /dev/null; then return 0; fi
    if ! kill -0 "$UP_PID" 2> /dev/null; then cat "$SANDBOX/up.log" >&2; return 1; fi
    sleep 0.5
  done
  echo "cairn up did not become healthy" >&2; return 1
}}
cairn-docs-up
"""


def script(block: Block) -> str:
    """A block as a bash script: `cairn up` in the background, the rest verbatim."""
    out = [
        "set -euo pipefail",
        # `cairn up` stops cleanly; any other background peer ends with the pid namespace
        'trap \'[ -n "${UP_PID:-}" ] && kill -INT "$UP_PID" 2> /dev/null && wait "$UP_PID"\' EXIT',
        "ip link set lo up",
    ]
    for n, line in enumerate(block.text.splitlines(), block.line + 1):
        out.append(f"echo '### {block.page.name}:{n}' >&2")
        if re.match(r"^cairn up(\s|$)", line):
            out.append(_WAIT_UP.format(line=line.split("  #", 1)[0].strip()))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _sandbox(tmp: Path) -> dict[str, str]:
    """The files the pages talk about, and the environment of a newcomer's shell."""
    (tmp / "model").mkdir()
    (tmp / "model" / "weights.bin").write_bytes(os.urandom(300_000))
    (tmp / "model" / "README").write_text("a model folder\n")
    (tmp / "data").mkdir()
    (tmp / "data" / "pairs.jsonl").write_text('{"a": "x", "b": "y"}\n')
    (tmp / "f").write_bytes(b"hello\n")
    (tmp / "big.bin").write_bytes(os.urandom(3_000_000))
    pixels = [float(i % 17) for i in range(64)]
    request = {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": pixels}}}
    (tmp / "request.json").write_text(json.dumps(request))
    (tmp / "examples").symlink_to(ROOT / "examples")
    (tmp / "node_modules").symlink_to(ROOT / "node_modules")  # the npm peers (Anvil, arlocal)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env |= {
        "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        "CAIRN_DATA_DIR": str(tmp / "cairn-data"),
        "CAIRN_PASSPHRASE": "docs-test-passphrase",
        "SANDBOX": str(tmp),
        "NO_COLOR": "1",
    }
    return env


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("block", flows(), ids=lambda b: f"{b.page.name}:{b.line}")
def test_the_docs_run_as_written(block: Block, tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to give the flow its own network")
    env = _sandbox(tmp_path)
    (tmp_path / "flow.sh").write_text(script(block))
    done = subprocess.run(
        # Its own network and its own pids: when the flow ends, whatever it left running
        # in the background (a page's Anvil or arlocal) ends with it.
        [*_UNSHARE, "bash", str(tmp_path / "flow.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    steps = [ln for ln in done.stderr.splitlines() if ln.startswith("### ")]
    assert done.returncode == 0, (
        f"{block.where()} failed at {steps[-1][4:] if steps else 'setup'}:\n"
        f"{done.stderr[-4000:]}\n--- stdout ---\n{done.stdout[-2000:]}"
    )
