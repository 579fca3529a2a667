"""`cairn wallet ...` for scripts: ``--json``, ``wallet balance``, and an empty
``CAIRN_PASSPHRASE`` said out loud."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cairn.cli.main import main
from cairn.identity import WalletStore

KEY = "0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4"
ADDRESS = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
FAST = ["--kdf", "pbkdf2", "--iterations", "16"]


class Cli:
    """``cairn --data-dir D ...`` in this process: (exit code, stdout, stderr)."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir, self.capsys = data_dir, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(self.data_dir), *args])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *args: str) -> dict[str, Any]:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        assert out.count("\n") == 1, out  # exactly one JSON object, nothing else
        doc = json.loads(out)
        assert isinstance(doc, dict)
        return doc


@pytest.fixture
def cli(data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("CAIRN_PASSPHRASE", "pw")
    return Cli(data_dir, capsys)


def test_every_wallet_command_prints_one_json_object(cli: Cli, data_dir: Path) -> None:
    alice = cli.json("wallet", "new", "alice", *FAST)
    assert set(alice) == {"name", "address", "default", "keystore"}
    assert alice["name"] == "alice" and alice["default"] is True
    assert Path(alice["keystore"]).is_file()
    bob = cli.json("wallet", "import", "bob", "--key", KEY, *FAST)
    assert bob["address"] == ADDRESS and bob["default"] is False

    listed = cli.json("wallet", "list")["wallets"]
    assert [(w["name"], w["default"]) for w in listed] == [("alice", True), ("bob", False)]
    assert cli.json("wallet", "show")["address"] == alice["address"]
    assert cli.json("wallet", "show", "bob") == bob

    now = cli.json("wallet", "default", "bob")
    assert now["name"] == "bob" and now["default"] is True
    assert cli("wallet", "show")[1] == ADDRESS + "\n"  # the human form stays one address


def test_list_json_with_no_wallets(cli: Cli) -> None:
    assert cli.json("wallet", "list") == {"wallets": []}


@pytest.mark.parametrize(
    "args", [("new", "e", *FAST), ("import", "e", "--key", KEY, *FAST)], ids=["new", "import"]
)
def test_an_empty_passphrase_warns_and_still_creates(
    args: tuple[str, ...], cli: Cli, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_PASSPHRASE", "")
    code, out, err = cli("wallet", *args)
    assert code == 0
    assert err.strip().splitlines() == [
        "warning: CAIRN_PASSPHRASE is set but empty: the key of wallet 'e' is protected by "
        "nothing (whoever can read its keystore file has the key)"
    ]
    assert "wallet e 0x" in out
    signer = WalletStore(data_dir / "keystore").unlock("e", "")
    assert signer.address == WalletStore(data_dir / "keystore").get("e").address


def test_a_passphrase_gives_no_warning(cli: Cli) -> None:
    code, _, err = cli("wallet", "new", "e", *FAST)
    assert code == 0 and err == ""


def test_a_bad_key_fails_before_the_passphrase_is_asked_for(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAIRN_PASSPHRASE")
    code, out, err = cli("wallet", "import", "x", "--key", "0x1234", *FAST)
    assert code == 1 and "Passphrase" not in out
    assert err.strip() == "error: a private key is 32 bytes: 64 hex digits"


def test_balance_of_the_default_wallet_a_name_and_an_address(cli: Cli, data_dir: Path) -> None:
    from cairn import chain as chainlib

    funded = chainlib.connect("embedded://", data_dir).dev_keys()[0].address
    cli("wallet", "import", "bob", "--key", KEY, *FAST)

    code, out, _ = cli("wallet", "balance")
    assert code == 0 and out == f"{ADDRESS} 0 ETH on embedded://\n"
    doc = cli.json("wallet", "balance", funded.lower(), "--chain", "embedded://")
    assert doc["address"] == funded and doc["chain"] == "embedded://"
    assert doc["wei"] > 0 and doc["eth"] == str(doc["wei"] // 10**18)
    assert cli.json("wallet", "balance", "bob")["address"] == ADDRESS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("0x12",), "error: '0x12' is not an address: 0x and 40 hex digits expected"),
        (("carol",), "error: 'carol' is neither an address (0x and 40 hex digits) nor a wallet"),
        ((), "error: no wallets yet: create one with `cairn wallet new`"),
        ((ADDRESS, "--chain", "ftp://x"), "error: unknown chain URL 'ftp://x'"),
    ],
)
def test_balance_errors_are_one_line(args: tuple[str, ...], message: str, cli: Cli) -> None:
    code, out, err = cli("wallet", "balance", *args)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err


def test_the_passphrase_prompt_stays_off_stdout(data_dir: Path) -> None:
    from typer.testing import CliRunner

    from cairn.cli.main import app

    args = ["--data-dir", str(data_dir), "wallet", "new", "p", *FAST, "--json"]
    r = CliRunner().invoke(app, args, env={"CAIRN_PASSPHRASE": None}, input="s3cret\ns3cret\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["name"] == "p"
    assert "Passphrase" in r.stderr and "s3cret" not in r.stderr + r.stdout
