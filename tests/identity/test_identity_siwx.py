"""x402 sign-in-with-x, server side, against headers signed by the official x402 SDK.

The SDK (PyPI ``x402``, unmodified, in ``.venv-x402``) runs as a subprocess: its
client hook reads cairn's 402 body, signs the challenge with a test key and
returns the header it would send. cairn must accept exactly the good ones.
"""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import SiweInvalid
from cairn.identity import LocalSigner, personal_message_hash
from cairn.identity.siwe import NonceBook, SiweMessage
from cairn.identity.siwx import EXTENSION_KEY, HEADER, declare, verify_header

ROOT = Path(__file__).resolve().parents[2]
X402_PYTHON = ROOT / ".venv-x402" / "bin" / "python"
KEY = "0x" + "42" * 32
DOMAIN = "cairn.example"
URI = "https://cairn.example/v1/infer"
CHAIN = 8453

# Runs under .venv-x402: the SDK's own client hook, as an x402 client uses it on a 402.
CLIENT = """
import asyncio, json, sys
from eth_account import Account
from x402.extensions.sign_in_with_x import create_siwx_client_hook, create_siwx_payload
from x402.schemas import PaymentRequired
from x402.schemas.hooks import PaymentRequiredContext

async def main():
    jobs = json.load(sys.stdin)
    account = Account.from_key(jobs["key"])
    hook = create_siwx_client_hook(account)
    out = {}
    for name, job in jobs["challenges"].items():
        required = PaymentRequired.model_validate(job["body"])
        context = PaymentRequiredContext(payment_required=required, request_url=job["url"])
        result = await hook(context)
        if result is None:  # the hook swallows its errors; the payload builder shows them
            challenge = job["body"]["extensions"]["sign-in-with-x"]
            info = {**challenge["info"], **challenge["supportedChains"][0]}
            await create_siwx_payload(info, account, job["url"])
            sys.exit(f"{name}: the SDK hook made no header")
        out[name] = result.headers
    print(json.dumps(out))

asyncio.run(main())
"""


class Challenges:
    """One nonce book, and one SDK-signed header per scenario (each with its own nonce)."""

    def __init__(self) -> None:
        self.book = NonceBook(ttl=600)
        self.bodies: dict[str, dict[str, Any]] = {}
        self.headers: dict[str, str] = {}
        self.raw_headers: dict[str, dict[str, str]] = {}

    def add(self, name: str, url: str = URI, **declared: Any) -> None:
        declared = {"domain": DOMAIN, "uri": URI, "chain_id": CHAIN, **declared}
        extensions = declare(nonce=self.book.issue(), **declared)
        body = {"x402Version": 2, "error": "sign in", "accepts": [], "extensions": extensions}
        self.bodies[name] = {"url": url, "body": json.loads(json.dumps(body))}


@pytest.fixture(scope="module")
def signed() -> Challenges:
    if not X402_PYTHON.exists():
        pytest.fail(f"the x402 SDK venv is missing ({X402_PYTHON}): run `make test`")
    c = Challenges()
    c.add("ok", statement="Sign in to cairn", resources=[URI])
    c.add("replay")
    c.add("tampered")
    c.add("other_domain", domain="evil.example", uri="https://evil.example/v1/infer",
          url="https://evil.example/v1/infer")  # fmt: skip
    c.add("other_uri", uri="https://cairn.example/v1/other", url="https://cairn.example/v1/other")
    c.add("expiring", expiration_time=datetime.now(UTC) + timedelta(minutes=5))
    c.add("not_yet", not_before=datetime.now(UTC) + timedelta(minutes=5))
    c.add("contract", request_id="req-1")
    c.add("nulls", request_id="req-2")
    jobs = {"key": KEY, "challenges": c.bodies}
    run = subprocess.run(
        [str(X402_PYTHON), "-c", CLIENT],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    c.raw_headers = json.loads(run.stdout)
    c.headers = {name: next(iter(h.values())) for name, h in c.raw_headers.items()}
    return c


def _payload(header: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(header))
    return data


def _encode(payload: object) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


def _verify(c: Challenges, header: str, **kwargs: Any) -> str:
    return verify_header(header, domain=DOMAIN, uri=URI, nonce_book=c.book, **kwargs)


ADDRESS = LocalSigner.from_hex(KEY).address


def test_the_sdk_sends_the_header_cairn_names(signed: Challenges) -> None:
    for headers in signed.raw_headers.values():
        assert [name.upper() for name in headers] == [HEADER]
    payload = _payload(signed.headers["ok"])
    info = signed.bodies["ok"]["body"]["extensions"][EXTENSION_KEY]["info"]
    assert {k: payload[k] for k in info} == info  # the client echoes the challenge
    assert (payload["chainId"], payload["type"], payload["address"]) == (
        f"eip155:{CHAIN}",
        "eip191",
        ADDRESS,
    )


def test_official_client_header_verifies_once(signed: Challenges) -> None:
    assert _verify(signed, signed.headers["ok"], chain_id=CHAIN) == ADDRESS
    with pytest.raises(SiweInvalid, match="nonce was already used"):
        _verify(signed, signed.headers["ok"])


def test_replayed_header_is_refused(signed: Challenges) -> None:
    header = signed.headers["replay"]
    assert _verify(signed, header) == ADDRESS
    for _ in range(3):
        with pytest.raises(SiweInvalid, match="already used"):
            _verify(signed, header)


def test_tampered_signature_is_refused_and_leaves_the_nonce(signed: Challenges) -> None:
    payload = _payload(signed.headers["tampered"])
    sig = bytearray.fromhex(payload["signature"][2:])
    for i in (0, 40):
        bad = bytearray(sig)
        bad[i] ^= 0x01
        with pytest.raises(SiweInvalid, match="signature"):
            _verify(signed, _encode({**payload, "signature": "0x" + bad.hex()}))
    with pytest.raises(SiweInvalid, match="signature is by"):  # the text changed under it
        _verify(signed, _encode({**payload, "issuedAt": "2020-01-01T00:00:00.000Z"}))
    assert _verify(signed, signed.headers["tampered"]) == ADDRESS


def test_header_for_another_domain_is_refused(signed: Challenges) -> None:
    header = signed.headers["other_domain"]
    assert _payload(header)["domain"] == "evil.example"
    with pytest.raises(SiweInvalid, match=r"uri 'https://evil\.example"):
        _verify(signed, header)
    with pytest.raises(SiweInvalid, match=r"domain 'evil\.example' is not this service's"):
        verify_header(header, domain=DOMAIN, uri=_payload(header)["uri"], nonce_book=signed.book)
    signed.book.check(_payload(header)["nonce"])  # refusals do not spend the nonce


def test_header_for_another_uri_is_refused(signed: Challenges) -> None:
    with pytest.raises(SiweInvalid, match="is not the declared"):
        _verify(signed, signed.headers["other_uri"])


def test_nonce_from_elsewhere_is_refused(signed: Challenges) -> None:
    with pytest.raises(SiweInvalid, match="nonce is unknown"):
        verify_header(signed.headers["ok"], domain=DOMAIN, uri=URI, nonce_book=NonceBook())


def test_expiry_and_not_before_are_enforced(signed: Challenges) -> None:
    later = datetime.now(UTC) + timedelta(minutes=10)
    with pytest.raises(SiweInvalid, match="expired"):
        _verify(signed, signed.headers["expiring"], now=later)
    with pytest.raises(SiweInvalid, match="not valid before"):
        _verify(signed, signed.headers["not_yet"])
    assert _verify(signed, signed.headers["not_yet"], now=later) == ADDRESS


def test_wrong_chain_is_refused(signed: Challenges) -> None:
    with pytest.raises(SiweInvalid, match="chain id 8453 is not the expected 1"):
        _verify(signed, signed.headers["expiring"], chain_id=1)


def test_contract_accounts_go_to_eip1271(signed: Challenges) -> None:
    header = signed.headers["contract"]
    message = SiweMessage.parse(_message_text(_payload(header)))
    seen: list[tuple[str, bytes, bytes]] = []

    def is_valid(address: str, digest: bytes, signature: bytes) -> bool:
        seen.append((address, digest, signature))
        return False

    with pytest.raises(SiweInvalid, match="EIP-1271"):
        _verify(signed, header, code_at=lambda _a: b"\x60\x80", is_valid_signature=is_valid)
    assert seen == [
        (
            ADDRESS,
            personal_message_hash(message.text()),
            bytes.fromhex(_payload(header)["signature"][2:]),
        )
    ]
    assert _verify(
        signed, header, code_at=lambda _a: b"\x60\x80", is_valid_signature=lambda *a: True
    )


def _message_text(payload: dict[str, Any]) -> str:
    fields = {k: v for k, v in payload.items() if k not in ("type", "signature", "chainId")}
    return SiweMessage.from_fields(
        {**fields, "chainId": int(payload["chainId"].split(":")[1])}
    ).text()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda p: "not base64!", "not base64"),
        (lambda p: base64.b64encode(b"\xff\xfe").decode(), "not base64 of UTF-8 JSON"),
        (lambda p: _encode([p]), "not a JSON object"),
        (lambda p: "A" * 20_000, "longer than"),
        (lambda p: _encode({**p, "type": "ed25519"}), "not eip191"),
        (lambda p: _encode({**p, "chainId": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"}), "eip155"),
        (lambda p: _encode({**p, "chainId": 8453}), "eip155"),
        (
            lambda p: _encode({k: v for k, v in p.items() if k != "signature"}),
            "signature is missing",
        ),
        (lambda p: _encode({k: v for k, v in p.items() if k != "nonce"}), "'nonce' is missing"),
        (lambda p: _encode({**p, "nonce": "short"}), "nonce: 'short'"),
        (lambda p: _encode({**p, "address": p["address"].lower()}), "EIP-55"),
    ],
)
def test_malformed_headers_are_refused(signed: Challenges, change: Any, why: str) -> None:
    with pytest.raises(SiweInvalid, match=why) as exc:
        _verify(signed, change(_payload(signed.headers["expiring"])))
    assert "\n" not in str(exc.value)


def test_null_optional_fields_count_as_absent(signed: Challenges) -> None:
    payload = {**_payload(signed.headers["nulls"]), "statement": None, "resources": None}
    with pytest.raises(SiweInvalid, match="signature is by"):  # the signed text had a requestId
        _verify(signed, _encode({**payload, "requestId": None}))


def test_declare_has_the_sdk_shape() -> None:
    issued = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    ext = declare(
        DOMAIN,
        URI,
        CHAIN,
        "abcd1234EFGH5678",
        statement="Sign in",
        issued_at=issued,
        expiration_time=issued + timedelta(minutes=5),
        resources=(URI,),
    )
    assert list(ext) == [EXTENSION_KEY]
    challenge = ext[EXTENSION_KEY]
    assert challenge["info"] == {
        "domain": DOMAIN,
        "uri": URI,
        "version": "1",
        "nonce": "abcd1234EFGH5678",
        "issuedAt": "2030-01-02T03:04:05.678Z",
        "statement": "Sign in",
        "expirationTime": "2030-01-02T03:09:05.678Z",
        "resources": [URI],
    }
    assert challenge["supportedChains"] == [{"chainId": "eip155:8453", "type": "eip191"}]
    schema = challenge["schema"]
    assert set(schema["required"]) == {
        "domain", "address", "uri", "version", "chainId", "type", "nonce", "issuedAt", "signature"
    }  # fmt: skip
    assert set(schema["properties"]) >= set(challenge["info"]) | {"address", "signature"}
    json.dumps(ext)


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"nonce": "short"}, "nonce"),
        ({"statement": "two\nlines"}, "statement"),
        ({"uri": "not a uri"}, "uri"),
        ({"issued_at": datetime(2030, 1, 1)}, "timezone-aware"),
    ],
)
def test_declare_refuses_a_bad_challenge(kwargs: dict[str, Any], why: str) -> None:
    args = {"domain": DOMAIN, "uri": URI, "chain_id": CHAIN, "nonce": "abcd1234EFGH", **kwargs}
    with pytest.raises(SiweInvalid, match=why):
        declare(**args)
