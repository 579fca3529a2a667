"""How long does a ``cairn`` command take to start? Whole processes, against bare Python.

Times five light commands as a user runs them (``cairn --help``, ``cairn add -q``
of a one-byte file, ``cairn cat`` of its CID, ``cairn wallet list``, ``cairn audit``
of an example stack) and ``python -c pass`` in the same run, rounds interleaved
so they share the noise of a shared machine; medians of several runs each, in a
throwaway data dir.

    python bench/cli_startup.py [--runs 7]

Also times a bare typer app with one command (``bare_typer_ms``): the floor any
typer CLI pays before cairn imports a layer; and ``help_uncached_ms``, the root
help rendered through typer with its cache emptied before each run (what the first
``cairn --help`` after an install or upgrade costs; later ones read the rendering
back, see cairn.cli._fast).

Writes bench/results/cli.json. Target (issue 11): add, help and cat start within
150 ms of bare Python.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "cli.json"
STACK = ROOT / "examples" / "stacks" / "cairn-embedded.yaml"
TARGET_MS = 150.0
# The floor under any typer CLI: typer (with its pydantic adapters) and rich, one command.
BARE_TYPER = """
import typer
from rich.console import Console
app = typer.Typer(add_completion=False)
@app.command()
def hello(name: str = "x") -> None:
    Console().print(name)
@app.command()
def other() -> None: ...
app()
"""


def _cairn() -> list[str]:
    script = Path(sys.executable).parent / "cairn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cairn"]


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "CAIRN_DATA_DIR": str(Path(tmp) / "data"),
            "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
        }
        cold_cache = Path(tmp) / "cold-cache"
        cold_env = {**env, "XDG_CACHE_HOME": str(cold_cache)}
        one = Path(tmp) / "one.bin"
        one.write_bytes(b"x")
        cairn = _cairn()
        cid = _run([*cairn, "add", "-q", str(one)], env)[1].decode().strip()
        commands = {
            "python": [sys.executable, "-c", "pass"],
            "bare_typer": [sys.executable, "-c", BARE_TYPER, "hello"],
            "help": [*cairn, "--help"],
            "help_uncached": [*cairn, "--help"],
            "add": [*cairn, "add", "-q", str(one)],
            "cat": [*cairn, "cat", cid],
            "wallet_list": [*cairn, "wallet", "list"],
            "audit": [*cairn, "audit", str(STACK)],
        }
        for argv in commands.values():  # warm the page cache and .pyc files
            _run(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                if name == "help_uncached":
                    shutil.rmtree(cold_cache, ignore_errors=True)
                times[name].append(_run(argv, cold_env if name == "help_uncached" else env)[0])
    medians = {f"{name}_ms": round(statistics.median(t), 1) for name, t in times.items()}
    python_ms = medians["python_ms"]
    print(f"python -c pass      {python_ms:8.1f} ms (median of {runs})")
    for name in commands:
        if name == "python":
            continue
        ms = medians[f"{name}_ms"]
        label = name if name == "bare_typer" else f"cairn {name}"
        print(f"{label:19} {ms:8.1f} ms  +{ms - python_ms:7.1f} ms  {ms / python_ms:5.1f}x")
    met = all(medians[f"{n}_ms"] - python_ms <= TARGET_MS for n in ("help", "add", "cat"))
    print(
        f"target: help, add, cat within {TARGET_MS:.0f} ms of python: {'met' if met else 'NOT met'}"
    )
    result = {
        **medians,
        "runs": runs,
        "target_ms": TARGET_MS,
        "target_met": met,
        "samples_ms": {name: [round(t, 1) for t in ts] for name, ts in times.items()},
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
