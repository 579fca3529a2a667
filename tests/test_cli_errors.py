"""The CLI as a newcomer meets it: every error is one line on stderr and exit 1, never a
traceback or click's box; help shows no ``<bool>``; every argument says what it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from cairn.cli.main import app, main


# The commands of cairn.cli._content, _identity, _provenance, _audit and _zk.
def _all_commands() -> list[tuple[str, ...]]:
    """Every command and group of the CLI, found by walking it (so a new one is covered)."""
    import typer.main

    found: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        found.append(path)
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], (*path, name))

    walk(typer.main.get_command(app), ())
    return found


OWN = _all_commands()
CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
RECEIPT = "0x" + "ab" * 32


@pytest.fixture(autouse=True)
def _isolated(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CAIRN_GATEWAY", raising=False)


def _one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and "╭" not in captured.err
    assert captured.out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--nope", "."], "error: no such option: --nope (see 'cairn add --help')"),
        (["add"], "error: missing argument 'path' (see 'cairn add --help')"),
        (["add", "--workers", "many", "."], "invalid value for '--workers'"),
        (["add", "/no/such/file"], "path '/no/such/file' does not exist"),
        (["wallet", "show", "a", "b"], "unexpected extra argument"),
        (["wallet", "new", "--iterations", "0"], "invalid value for '--iterations'"),
        (["wallet", "nosuch"], "no such command 'nosuch'"),
        (["zk", "verify", "absent.json"], "file 'absent.json' does not exist"),
        (["--data-dir"], "option '--data-dir' requires an argument"),
        (["channel", "voucher", "7g", "10"], "invalid value for 'channel': '7g' is not a channel"),
        (["channel", "open", "0x" + "11" * 20, "0"], "invalid value for 'amount'"),
        (["channel", "claim", "0xab", "0", "0x00"], "invalid value for 'total'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_1(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in _one_line_error(args, capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # scrypt's n must be a power of 2: eth-keyfile's ValueError, caught before it
        (["wallet", "new", "w", "--iterations", "3"], "must be a power of 2"),
        (["fetch", CID, "--gateway", "http://[::1"], "gateway must be an http(s) URL"),
        (["zk", "prove", RECEIPT, "--gateway", "http://host:port"], "must be an http(s) URL"),
        (["zk", "prove", "0x12"], "'0x12' is not a receipt id"),
        # rich markup in a message is printed as it is, not eaten
        (["verify", CID, "--signer", "[red]x"], "'[red]x' is neither an address"),
        # cairn channel: refused before the chain is asked
        (["channel", "open", "0x12", "5"], "'0x12' is not an address"),
        (["channel", "open", "0x" + "11" * 20, "5", "--withdraw-delay", "1m"], "15m to 30d"),
        (["channel", "open", "0x" + "11" * 20, "5", "--salt", "0x12"], "--salt is 32 bytes"),
        (["channel", "claim", "0xab", "5", "0xzz"], "the signature is not hex"),
        (["channel", "voucher", "0xab", "5"], "run `cairn chain deploy`"),
    ],
)
def test_bad_input_is_one_line_not_a_traceback(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in _one_line_error(args, capsys)


def test_a_path_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "f.txt"
    f.write_text("hello\n")
    assert main(["add", "-q", str(f)]) == 0
    cid = capsys.readouterr().out.strip()
    line = _one_line_error(["get", cid, "-o", str(f / "under-a-file")], capsys)
    assert str(f) in line


def test_no_arguments_shows_the_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zk"]) == 0
    captured = capsys.readouterr()
    assert "setup" in captured.out and "prove" in captured.out
    assert captured.err == ""


def test_version_and_exit_codes_of_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("cairn ")
    assert main(["add", "--help"]) == 0


@pytest.mark.parametrize("command", OWN, ids=lambda c: " ".join(c) or "cairn")
def test_help_shows_no_bool_type(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--help" in out
    assert "<bool>" not in out


def test_flags_still_show_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--only-hash" in out and "--json" in out and "<path>" in out


def _command(path: tuple[str, ...]) -> typer.Context:
    import typer.main

    cmd = typer.main.get_command(app)
    ctx = typer.Context(cmd)
    for name in path:
        cmd = cmd.get_command(ctx, name)  # type: ignore[attr-defined]
        ctx = typer.Context(cmd, parent=ctx)
    return ctx


@pytest.mark.parametrize("command", [c for c in OWN if c], ids=" ".join)
def test_every_argument_has_help(command: tuple[str, ...]) -> None:
    ctx = _command(command)
    for param in ctx.command.params:
        if param.param_type_name == "argument":
            assert getattr(param, "help", None), f"cairn {' '.join(command)} {param.name}"


def test_shell_completion(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_CAIRN_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "cairn wallet ba")
    monkeypatch.setenv("COMP_CWORD", "2")
    assert main([]) == 0
    assert capsys.readouterr().out.split() == ["balance"]


def test_completion_can_be_installed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--install-completion" in capsys.readouterr().out


# `cairn zk prove|verify` ask the gateway at --gateway, else $CAIRN_GATEWAY (--node is the
# option's old name): the one-line error names the URL that was asked.
@pytest.mark.parametrize(
    ("option", "env", "asked"),
    [
        (["--gateway", "http://127.0.0.1:9"], "http://127.0.0.1:7", "http://127.0.0.1:9"),
        ([], "http://127.0.0.1:7", "http://127.0.0.1:7"),
        (["--node", "http://127.0.0.1:5"], None, "http://127.0.0.1:5"),
    ],
    ids=["option", "environment", "old-name"],
)
@pytest.mark.parametrize("command", ["prove", "verify"])
def test_zk_asks_the_gateway_it_is_given(
    command: str,
    option: list[str],
    env: str | None,
    asked: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cairn.verification.zk.artifact import PROOF_FORMAT

    if env is not None:
        monkeypatch.setenv("CAIRN_GATEWAY", env)
    proof = tmp_path / "proof.json"
    doc = {"format": PROOF_FORMAT, "request_id": RECEIPT, "artifact": CID, "proof": {}}
    proof.write_text(json.dumps(doc))
    target = RECEIPT if command == "prove" else str(proof)
    line = _one_line_error(["zk", command, target, *option, "--json"], capsys)
    assert line.startswith(f"error: {asked}/v1/receipts/{RECEIPT} unreachable")


def test_zk_setup_refuses_what_it_cannot_name(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(["zk", "setup", "digits", "--dev-srs"], capsys)
    assert line == (
        "error: model 'digits' is not a bundled model (all-MiniLM-L6-v2, "
        "all-MiniLM-L6-v2-int8, digits-logreg), a CID or a model folder"
    )


def test_zk_setup_takes_a_bundled_model_name(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ezkl")
    from cairn import content
    from cairn.inference import DIGITS_NAME, digits_folder

    assert main(["zk", "setup", DIGITS_NAME, "--dev-srs", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    doc = json.loads(out)
    # the CID a node serving digits-logreg gives it: the same bytes, the same CID
    assert doc["model"] == str(content.add_path(digits_folder(), content.NullBlockstore()))
    assert doc["srs_kind"] == "dev" and doc["logrows"] > 0
    index = json.loads((data_dir / "zk" / "index.json").read_text())
    assert index == {doc["model"]: doc["artifact"]}
