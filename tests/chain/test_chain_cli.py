"""The chain commands end to end: embedded by default, `chain check` on both backends."""

from __future__ import annotations

import json

import pytest

from cairn.cli.main import main

BOB_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # BOB_KEY's address
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
    for name in (
        "register",
        "publish",
        "stake",
        "anchor",
        "deposit",
        "claim",
        "settle",
        "withdraw",
    ):
        assert ops[name] > 21_000
    assert ops["anchor"] <= 60_000 and ops["claim"] <= 90_000


@pytest.mark.integration
def test_check_json_anvil(capsys, data_dir, anvil):
    key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    code, out, _ = run(capsys, data_dir, "chain", "check", "--chain", anvil, "--key", key, "--json")
    assert code == 0
    report = json.loads(out)
    ops = report["operations"]
    assert report["chain_id"] == 31337 and ops["anchor"] <= 60_000 and ops["claim"] <= 90_000


def test_ledger_flow(capsys, data_dir):
    assert run(capsys, data_dir, "chain", "deploy")[0] == 0
    assert (
        "BatchSettlement  0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003"
        in (run(capsys, data_dir, "chain", "status")[1])
    )
    assert run(capsys, data_dir, "registry", "register", "minilm")[0] == 0
    assert run(capsys, data_dir, "registry", "publish", "minilm", CONTENT)[0] == 0
    assert CONTENT in run(capsys, data_dir, "registry", "show", "minilm")[1]
    assert CONTENT in run(capsys, data_dir, "registry", "history", "minilm")[1]
    assert run(capsys, data_dir, "stake", "add", "0.01", "--endpoint", "https://n")[0] == 0
    shown = json.loads(run(capsys, data_dir, "stake", "show", "--json")[1])
    assert shown["staked"] and shown["stake"] == 10**16
    payer = shown["address"]
    assert run(capsys, data_dir, "token", "mint", "1000000", "--to", payer)[0] == 0
    code, out, err = run(capsys, data_dir, "channel", "open", BOB, "100000")
    channel = out.strip()
    assert code == 0 and len(channel) == 66 and f"opened a channel to {BOB}" in err
    sig = run(capsys, data_dir, "channel", "voucher", channel[:12], "20000")[1].strip()
    code, _, err = run(capsys, data_dir, "channel", "claim", channel, "20000", sig)
    assert code == 1 and f"claimed by {BOB}, not by {payer}" in err  # the receiver claims
    code, out, _ = run(
        capsys, data_dir, "channel", "claim", channel, "20000", sig, "--key", BOB_KEY, "--json"
    )
    assert code == 0 and json.loads(out)["claimed"] == json.loads(out)["paid"] == 20000
    code, _, err = run(
        capsys, data_dir, "channel", "claim", channel, "20000", sig, "--key", BOB_KEY
    )
    assert code == 1 and "has 20000 claimed already" in err
    code, _, err = run(
        capsys, data_dir, "channel", "claim", channel, "50000", sig, "--key", BOB_KEY
    )
    assert code == 1 and f"{payer} did not sign a voucher for 50000 on channel {channel}" in err
    shown = json.loads(run(capsys, data_dir, "channel", "show", channel, "--json")[1])
    assert (shown["balance"], shown["total_claimed"], shown["withdrawal"]) == (100000, 20000, None)
    assert (
        json.loads(run(capsys, data_dir, "token", "balance", BOB, "--json")[1])["balance"] == 20000
    )
    code, _, err = run(capsys, data_dir, "channel", "topup", channel, "1000", "--key", BOB_KEY)
    assert code == 1 and f"is paid by {payer}, not by {BOB}" in err
    assert run(capsys, data_dir, "channel", "topup", channel, "1000")[0] == 0
    code, _, err = run(capsys, data_dir, "channel", "withdraw", channel, "--amount", "81001")
    assert code == 1 and "has 81000 unclaimed, less than 81001" in err
    assert run(capsys, data_dir, "channel", "withdraw", channel)[0] == 0
    code, _, err = run(capsys, data_dir, "channel", "withdraw", channel)
    assert code == 1 and "a withdrawal of 81000 pending, to finish from" in err
    assert "withdrawing 81000" in run(capsys, data_dir, "channel", "show", channel)[1]
    assert run(capsys, data_dir, "chain", "advance", "15m")[0] == 0
    code, out, _ = run(capsys, data_dir, "channel", "withdraw", channel, "--json")
    assert code == 0 and json.loads(out)["withdrawn"] == 81000
    code, _, err = run(capsys, data_dir, "channel", "withdraw", channel)
    assert code == 1 and "nothing unclaimed to withdraw" in err


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
