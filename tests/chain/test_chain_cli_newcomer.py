"""The settlement commands as a newcomer meets them (issue "The CLI as a newcomer").

Each test is a flow a user types: wallet names where addresses go, garbage
refused before any transaction, ``--json`` that scripts can read, and time on
the embedded chain that moves with the wall clock (or on command).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cairn.cli.main import main
from cairn.identity import WalletStore

PASS = "newcomer-test"


def run(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(result: tuple[int, str, str], *needles: str) -> None:
    code, out, err = result
    assert code == 1, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def deployed(capsys, data_dir: Path, monkeypatch) -> Path:
    monkeypatch.setenv("CAIRN_PASSPHRASE", PASS)
    assert run(capsys, data_dir, "chain", "deploy")[0] == 0
    return data_dir


def test_deploy_and_status_print_one_json_object(capsys, data_dir):
    code, out, _ = run(capsys, data_dir, "chain", "deploy", "--json")
    assert code == 0
    deployed = json.loads(out)
    assert deployed["new"] and deployed["network"] == "local"
    assert deployed["deployment"]["dispute_params"]["audit_window"] > 0
    assert deployed["deployment"]["challenges"].startswith("0x")
    code, out, _ = run(capsys, data_dir, "chain", "status", "--json")
    status = json.loads(out)
    assert status["deployment"]["disputes"] == deployed["deployment"]["disputes"]
    assert json.loads(run(capsys, data_dir, "chain", "deploy", "--json")[1])["new"] is False


def test_a_wallet_name_is_an_address_and_garbage_is_one_line(capsys, deployed):
    assert run(capsys, deployed, "wallet", "new", "alice")[0] == 0  # the default: she pays
    assert run(capsys, deployed, "wallet", "new", "bob")[0] == 0
    bob = WalletStore(deployed / "keystore").get("bob").address
    one_line_error(run(capsys, deployed, "channel", "open", "bob", "100000"), "less than 100000")
    assert run(capsys, deployed, "channel", "list", "--json")[1].count("channel_id") == 0
    assert run(capsys, deployed, "token", "mint", "100000", "--to", "alice")[0] == 0
    code, out, _ = run(capsys, deployed, "channel", "open", "bob", "100000", "--json")
    assert code == 0 and json.loads(out)["receiver"] == bob
    one_line_error(run(capsys, deployed, "stake", "show", "0x1234"), "not an address")
    one_line_error(
        run(capsys, deployed, "channel", "open", "carol", "100000"),
        "neither an address",
        "bob",
    )
    one_line_error(run(capsys, deployed, "channel", "open", "alice", "1"), "pays someone else")
    one_line_error(
        run(capsys, deployed, "channel", "open", "bob", "1", "--withdraw-delay", "1m"), "15m to 30d"
    )
    listed = json.loads(run(capsys, deployed, "channel", "list", "bob", "--json")[1])
    assert [c["receiver"] for c in listed["channels"]] == [bob]
    assert (
        "deposit 100000 (0.100000 CairnUSD)" in run(capsys, deployed, "channel", "list", "bob")[1]
    )


def test_vouchers_only_for_channels_known_here_and_within_the_deposit(capsys, deployed):
    one_line_error(run(capsys, deployed, "channel", "voucher", "0x07", "10"), "no channel 0x07")
    one_line_error(run(capsys, deployed, "channel", "voucher", "7g", "10"), "not a channel id")
    assert run(capsys, deployed, "wallet", "new", "payer")[0] == 0
    assert run(capsys, deployed, "wallet", "new", "other")[0] == 0
    assert run(capsys, deployed, "token", "mint", "5000", "--to", "payer")[0] == 0
    payee = "0x000000000000000000000000000000000000dEaD"
    channel = run(capsys, deployed, "channel", "open", payee, "5000")[1].strip()
    one_line_error(run(capsys, deployed, "channel", "voucher", channel, "5001"), "exceeds")
    one_line_error(
        run(capsys, deployed, "channel", "voucher", channel, "10", "--wallet", "other"),
        "vouchers are signed by",
    )
    code, out, _ = run(capsys, deployed, "channel", "voucher", channel[:10], "10", "--json")
    assert code == 0 and json.loads(out)["total"] == 10 and json.loads(out)["channel_id"] == channel
    again = run(capsys, deployed, "channel", "voucher", channel, "10", "--wallet", "payer")[1]
    assert again.strip() == json.loads(out)["signature"]  # RFC 6979: the same signature
    one_line_error(
        run(capsys, deployed, "channel", "claim", channel, "10", "0xzz"), "signature is not hex"
    )
    one_line_error(
        run(capsys, deployed, "channel", "claim", channel, "10", "0x" + "11" * 65),
        "not a voucher signature",
    )


def test_a_voucher_signed_by_someone_else_is_refused_before_any_gas(capsys, deployed):
    from cairn.chain import batch
    from cairn.identity import LocalSigner

    for name in ("payer", "bob"):
        assert run(capsys, deployed, "wallet", "new", name)[0] == 0
    assert run(capsys, deployed, "token", "mint", "5000", "--to", "payer")[0] == 0
    channel = run(capsys, deployed, "channel", "open", "bob", "5000")[1].strip()
    good = run(capsys, deployed, "channel", "voucher", channel, "300")[1].strip()
    mallory = LocalSigner.generate()
    chain_id = json.loads(run(capsys, deployed, "chain", "status", "--json")[1])["chain_id"]
    bad = "0x" + batch.sign_voucher(mallory, bytes.fromhex(channel[2:]), 300, chain_id).hex()
    one_line_error(
        run(capsys, deployed, "channel", "claim", channel, "300", bad, "--wallet", "bob"),
        "did not sign a voucher for 300",
        mallory.address,
    )
    bob = json.loads(run(capsys, deployed, "wallet", "balance", "bob", "--json")[1])
    assert bob["wei"] == 0  # never funded for gas: refused before any transaction
    code, out, _ = run(
        capsys, deployed, "channel", "claim", channel, "300", good, "--wallet", "bob", "--json"
    )
    assert code == 0 and json.loads(out)["paid"] == 300


def test_channel_ids_and_the_channel_book(capsys, deployed):
    assert run(capsys, deployed, "wallet", "new", "payer")[0] == 0
    assert run(capsys, deployed, "token", "mint", "10", "--to", "payer")[0] == 0
    salt = "0x" + "ab" * 32
    payee = "0x000000000000000000000000000000000000dEaD"
    channel = run(capsys, deployed, "channel", "open", payee, "5", "--salt", salt)[1].strip()
    one_line_error(
        run(capsys, deployed, "channel", "open", payee, "5", "--salt", salt), "is open already"
    )
    book_path = deployed / "chain" / "channels.json"
    book = json.loads(book_path.read_text())
    ((chain_id, known),) = book.items()
    twin = channel[:6] + "0" * 60  # an id that starts as the channel's does
    book_path.write_text(json.dumps({chain_id: {**known, twin: known[channel]}}))
    one_line_error(
        run(capsys, deployed, "channel", "show", channel[:6]), "start of 2 channels' ids"
    )
    assert run(capsys, deployed, "channel", "show", channel)[0] == 0
    book_path.write_text(json.dumps({chain_id: {channel: {"payer": "0x12"}}}))
    one_line_error(run(capsys, deployed, "channel", "show", channel), "unreadable")
    book_path.write_text("{")
    one_line_error(run(capsys, deployed, "channel", "list"), "cannot read")


def test_cids_and_manifest_subjects_are_checked_before_any_transaction(capsys, deployed, tmp_path):
    assert run(capsys, deployed, "wallet", "new", "pub")[0] == 0
    assert run(capsys, deployed, "registry", "register", "m")[0] == 0
    one_line_error(run(capsys, deployed, "registry", "publish", "m", "notacid"), "not a CID")
    f, g = tmp_path / "model.bin", tmp_path / "other.bin"
    f.write_bytes(b"weights")
    g.write_bytes(b"other weights")
    args = ("--name", "m", "--version", "1", "--license", "MIT", "--wallet", "pub", "-q")
    manifest = run(capsys, deployed, "publish", str(f), *args)[1].strip()
    content = run(capsys, deployed, "add", "-q", str(f))[1].strip()
    other = run(capsys, deployed, "add", "-q", str(g))[1].strip()
    one_line_error(
        run(capsys, deployed, "registry", "publish", "m", other, "--manifest", manifest),
        "is about",
        content,
    )
    absent = "bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm"
    one_line_error(
        run(capsys, deployed, "registry", "publish", "m", content, "--manifest", absent),
        "not in this data dir",
    )
    assert (
        json.loads(run(capsys, deployed, "registry", "show", "m", "--json")[1])["version_count"]
        == 0
    )  # nothing was sent
    code, out, _ = run(
        capsys, deployed, "registry", "publish", "m", content, "--manifest", manifest, "--json"
    )
    assert code == 0 and json.loads(out)["version"] == 0  # versions count from 0
    shown = json.loads(run(capsys, deployed, "registry", "show", "m", "--json")[1])
    assert shown["current"]["manifest_cid"] == manifest


def test_a_timelocked_version_becomes_current_when_its_time_comes(capsys, deployed):
    """No unrelated transaction: the embedded chain's clock follows the wall clock."""
    content = "bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm"
    assert run(capsys, deployed, "registry", "register", "tl", "--delay", "2")[0] == 0
    assert run(capsys, deployed, "registry", "publish", "tl", content)[0] == 0
    shown = run(capsys, deployed, "registry", "show", "tl")[1]
    assert "no current version yet" in shown and "pending, current from" in shown
    pending = json.loads(run(capsys, deployed, "registry", "show", "tl", "--json")[1])
    assert pending["current"] is None and len(pending["pending"]) == 1
    # blocks mined in a burst run a few seconds ahead of the wall clock; it catches up
    time.sleep(max(0.0, pending["pending"][0]["effective_at"] - time.time()) + 1.5)
    now = json.loads(run(capsys, deployed, "registry", "show", "tl", "--json")[1])
    assert now["current"]["content_cid"] == content and now["pending"] == []


def test_chain_advance_moves_time_for_unbonding(capsys, deployed):
    assert run(capsys, deployed, "stake", "add", "0.01", "--endpoint", "https://n")[0] == 0
    code, out, _ = run(capsys, deployed, "stake", "unbond", "0.01", "--json")
    release = json.loads(out)["release_at"]
    one_line_error(run(capsys, deployed, "stake", "withdraw"), "still unbonding")
    one_line_error(run(capsys, deployed, "chain", "advance", "soon"), "not a duration")
    code, out, _ = run(capsys, deployed, "chain", "advance", "8d", "--json")
    moved = json.loads(out)
    assert code == 0 and moved["time"] - moved["before"] >= 8 * 86400 and moved["time"] > release
    code, out, _ = run(capsys, deployed, "stake", "withdraw", "--json")
    assert code == 0 and json.loads(out)["withdrawn"] == 10**16
    status = json.loads(run(capsys, deployed, "chain", "status", "--json")[1])
    assert status["time"] >= moved["time"]  # the lead is kept across invocations


@pytest.mark.integration
def test_chain_advance_on_anvil(capsys, data_dir, anvil):
    code, out, _ = run(capsys, data_dir, "chain", "advance", "1h", "--chain", anvil, "--json")
    moved = json.loads(out)
    assert code == 0 and moved["time"] - moved["before"] >= 3600
