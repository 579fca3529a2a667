"""A wallet that keeps its key signs everything a keystore signs, identically (issue 15).

Anvil plays the wallet: it answers EIP-1193 requests (``eth_accounts``,
``personal_sign``, ``eth_signTypedData_v4``, ``eth_signTransaction``) for its
development accounts. Every kind of signature cairn makes is made twice, once by
:class:`ExternalSigner` asking Anvil and once by a :class:`LocalSigner` holding
the same key (the default mnemonic's account 1, a published development key),
and they must be byte-identical (RFC 6979 makes ECDSA deterministic on both
sides). Then a wallet that lies -- another key's signature, a malformed one, a
high-s one, a refusal, a transaction other than the one asked for -- is refused
with one line, and nothing reaches the chain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.chain import connect
from cairn.chain._tx import sign_transaction
from cairn.chain.batch import (
    ChannelConfig,
    VoucherClaim,
    sign_claim_batch,
    sign_refund,
    sign_voucher,
)
from cairn.chain.token import TokenDomain, sign_authorization, sign_cancel
from cairn.content import Cid, MemoryBlockstore
from cairn.errors import SignatureError
from cairn.identity import (
    ExternalSigner,
    LocalSigner,
    Signature,
    sign_message,
    sign_typed_data,
)
from cairn.provenance import Card, ManifestIndex, publish
from cairn.receipts import Receipt, ReceiptDomain

# Anvil's default mnemonic ("test test ... junk"), account 1: a published dev key.
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDR1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OTHER = LocalSigner.from_hex("0x" + "42" * 32)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wallet(wall_clock_anvil: str) -> ExternalSigner:
    return ExternalSigner.at(f"{wall_clock_anvil}#{ADDR1}")


@pytest.fixture(scope="module")
def local() -> LocalSigner:
    signer = LocalSigner.from_hex(KEY1)
    assert signer.address == ADDR1
    return signer


TYPED = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "chainId", "type": "uint256"},
        ],
        "Mail": [
            {"name": "to", "type": "address"},
            {"name": "amount", "type": "uint256"},
            {"name": "memo", "type": "bytes"},
            {"name": "tags", "type": "string[]"},
        ],
    },
    "primaryType": "Mail",
    "domain": {"name": "cairn-test", "chainId": 31337},
    "message": {"to": ADDR1, "amount": 2**200 + 7, "memo": b"\x00\xffhi", "tags": ["a", "b"]},
}
CONFIG = ChannelConfig(
    payer=ADDR1,
    payer_authorizer=ADDR1,
    receiver="0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    receiver_authorizer="0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    token="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    withdraw_delay=900,
    salt=b"\x07" * 32,
)


def _signings() -> dict[str, Callable[[Any], object]]:
    receipt = Receipt(
        str(Cid.of(b"model")),
        b"\x01" * 32,
        b"\x02" * 32,
        ADDR1,
        b"\x03" * 32,
        1_700_000_000,
        "onnxruntime 1.20",
        1000,
        ReceiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    )
    token = TokenDomain("CairnUSD", 31337, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
    claim = VoucherClaim(CONFIG, 5000, b"", 3000)
    tx = {
        "from": ADDR1,
        "to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "value": 12345,
        "gas": 50_000,
        "nonce": 9,
        "chainId": 31337,
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "data": b"\xde\xad\xbe\xef",
    }
    return {
        "personal_sign": lambda s: sign_message(s, b"cairn \x00 bytes"),
        "typed data": lambda s: sign_typed_data(s, TYPED),
        "receipt": lambda s: receipt.sign(s).signature,
        "voucher": lambda s: sign_voucher(s, b"\x09" * 32, 10**20, 31337),
        "refund": lambda s: sign_refund(s, b"\x09" * 32, 3, 777, 31337),
        "claim batch": lambda s: sign_claim_batch(s, [claim, claim], 31337),
        "eip-3009": lambda s: sign_authorization(
            s,
            token,
            from_=ADDR1,
            to=CONFIG.receiver,
            value=1000,
            valid_after=0,
            valid_before=2**40,
            nonce=b"\x05" * 32,
        ),
        "eip-3009 cancel": lambda s: sign_cancel(s, token, b"\x05" * 32),
        "transaction": lambda s: sign_transaction(dict(tx), s),
    }


@pytest.mark.parametrize("what", list(_signings()))
def test_a_wallet_signs_exactly_what_a_keystore_signs(
    what: str, wallet: ExternalSigner, local: LocalSigner
) -> None:
    sign = _signings()[what]
    assert sign(wallet) == sign(local)


def test_a_manifest_signed_by_a_wallet_is_the_same_manifest(
    wallet: ExternalSigner, local: LocalSigner, tmp_path: Path
) -> None:
    (tmp_path / "weights.bin").write_bytes(b"w" * 5000)
    card = Card("model", "m", "1.0.0", "MIT")
    made = [
        publish(tmp_path / "weights.bin", card, s, MemoryBlockstore(), ManifestIndex(tmp_path / n))
        for s, n in ((wallet, "a.json"), (local, "b.json"))
    ]
    assert made[0].manifest_cid == made[1].manifest_cid


def test_a_wallet_never_signs_a_bare_digest(wallet: ExternalSigner) -> None:
    with pytest.raises(SignatureError, match="never a bare digest"):
        wallet.sign_hash(b"\x01" * 32)


def test_a_transaction_a_wallet_signs_lands_onchain(
    wall_clock_anvil: str, wallet: ExternalSigner
) -> None:
    chain = connect(wall_clock_anvil)
    chain.deploy(chain.dev_keys()[0], record=False)
    chain.registry.register(wallet, "wallet-signed-model", 0)
    info = chain.registry.model("wallet-signed-model")
    assert info is not None and info.owner == ADDR1


# -- a wallet that lies -------------------------------------------------------------


class _LyingWallet(BaseHTTPRequestHandler):
    mode = "honest"

    def log_message(self, *_args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        answer = self.answer(body["method"], body["params"])
        raw = (
            answer
            if isinstance(answer, bytes)
            else json.dumps({"jsonrpc": "2.0", "id": body["id"], **answer}).encode()
        )
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(raw)

    def answer(self, method: str, params: list[Any]) -> dict[str, Any] | bytes:
        mode = type(self).mode
        key = LocalSigner.from_hex(KEY1)
        if method == "eth_accounts":
            return {"result": [ADDR1.lower()]}
        if mode == "refuse":
            return {"error": {"code": 4001, "message": "User rejected the request."}}
        if mode == "not-json":
            return b"<html>502 Bad Gateway</html>"
        if method == "eth_signTransaction":
            tx = {
                k: int(v, 16) if k not in ("from", "to", "data") else v
                for k, v in params[0].items()
            }
            tx.pop("from")
            tx.pop("type", None)
            tx["data"] = bytes.fromhex(tx["data"].removeprefix("0x"))
            if mode == "tx-changed":
                tx["value"] = tx.get("value", 0) + 10**18
            signer = OTHER if mode == "other" else key
            return {"result": "0x" + sign_transaction(tx, signer).hex()}
        message = bytes.fromhex(params[0].removeprefix("0x")) if method == "personal_sign" else b""
        signer = OTHER if mode == "other" else key
        sig = (
            sign_message(signer, message)
            if method == "personal_sign"
            else sign_typed_data(signer, params[1])
        )
        if mode == "malformed":
            return {"result": "0x1234"}
        if mode == "high-s":
            from cairn.identity.base import SECP256K1_N

            flipped = Signature(sig.r, SECP256K1_N - sig.s, 55 - sig.v)
            return {"result": flipped.hex}
        return {"result": sig.hex}


@pytest.fixture
def lying_wallet() -> Iterator[Callable[[str], ExternalSigner]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LyingWallet)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def with_mode(mode: str) -> ExternalSigner:
        _LyingWallet.mode = mode
        return ExternalSigner(f"http://127.0.0.1:{server.server_address[1]}")

    try:
        yield with_mode
    finally:
        server.shutdown()
        _LyingWallet.mode = "honest"


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("other", "returned a signature by 0x"),
        ("malformed", "returned a malformed signature"),
        ("high-s", "high-s signature"),
        ("refuse", "refused the request personal_sign: User rejected"),
        ("not-json", "not JSON-RPC"),
    ],
)
def test_a_lying_wallet_is_refused_in_one_line(
    lying_wallet: Callable[[str], ExternalSigner], mode: str, said: str
) -> None:
    signer = lying_wallet(mode)
    assert signer.address == ADDR1
    with pytest.raises(SignatureError) as caught:
        sign_message(signer, b"hello")
    assert said in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"the wallet at {signer.url}")


def test_an_honest_fake_wallet_is_accepted(lying_wallet: Callable[[str], ExternalSigner]) -> None:
    signer = lying_wallet("honest")  # the fake itself is sound: the refusals above are its lies
    assert sign_message(signer, b"hello") == sign_message(LocalSigner.from_hex(KEY1), b"hello")


@pytest.mark.parametrize(
    ("mode", "said"),
    [("tx-changed", "a different transaction"), ("other", "a transaction signed by 0x")],
)
def test_a_wallet_that_signs_another_transaction_sends_nothing(
    wall_clock_anvil: str, lying_wallet: Callable[[str], ExternalSigner], mode: str, said: str
) -> None:
    chain = connect(wall_clock_anvil)
    chain.deploy(chain.dev_keys()[0], record=False)
    signer = lying_wallet(mode)
    nonce = _nonce(wall_clock_anvil, ADDR1)
    with pytest.raises(SignatureError, match=said):
        chain.registry.register(signer, f"never-{mode}", 0)
    assert _nonce(wall_clock_anvil, ADDR1) == nonce
    assert chain.registry.model(f"never-{mode}") is None


def _nonce(url: str, address: str) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_getTransactionCount",
        "params": [address, "pending"],
    }
    return int(httpx.post(url, json=body).json()["result"], 16)


# -- the command line ---------------------------------------------------------------


def _run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cairn", "--data-dir", str(data_dir), *args],
        capture_output=True,
        env={**os.environ, "CAIRN_PASSPHRASE": "pw", **env},
        timeout=120,
        check=False,
    )


def _cairn(data_dir: Path, *args: str, **env: str) -> dict[str, Any]:
    done = _run(data_dir, *args, "--json", **env)
    assert done.returncode == 0, done.stderr.decode()
    return dict(json.loads(done.stdout))


def _published(tmp_path: Path) -> tuple[str, ...]:
    """``publish`` of ``tmp_path/w.bin`` as model m 1 (MIT)."""
    return ("publish", str(tmp_path / "w.bin"), "--name", "m", "--version", "1", "--license", "MIT")


def test_cairn_publish_with_signer_makes_the_keystores_manifest(
    wall_clock_anvil: str, tmp_path: Path
) -> None:
    (tmp_path / "w.bin").write_bytes(b"weights" * 100)
    args = _published(tmp_path)
    keystore = tmp_path / "keystore-dd"
    _cairn(
        keystore, "wallet", "import", "k", "--key", KEY1, "--kdf", "pbkdf2", "--iterations", "1000"
    )
    by_keystore = _cairn(keystore, *args, "--wallet", "k")
    by_wallet = _cairn(tmp_path / "wallet-dd", *args, CAIRN_SIGNER=f"{wall_clock_anvil}#{ADDR1}")
    assert by_wallet["manifest"] == by_keystore["manifest"]
    assert by_wallet["signer"] == ADDR1


def test_signer_and_wallet_together_is_one_line(wall_clock_anvil: str, tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"x")
    args = ("--signer", wall_clock_anvil, *_published(tmp_path), "--wallet", "k")
    done = _run(tmp_path / "dd", *args)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == (
        "error: --signer and the wallet 'k' name two signers: pass one"
    )


def test_a_wallet_that_refuses_leaves_no_manifest(
    lying_wallet: Callable[[str], ExternalSigner], tmp_path: Path
) -> None:
    """``cairn publish`` through a wallet that says no: one line, exit 1, no manifest
    signed, stored or indexed (the artifact's blocks, content-addressed, may stay)."""
    url = lying_wallet("refuse").url
    (tmp_path / "w.bin").write_bytes(b"weights")
    data = tmp_path / "dd"
    done = _run(data, "--signer", url, *_published(tmp_path))
    err = done.stderr.decode().strip()
    assert done.returncode == 1
    assert err.startswith(f"error: the wallet at {url} refused the request personal_sign")
    assert "\n" not in err
    assert not (data / "provenance").exists() or not any((data / "provenance").rglob("*.json"))
