"""Settings precedence, flag > environment > default, for every variable `cairn up` and
`cairn validator run` take — through the real command line, stopped just before the
service starts — and the one clear line `cairn up` prints when it cannot ask a passphrase."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

import cairn.node
from cairn.cli import _node, _verification
from cairn.cli.main import main
from cairn.errors import ConfigError
from cairn.inference import DIGITS_NAME, MINILM_NAME
from cairn.node import NodeSettings, ValidatorSettings, from_flags
from cairn.node.settings import DEFAULT_MODELS


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CAIRN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CAIRN_PASSPHRASE", "settings-test")
    # these tests read settings, not sockets: a busy port 8000 on this machine is not theirs
    monkeypatch.setattr(_node, "_port_free", lambda *_: None)


def _up_settings(monkeypatch: pytest.MonkeyPatch, *args: str) -> NodeSettings:
    """What `cairn up ARGS` hands to bootstrap (which is not run)."""
    seen: list[NodeSettings] = []

    def bootstrap(settings: NodeSettings, *_: Any, **__: Any) -> Any:
        seen.append(settings)
        raise typer.Exit(0)

    monkeypatch.setattr(cairn.node, "bootstrap", bootstrap)
    assert main(["up", *args]) == 0
    return seen[0]


def _validator_settings(monkeypatch: pytest.MonkeyPatch, *args: str) -> ValidatorSettings:
    """What `cairn validator run ARGS` runs with (the validator itself is not started)."""
    seen: list[ValidatorSettings] = []
    monkeypatch.setattr(_verification, "_run", lambda _ctx, s, **_: seen.append(s))
    assert main(["validator", "run", *args]) == 0
    return seen[0]


# (flag, value given by the flag, variable, value given by the variable, field, parsed values)
NODE = [
    ("--port", "9202", "CAIRN_PORT", "9101", "port", (9202, 9101)),
    ("--host", "127.0.0.2", "CAIRN_HOST", "0.0.0.0", "host", ("127.0.0.2", "0.0.0.0")),
    (
        "--chain",
        "http://127.0.0.1:8545",
        "CAIRN_CHAIN",
        "http://127.0.0.1:9545",
        "chain",
        ("http://127.0.0.1:8545", "http://127.0.0.1:9545"),
    ),
    ("--batch-size", "9", "CAIRN_BATCH_SIZE", "7", "batch_size", (9, 7)),
    ("--batch-seconds", "1.5", "CAIRN_BATCH_SECONDS", "0.25", "batch_seconds", (1.5, 0.25)),
    (
        "--model",
        MINILM_NAME,
        "CAIRN_MODELS",
        f"{DIGITS_NAME}, ./my-model",
        "models",
        ((MINILM_NAME,), (DIGITS_NAME, "./my-model")),
    ),
]
VALIDATOR = [
    ("--chain", "http://a:1", "CAIRN_VALIDATOR_CHAIN", "http://b:2", "chain", None),
    ("--key", "0x" + "11" * 32, "CAIRN_VALIDATOR_KEY", "0x" + "22" * 32, "key", None),
    ("--wallet", "flag-wallet", "CAIRN_VALIDATOR_WALLET", "env-wallet", "wallet", None),
    ("--interval", "0.5", "CAIRN_VALIDATOR_INTERVAL_S", "7", "interval_s", (0.5, 7.0)),
    ("--patience", "5", "CAIRN_VALIDATOR_PATIENCE", "3", "patience", (5, 3)),
    ("--stake", "2eth", "CAIRN_VALIDATOR_STAKE_WEI", "12345", "stake_wei", (2 * 10**18, 12345)),
    ("--threads", "2", "CAIRN_VALIDATOR_THREADS", "4", "threads", (2, 4)),
]


def _ids(rows: list[tuple[Any, ...]]) -> list[str]:
    return [row[2] for row in rows]


@pytest.mark.parametrize(
    ("flag", "by_flag", "var", "by_env", "field", "parsed"), NODE, ids=_ids(NODE)
)
def test_up_honours_the_environment_and_a_flag_beats_it(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    flag: str,
    by_flag: str,
    var: str,
    by_env: str,
    field: str,
    parsed: tuple[Any, Any],
) -> None:
    monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path))
    assert getattr(_up_settings(monkeypatch), field) == getattr(NodeSettings(), field)
    monkeypatch.setenv(var, by_env)
    assert getattr(_up_settings(monkeypatch), field) == parsed[1]
    assert getattr(_up_settings(monkeypatch, flag, by_flag), field) == parsed[0]


@pytest.mark.parametrize(
    ("flag", "by_flag", "var", "by_env", "field", "parsed"), VALIDATOR, ids=_ids(VALIDATOR)
)
def test_validator_run_honours_the_environment_and_a_flag_beats_it(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    flag: str,
    by_flag: str,
    var: str,
    by_env: str,
    field: str,
    parsed: tuple[Any, Any] | None,
) -> None:
    monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path))
    want_flag, want_env = parsed or (by_flag, by_env)
    assert getattr(_validator_settings(monkeypatch), field) == getattr(ValidatorSettings(), field)
    monkeypatch.setenv(var, by_env)
    assert getattr(_validator_settings(monkeypatch), field) == want_env
    assert getattr(_validator_settings(monkeypatch, flag, by_flag), field) == want_flag


@pytest.mark.parametrize("command", [["up"], ["validator", "run"]])
def test_the_data_dir_comes_from_the_environment_unless_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    read = _up_settings if command == ["up"] else _validator_settings
    env, flag = tmp_path / "env", tmp_path / "flag"
    monkeypatch.setenv("CAIRN_DATA_DIR", str(env))
    assert read(monkeypatch).data_dir == env
    seen: list[Any] = []
    monkeypatch.setattr(cairn.node, "bootstrap", lambda s, *_, **__: seen.append(s))
    monkeypatch.setattr(_verification, "_run", lambda _ctx, s, **_: seen.append(s))
    monkeypatch.setattr("cairn.node.serve", lambda *_: None)
    assert main(["--data-dir", str(flag), *command]) == 0
    assert seen[0].data_dir == flag


def test_defaults() -> None:
    assert NodeSettings().models == DEFAULT_MODELS == (MINILM_NAME, DIGITS_NAME)
    node, validator = NodeSettings(), ValidatorSettings()
    assert (node.port, node.host, node.chain, node.batch_size) == (
        8000,
        "127.0.0.1",
        "embedded://",
        100,
    )
    assert (validator.interval_s, validator.patience, validator.wallet) == (2.0, 2, None)


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("CAIRN_PORT", "eighty", "CAIRN_PORT"),
        ("CAIRN_MODELS", " , ", "CAIRN_MODELS"),
        ("CAIRN_BATCH_SECONDS", "0", "CAIRN_BATCH_SECONDS"),
    ],
)
def test_a_bad_value_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=message):
        from_flags(NodeSettings)


def test_a_bad_validator_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_VALIDATOR_PATIENCE", "0")
    assert main(["validator", "run"]) == 1
    err = capsys.readouterr().err
    assert "CAIRN_VALIDATOR_PATIENCE" in err and "Traceback" not in err


def test_up_without_a_terminal_or_passphrase_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    done = subprocess.run(
        [sys.executable, "-m", "cairn", "--data-dir", str(tmp_path), "up"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "CAIRN_PASSPHRASE" in lines[0] and "terminal" in lines[0]
    assert "Aborted" not in done.stderr + done.stdout
