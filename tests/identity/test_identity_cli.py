"""`cairn wallet ...` through the real command-line app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cairn.cli.main import app
from cairn.errors import CairnError, WalletNotFound, WrongPassphrase

KEY = "0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4"
ADDRESS = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
FAST = ["--kdf", "pbkdf2", "--iterations", "16"]


def cairn(
    data_dir: Path, *args: str, passphrase: str | None = "pw", stdin: str | None = None
) -> Result:
    env = {"CAIRN_PASSPHRASE": passphrase} if passphrase is not None else {}
    runner = CliRunner()
    return runner.invoke(app, ["--data-dir", str(data_dir), *args], env=env, input=stdin)


def test_new_list_show(data_dir: Path) -> None:
    r = cairn(data_dir, "wallet", "new", "alice", *FAST)
    assert r.exit_code == 0, r.output
    assert "alice" in r.output and "(default)" in r.output
    address = cairn(data_dir, "wallet", "show").output.strip()
    assert address.startswith("0x") and len(address) == 42
    assert cairn(data_dir, "wallet", "show", "alice").output.strip() == address
    listed = cairn(data_dir, "wallet", "list").output
    assert "alice" in listed and address in listed and "*" in listed


def test_import_with_key_and_stdin(data_dir: Path) -> None:
    r = cairn(data_dir, "wallet", "import", "bob", "--key", KEY, *FAST)
    assert r.exit_code == 0 and ADDRESS in r.output
    r = cairn(data_dir, "wallet", "import", "carol", *FAST, stdin="0x" + "4c" * 32 + "\n")
    assert r.exit_code == 0, r.output
    assert cairn(data_dir, "wallet", "show", "bob").output.strip() == ADDRESS
    r = cairn(data_dir, "wallet", "default", "carol")
    assert r.exit_code == 0
    assert cairn(data_dir, "wallet", "show").output.strip() != ADDRESS


def test_prompted_passphrase_is_confirmed(data_dir: Path) -> None:
    r = cairn(data_dir, "wallet", "new", "p", *FAST, passphrase=None, stdin="secret\nsecret\n")
    assert r.exit_code == 0, r.output
    assert "Repeat for confirmation" in r.output
    assert "secret" not in r.output  # hidden input


def test_unknown_wallet_is_a_cairn_error(data_dir: Path) -> None:
    cairn(data_dir, "wallet", "new", "alice", *FAST)
    r = cairn(data_dir, "wallet", "show", "alcie")
    assert isinstance(r.exception, WalletNotFound)
    assert "did you mean 'alice'" in str(r.exception)


def test_no_key_given(data_dir: Path) -> None:
    r = cairn(data_dir, "wallet", "import", "x", *FAST, stdin="")
    assert isinstance(r.exception, CairnError)


def test_list_empty(data_dir: Path) -> None:
    assert "no wallets yet" in cairn(data_dir, "wallet", "list").output


@pytest.mark.slow
def test_error_is_one_line_and_exit_1(data_dir: Path) -> None:
    """The real entry point: a CairnError becomes one stderr line and exit status 1."""
    cairn(data_dir, "wallet", "import", "bob", "--key", KEY, *FAST)
    proc = subprocess.run(
        [sys.executable, "-m", "cairn", "--data-dir", str(data_dir), "wallet", "show", "bbo"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    want = "error: no wallet named 'bbo' (did you mean 'bob'?)"
    assert proc.stderr.strip().splitlines() == [want]


def test_wrong_passphrase_via_unlock(data_dir: Path) -> None:
    cairn(data_dir, "wallet", "import", "bob", "--key", KEY, *FAST)
    f = data_dir / "x.bin"
    f.write_bytes(b"x")
    r = cairn(
        data_dir,
        "publish",
        str(f),
        "--name",
        "n",
        "--version",
        "1",
        "--license",
        "MIT",
        passphrase="nope",
    )
    assert isinstance(r.exception, WrongPassphrase)
