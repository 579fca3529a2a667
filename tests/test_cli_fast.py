"""The commands that start without typer do what the typer app does (issue "Speed").

``cairn.cli._fast`` reads ``add``, ``cat``, ``--version`` and the root help without
importing typer; the typer app reads everything else. These tests hold the two to
one behaviour: the fast parser knows exactly the options the typer command
declares, both paths print the same bytes for the same arguments, every argument
list the fast path is unsure of (a mistake, ``--help``, an unknown option) is left
to typer and its one-line usage errors, and the kept root help is typer's own
rendering, rendered again whenever anything that shapes it changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from cairn.cli import _fast
from cairn.cli._app import app, run_app
from cairn.cli.main import main


@pytest.fixture
def env(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAIRN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file = tmp_path / "hello.txt"
    file.write_bytes(b"hello fast path\n")
    return file


def test_the_fast_parser_knows_exactly_the_options_add_declares() -> None:
    group = typer.main.get_command(app)
    add = group.commands["add"]  # type: ignore[attr-defined]
    options = [p for p in add.params if p.param_type_name == "option"]
    declared = {o: p.is_flag for p in options for o in p.opts if o != "--help"}
    fast = {**dict.fromkeys(_fast.ADD_FLAGS, True), **dict.fromkeys(_fast.ADD_VALUES, False)}
    assert declared == fast


def _both(capsysbinary: pytest.CaptureFixture[bytes], args: list[str]) -> tuple[bytes, bytes]:
    assert _fast.plan(args) is not None, args
    assert main(args) == 0
    fast = capsysbinary.readouterr().out
    assert run_app(args) == 0
    slow = capsysbinary.readouterr().out
    return fast, slow


@pytest.mark.parametrize(
    "extra",
    [
        ["-q"],
        [],
        ["--json"],
        ["--only-hash", "-q"],
        ["--profile", "unixfs-v0-2015", "-q"],
        ["--profile=unixfs-v0-2015", "--workers=1", "--json"],
        ["--workers", "2", "--quiet"],
    ],
    ids=lambda e: " ".join(e) or "plain",
)
def test_add_prints_what_the_typer_command_prints(
    env: Path, capsysbinary: pytest.CaptureFixture[bytes], extra: list[str]
) -> None:
    fast, slow = _both(capsysbinary, ["add", *extra, str(env)])
    assert fast == slow and fast.strip()


def test_cat_and_data_dir_and_version_print_what_typer_prints(
    env: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    other = tmp_path / "other-data"
    fast, slow = _both(capsysbinary, ["--data-dir", str(other), "add", "-q", str(env)])
    cid = fast.decode().strip()
    assert fast == slow and (other / "blocks").exists()
    fast, slow = _both(capsysbinary, [f"--data-dir={other}", "cat", cid])
    assert fast == slow == env.read_bytes()
    fast, slow = _both(capsysbinary, ["--version"])
    assert fast == slow and fast.startswith(b"cairn ")


@pytest.mark.parametrize(
    "args",
    [
        ["add", "--help"],
        ["add", "-qx", "{file}"],
        ["add", "--no-such", "{file}"],
        ["add", "{file}", "{file}"],
        ["add", "--workers", "-1", "{file}"],
        ["add", "--workers", "two", "{file}"],
        ["add", "--profile"],
        ["add", "{missing}"],
        ["add", "--", "{file}"],
        ["cat"],
        ["cat", "--help"],
        ["cat", "bafy", "extra"],
        ["--data-dir"],
        ["--data-dir", "x", "--help"],
        ["wallet", "list"],
    ],
)
def test_anything_unsure_is_left_to_typer(env: Path, tmp_path: Path, args: list[str]) -> None:
    argv = [a.format(file=env, missing=tmp_path / "missing") for a in args]
    assert _fast.plan(argv) is None


def test_a_mistake_is_typers_one_line_error(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add", "-q", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: invalid value for 'path'") and "\n" not in err
    assert main(["cat", "bafkreidtzm4frjuhvbeuzizsgbjqcyuc6pnnhhkcz5rmuttz3wrkvr6zvx"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: not a valid CID: 'bafkreidtzm4frjuhvbeuzizsgbjqcyuc6pnnhhkcz5rmuttz3wrkvr6zvx'"
    )


def _help(
    args: list[str], extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cairn", *args],
        capture_output=True,
        env={**os.environ, **(extra_env or {})},
        timeout=120,
        check=True,
    )


@pytest.mark.parametrize("args", [["--help"], []], ids=["--help", "no-args"])
def test_the_kept_root_help_is_typers_rendering(env: Path, args: list[str]) -> None:
    recorder = _fast.HelpRecorder(args)
    assert recorder.cached() is None
    first = _help(args).stdout  # rendered by typer, kept
    kept = recorder.path.read_text()
    assert kept.split("\n", 1)[1].encode() == first and b"Usage: cairn" in first
    assert _help(args).stdout == first
    # A narrower terminal shapes the help differently: rendered again, and kept.
    narrow = _help(args, {"COLUMNS": "60"}).stdout
    assert narrow != first and max(len(line) for line in narrow.decode().splitlines()) <= 60
    assert recorder.path.read_text().split("\n", 1)[1].encode() == narrow
    # A kept copy made under another fingerprint is never printed.
    recorder.path.write_text("not-this-key\nstale help\n")
    assert _help(args).stdout == first


def test_a_cache_that_cannot_be_written_still_prints_the_help(env: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache dir would be")
    done = _help(["--help"], {"XDG_CACHE_HOME": str(blocked)})
    assert b"Usage: cairn" in done.stdout and done.stderr == b""
