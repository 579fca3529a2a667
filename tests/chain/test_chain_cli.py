"""The chain commands end to end: embedded by default, `chain check` on both backends."""

from __future__ import annotations

import json

import pytest

from cairn.cli.main import main

PAYEE = "0x000000000000000000000000000000000000dEaD"
CONTENT = "bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm"  # raw CID of b"a"


def run(capsys, data_dir, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_embedded(capsys, data_dir):
    code, out, _ = run(capsys, data_dir, "chain", "check", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True and 2**31 <= report["chain_id"] < 2**31 + 2**24
    ops = report["operations"]
    for name in ("register", "publish", "stake", "anchor", "open", "redeem", "close", "withdraw"):
        assert ops[name] > 21_000
    assert ops["anchor"] <= 60_000 and ops["redeem"] <= 90_000


@pytest.mark.integration
def test_check_json_anvil(capsys, data_dir, anvil):
    key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    code, out, _ = run(capsys, data_dir, "chain", "check", "--chain", anvil, "--key", key, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["chain_id"] == 31337 and report["operations"]["anchor"] <= 60_000


def test_ledger_flow(capsys, data_dir):
    assert run(capsys, data_dir, "chain", "deploy")[0] == 0
    assert "PaymentChannels" in run(capsys, data_dir, "chain", "status")[1]
    assert run(capsys, data_dir, "registry", "register", "minilm")[0] == 0
    assert run(capsys, data_dir, "registry", "publish", "minilm", CONTENT)[0] == 0
    assert CONTENT in run(capsys, data_dir, "registry", "show", "minilm")[1]
    assert CONTENT in run(capsys, data_dir, "registry", "history", "minilm")[1]
    assert run(capsys, data_dir, "stake", "add", "0.01", "--endpoint", "https://n")[0] == 0
    shown = json.loads(run(capsys, data_dir, "stake", "show", "--json")[1])
    assert shown["staked"] and shown["stake"] == 10**16
    assert "opened channel 1" in run(capsys, data_dir, "channel", "open", PAYEE, "0.1eth")[1]
    sig = run(capsys, data_dir, "channel", "voucher", "1", "0.02")[1].strip()
    assert run(capsys, data_dir, "channel", "redeem", "1", "0.02", sig)[0] == 0
    code, _, err = run(capsys, data_dir, "channel", "redeem", "1", "0.02", sig)
    assert code == 1 and "PaymentChannels: reverted: voucher already redeemed" in err
    code, _, err = run(capsys, data_dir, "channel", "redeem", "1", "0.05", sig)
    assert code == 1 and "did not sign a voucher for 0.05 ETH on channel 1" in err
    assert (
        json.loads(run(capsys, data_dir, "channel", "show", "1", "--json")[1])["paid"] == 2 * 10**16
    )
    assert run(capsys, data_dir, "channel", "topup", "1", "1000wei")[0] == 0
    assert run(capsys, data_dir, "channel", "close", "1")[0] == 0
    code, _, err = run(capsys, data_dir, "channel", "close", "1", "--withdraw")
    assert code == 1 and "close window open" in err


def test_errors_are_one_line(capsys, data_dir):
    code, _, err = run(capsys, data_dir, "registry", "show", "x")
    assert code == 1 and "run `cairn chain deploy`" in err
    code, _, err = run(capsys, data_dir, "chain", "status", "--chain", "http://127.0.0.1:9")
    assert code == 1 and "unreachable" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, data_dir, "stake", "add", "lots")
    assert code == 1 and "not an amount" in err


def test_wallet_signs_and_is_funded_on_embedded(capsys, data_dir, monkeypatch):
    identity = pytest.importorskip("cairn.identity")
    store = identity.WalletStore(data_dir / "keystore")
    info = store.create("node1", "pw", kdf="pbkdf2", iterations=1000)
    monkeypatch.setenv("CAIRN_PASSPHRASE", "pw")
    assert run(capsys, data_dir, "chain", "deploy")[0] == 0
    code, out, _ = run(capsys, data_dir, "registry", "register", "w", "--wallet", "node1")
    assert code == 0 and info.address in out
    monkeypatch.setenv("CAIRN_PASSPHRASE", "wrong")
    code, _, err = run(capsys, data_dir, "registry", "publish", "w", CONTENT, "--wallet", "node1")
    assert code == 1 and len(err.strip().splitlines()) == 1
