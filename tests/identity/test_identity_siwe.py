"""Sign-In with Ethereum (EIP-4361): the spruceid/siwe vectors, routing to EIP-1271, nonces."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.errors import ConfigError, SiweInvalid
from cairn.identity import LocalSigner, personal_message_hash, sign_message
from cairn.identity.base import SECP256K1_N
from cairn.identity.siwe import NonceBook, SiweMessage, verify

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "siwe"
NOT_FIELDS = {"signature", "time", "domainBinding", "matchNonce"}
SIGNER = LocalSigner.from_hex("0x" + "4c" * 32)
CODE = bytes.fromhex("6080604052")


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def _fields(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k not in NOT_FIELDS}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _message(**changes: Any) -> SiweMessage:
    base: dict[str, Any] = {
        "domain": "cairn.example",
        "address": SIGNER.address,
        "statement": "Sign in to cairn",
        "uri": "https://cairn.example/v1",
        "version": "1",
        "chain_id": 31337,
        "nonce": "abcdEFGH1234",
        "issued_at": "2030-01-01T00:00:00Z",
    }
    return SiweMessage(**{**base, **changes})


def _one_line(exc: pytest.ExceptionInfo[SiweInvalid]) -> str:
    text = str(exc.value)
    assert text and "\n" not in text
    return text


POSITIVE = _load("parsing_positive.json")
NEGATIVE = _load("parsing_negative.json")
NEGATIVE_OBJECTS = _load("parsing_negative_objects.json")
VERIFY_OK = _load("verification_positive.json")
VERIFY_BAD = _load("verification_negative.json")
EIP1271 = _load("eip1271.json")


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_positive_vectors_parse_and_round_trip(name: str) -> None:
    case = POSITIVE[name]
    parsed = SiweMessage.parse(case["message"])
    assert parsed == SiweMessage.from_fields(case["fields"])
    assert parsed.text() == case["message"]
    assert SiweMessage.from_fields(case["fields"]).text() == case["message"]


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_vectors_are_refused(name: str) -> None:
    with pytest.raises(SiweInvalid) as exc:
        SiweMessage.parse(NEGATIVE[name])
    assert _one_line(exc).startswith("line ")


@pytest.mark.parametrize("name", sorted(NEGATIVE_OBJECTS))
def test_negative_field_objects_are_refused(name: str) -> None:
    with pytest.raises(SiweInvalid) as exc:
        SiweMessage.from_fields(NEGATIVE_OBJECTS[name])
    _one_line(exc)


def test_refusals_name_the_line_and_field() -> None:
    text = _message().text().replace("Nonce: abcdEFGH1234", "Nonce: short")
    with pytest.raises(SiweInvalid, match=r"^line 9: nonce: 'short'"):
        SiweMessage.parse(text)
    with pytest.raises(SiweInvalid, match=r"^line 8: expected 'Chain ID: \.\.\.'"):
        SiweMessage.parse(_message().text().replace("Chain ID", "Chain-ID"))


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (" wants you", " wanna", "line 1: expected"),
        ("cairn.example wants", "://cairn.example wants", "line 1: scheme"),
        ("cairn.example wants", "1http://cairn.example wants", "line 1: scheme"),
        ("cairn.example wants", "host:8o wants", "line 1: domain"),
        ("cairn.example wants", "[fe80::1%eth0] wants", "line 1: domain"),
        ("cairn.example wants", "[::1 wants", "line 1: domain"),
        ("cairn.example wants", "a b@cairn.example wants", "line 1: domain"),
        ("cairn.example wants", "[::1]x wants", "line 1: domain"),
        ("account:\n0x", "account:\n0X", "line 2: address"),
        ("\n\nSign in", "\nx\nSign in", "line 3: expected a blank line"),
        ("Sign in to cairn\n\n", "Sign in to cairn\nURI: x\n", "line 5: expected a blank line"),
        ("Sign in to cairn", "100% sure", "line 4: statement"),
        ("Sign in to cairn", "héllo", "line 4: statement"),
        ("Chain ID: 31337", "Chain ID: 031337", "line 8: chain_id"),
        ("Chain ID: 31337", "Chain ID: \u0661", "line 8: chain_id"),
        ("Nonce: abcdEFGH1234", "Nonce: abcdEFGH123\u0661", "line 9: nonce"),
        ("2030-01-01T00:00:00Z", "2030-01-01T24:00:00Z", "line 10: issued_at"),
        ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00+24:00", "line 10: issued_at"),
        ("2030-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "line 10: issued_at"),
        ("https://cairn.example/v1", "https://cairn.example/v 1", "line 6: uri"),
        ("https://cairn.example/v1", "https://cairn.example:x/", "line 6: uri"),
        ("https://cairn.example/v1", "https://cairn.example/?q=<", "line 6: uri"),
        ("https://cairn.example/v1", "https://[vz.1]/", "line 6: uri"),
    ],
)
def test_each_grammar_guard_trips(old: str, new: str, why: str) -> None:
    text = _message().text()
    assert old in text
    with pytest.raises(SiweInvalid, match="^" + why.replace("[", r"\[")):
        SiweMessage.parse(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("suffix", "why"),
    [
        ("\n", "line 11: unexpected ''"),
        ("\nResources:\n* https://x.example", "line 12: expected '- <uri>'"),
        ("\nRequest ID: a b", "line 11: request_id"),
        ("\nNot Before: 2030-01-01T00:00:00Z\nExpiration Time: 2031-01-01T00:00:00Z", "line 12"),
    ],
)
def test_trailing_lines_are_checked(suffix: str, why: str) -> None:
    with pytest.raises(SiweInvalid, match="^" + why):
        SiweMessage.parse(_message().text() + suffix)


def test_message_that_ends_early_is_refused() -> None:
    text = _message().text()
    for cut in ("\nURI:", "\n\nSign in", "\n0x"):
        with pytest.raises(SiweInvalid, match=r"^line"):
            SiweMessage.parse(text[: text.index(cut)])
    with pytest.raises(SiweInvalid, match="ends before the statement"):
        SiweMessage.parse(text[: text.index("\nSign in")])
    with pytest.raises(SiweInvalid, match="is text"):
        SiweMessage.parse(b"service.org wants you")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"statement": ""},
        {"statement": None},
        {"resources": ()},
        {"resources": ("urn:isbn:0451450523", "file:///etc/x", "mailto:a@b.example")},
        {"request_id": ""},
        {"scheme": "https", "domain": "user:pw@[v1.x]:8080"},
        {"domain": "[::ffff:1.2.3.4]", "uri": "https://[2001:db8::1]:443/p?q=1#f"},
        {"issued_at": "2016-12-31T23:59:60.5z", "not_before": "2030-01-01t00:00:00+05:30"},
        {"chain_id": 0},
    ],
)
def test_edge_messages_round_trip(changes: dict[str, Any]) -> None:
    message = _message(**changes)
    assert SiweMessage.parse(message.text()) == message


def test_times_read_the_signed_strings() -> None:
    message = _message(issued_at="2016-12-31T23:59:60Z", not_before="2030-01-01T05:30:00+05:30")
    issued, expires, starts = message.times()
    assert issued == datetime(2017, 1, 1, tzinfo=UTC)
    assert (expires, starts) == (None, datetime(2030, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"chain_id": True}, "chain_id"),
        ({"chain_id": -1}, "chain_id"),
        ({"chain_id": "1"}, "chain_id"),
        ({"resources": "https://x.example"}, "resources"),
        ({"resources": ("https://ok.example", "no scheme")}, r"resources\[1\]"),
        ({"issued_at": 20300101}, "issued_at"),
        ({"domain": ""}, "domain"),
        ({"address": 7}, "address"),
        ({"uri": None}, "uri"),
        ({"version": 1}, "version"),
        ({"scheme": "ht tp"}, "scheme"),
    ],
)
def test_constructor_refuses_bad_fields(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(SiweInvalid, match="^" + field):
        _message(**changes)


def test_constructor_takes_a_list_of_resources() -> None:
    message = _message(resources=["https://a.example"])
    assert message.resources == ("https://a.example",)


def test_from_fields_refuses_unknown_keys() -> None:
    with pytest.raises(SiweInvalid, match="unknown SIWE field 'signature'"):
        SiweMessage.from_fields({**POSITIVE["no statement"]["fields"], "signature": "0x"})


_STATEMENT_CHARS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;= "
)


@settings(max_examples=150, deadline=None)
@given(
    statement=st.none() | st.text(alphabet=_STATEMENT_CHARS, max_size=40),
    chain_id=st.integers(min_value=0, max_value=2**64),
    nonce=st.text(alphabet=_STATEMENT_CHARS[:62], min_size=8, max_size=40),
    request_id=st.none()
    | st.text(alphabet="abc-._~%20:@!$&'()*+,;=", max_size=12).filter(lambda s: "%" not in s),
    resources=st.none() | st.lists(st.sampled_from(["ipfs://bafy", "https://x.example/a?b"])),
    expiration=st.none()
    | st.sampled_from(["2031-02-03T04:05:06.789+01:00", "2099-12-31T23:59:59Z"]),
)
def test_property_built_messages_round_trip(
    statement: str | None,
    chain_id: int,
    nonce: str,
    request_id: str | None,
    resources: list[str] | None,
    expiration: str | None,
) -> None:
    message = _message(
        statement=statement,
        chain_id=chain_id,
        nonce=nonce,
        request_id=request_id,
        resources=None if resources is None else tuple(resources),
        expiration_time=expiration,
    )
    assert SiweMessage.parse(message.text()) == message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.sampled_from([c["message"] for c in POSITIVE.values()]))
def test_property_parse_refuses_only_with_siwe_invalid(text: str) -> None:
    try:
        message = SiweMessage.parse(text)
    except SiweInvalid:
        return
    assert message.text() == text


# --- verification --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VERIFY_OK))
def test_verification_positive_vectors(name: str) -> None:
    case = VERIFY_OK[name]
    message = SiweMessage.from_fields(_fields(case))
    now = _time(case["time"]) if "time" in case else None
    got = verify(message, case["signature"], domain=case["domain"], now=now)
    assert got.address == case["address"]
    assert verify(message.text(), case["signature"], domain=case["domain"], now=now) == message


@pytest.mark.parametrize("name", sorted(VERIFY_BAD))
def test_verification_negative_vectors(name: str) -> None:
    case = VERIFY_BAD[name]
    with pytest.raises(SiweInvalid) as exc:
        verify(
            SiweMessage.from_fields(_fields(case)),
            case["signature"],
            domain=case.get("domainBinding", case["domain"]),
            now=_time(case["time"]) if "time" in case else None,
            nonce=case.get("matchNonce"),
        )
    _one_line(exc)


def _signed(**changes: Any) -> tuple[SiweMessage, bytes]:
    message = _message(**changes)
    return message, sign_message(SIGNER, message.text()).to_bytes()


def test_verify_checks_window_nonce_and_chain() -> None:
    message, sig = _signed(
        expiration_time="2030-01-02T00:00:00Z", not_before="2030-01-01T00:00:00Z"
    )
    start = datetime(2030, 1, 1, tzinfo=UTC)
    assert verify(
        message, sig, domain="cairn.example", now=start, nonce="abcdEFGH1234", chain_id=31337
    )
    with pytest.raises(SiweInvalid, match="not valid before"):
        verify(message, sig, domain="cairn.example", now=start - timedelta(microseconds=1))
    with pytest.raises(SiweInvalid, match="expired"):
        verify(message, sig, domain="cairn.example", now=start + timedelta(days=1))
    with pytest.raises(SiweInvalid, match="nonce"):
        verify(message, sig, domain="cairn.example", now=start, nonce="abcdEFGH1235")
    with pytest.raises(SiweInvalid, match="chain id 31337 is not the expected 1"):
        verify(message, sig, domain="cairn.example", now=start, chain_id=1)
    with pytest.raises(SiweInvalid, match="timezone-aware"):
        verify(message, sig, domain="cairn.example", now=datetime(2030, 1, 1, 12))


def test_verify_binds_the_configured_domain_exactly() -> None:
    message, sig = _signed(domain="cairn.example:8443")
    assert verify(message, sig, domain="cairn.example:8443")
    for other in ("cairn.example", "CAIRN.example:8443", "evil.example:8443"):
        with pytest.raises(SiweInvalid, match="domain"):
            verify(message, sig, domain=other)


def test_verify_takes_hex_with_or_without_0x_and_bytes() -> None:
    message, sig = _signed()
    for form in (sig, "0x" + sig.hex(), sig.hex(), "0x" + sig.hex().upper()):
        assert verify(message, form, domain="cairn.example").address == SIGNER.address


def _high_s(sig: bytes) -> bytes:
    s = int.from_bytes(sig[32:64], "big")
    return sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda s: s[:64], "65 bytes"),
        (lambda s: s + b"\x00", "65 bytes"),
        (lambda s: s[:64] + b"\x1d", "v must be 27 or 28"),
        (lambda s: bytes(32) + s[32:], "out of range"),
        (_high_s, "low-s"),
        (lambda s: s[:64] + bytes([55 - s[64]]), "signature is by"),
    ],
)
def test_malformed_signatures_are_refused(mangle: Any, why: str) -> None:
    message, sig = _signed()
    with pytest.raises(SiweInvalid, match=why) as exc:
        verify(message, mangle(sig), domain="cairn.example")
    _one_line(exc)


@pytest.mark.parametrize("bad", ["0x123", "0xzz" + "00" * 64, "", None, 65])
def test_non_hex_signatures_are_refused(bad: Any) -> None:
    message, _ = _signed()
    with pytest.raises(SiweInvalid, match=r"hex digits|65 bytes"):
        verify(message, bad, domain="cairn.example")


# --- EIP-1271 routing ----------------------------------------------------------------------


class FakeChain:
    """``code_at`` and ``is_valid_signature`` over a dict of contracts, recording every call."""

    def __init__(self, contracts: dict[str, tuple[bytes, bytes]]) -> None:
        self.contracts = contracts  # address -> (digest, signature) the wallet accepts
        self.calls: list[tuple[str, bytes, bytes]] = []
        self.code_reads: list[str] = []

    def code_at(self, address: str) -> bytes:
        self.code_reads.append(address)
        return CODE if address in self.contracts else b""

    def is_valid_signature(self, address: str, digest: bytes, signature: bytes) -> bool:
        self.calls.append((address, digest, signature))
        return self.contracts.get(address) == (digest, signature)


@pytest.mark.parametrize("name", sorted(EIP1271))
def test_eip1271_vectors_route_to_the_contract(name: str) -> None:
    case = EIP1271[name]
    message = SiweMessage.parse(case["message"])
    sig = bytes.fromhex(case["signature"][2:])
    chain = FakeChain({message.address: (personal_message_hash(case["message"]), sig)})
    got = verify(
        case["message"],
        case["signature"],
        domain=message.domain,
        code_at=chain.code_at,
        is_valid_signature=chain.is_valid_signature,
    )
    assert got == message
    assert chain.calls == [(message.address, personal_message_hash(case["message"]), sig)]
    with pytest.raises(SiweInvalid):  # without the chain, ecrecover cannot stand in
        verify(case["message"], case["signature"], domain=message.domain)


def test_an_eoa_never_goes_to_eip1271() -> None:
    chain = FakeChain({})
    message, sig = _signed()
    verify(
        message,
        sig,
        domain="cairn.example",
        code_at=chain.code_at,
        is_valid_signature=chain.is_valid_signature,
    )
    assert chain.code_reads == [SIGNER.address] and chain.calls == []
    with pytest.raises(SiweInvalid, match="signature is by"):
        verify(
            message,
            sig[:64] + bytes([55 - sig[64]]),
            domain="cairn.example",
            code_at=chain.code_at,
            is_valid_signature=chain.is_valid_signature,
        )
    assert chain.calls == []


def test_a_contract_never_falls_back_to_ecrecover() -> None:
    message, sig = _signed()  # a valid EOA signature for the address ...
    chain = FakeChain({SIGNER.address: (b"", b"")})  # ... which has code and says no
    with pytest.raises(SiweInvalid, match=r"refused the signature \(EIP-1271\)"):
        verify(
            message,
            sig,
            domain="cairn.example",
            code_at=chain.code_at,
            is_valid_signature=chain.is_valid_signature,
        )
    assert len(chain.calls) == 1
    with pytest.raises(SiweInvalid, match="no EIP-1271 check is configured"):
        verify(message, sig, domain="cairn.example", code_at=chain.code_at)


def test_only_a_true_from_the_contract_check_counts() -> None:
    message, sig = _signed()
    for answer in (1, "true", None):
        with pytest.raises(SiweInvalid, match="EIP-1271"):
            verify(
                message,
                sig,
                domain="cairn.example",
                code_at=lambda _a: CODE,
                is_valid_signature=lambda _a, _d, _s, x=answer: x,  # type: ignore[misc]
            )


# --- NonceBook -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_nonces_are_long_random_and_alphanumeric() -> None:
    book = NonceBook()
    nonces = {book.issue() for _ in range(200)}
    assert len(nonces) == 200
    for nonce in nonces:
        assert len(nonce) >= 16 and nonce.isascii() and nonce.isalnum()
        assert _message(nonce=nonce).nonce == nonce


def test_a_nonce_is_single_use() -> None:
    book = NonceBook()
    nonce = book.issue()
    book.check(nonce)
    book.check(nonce)  # checking does not spend it
    book.use(nonce)
    with pytest.raises(SiweInvalid, match="already used"):
        book.use(nonce)
    with pytest.raises(SiweInvalid, match="already used"):
        book.check(nonce)


def test_unknown_nonce_is_refused() -> None:
    book = NonceBook()
    book.issue()
    with pytest.raises(SiweInvalid, match="unknown"):
        book.use("abcdefgh12345678")
    with pytest.raises(SiweInvalid, match="unknown"):
        NonceBook().use(book.issue())


def test_expired_nonce_is_refused_then_forgotten() -> None:
    clock = Clock()
    book = NonceBook(ttl=60, clock=clock)
    stale, fresh = book.issue(), None
    clock.now += 59.9
    book.check(stale)
    clock.now += 0.1
    with pytest.raises(SiweInvalid, match="expired"):
        book.use(stale)
    fresh = book.issue()  # issuing prunes what has expired
    assert len(book) == 1
    with pytest.raises(SiweInvalid, match="unknown"):
        book.use(stale)
    book.use(fresh)


def test_used_nonces_are_forgotten_when_they_expire() -> None:
    clock = Clock()
    book = NonceBook(ttl=10, clock=clock)
    for _ in range(5):
        book.use(book.issue())
    assert len(book) == 5
    clock.now += 10
    book.use(book.issue())
    assert len(book) == 1


def test_outstanding_nonces_are_capped() -> None:
    book = NonceBook(cap=3)
    first, *rest = [book.issue() for _ in range(5)]
    assert len(book) == 3
    with pytest.raises(SiweInvalid, match="unknown"):
        book.use(first)
    book.use(rest[-1])


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"cap": 0}, {"length": 15}])
def test_nonce_book_settings_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        NonceBook(**kwargs)


def test_fifty_threads_one_nonce_exactly_one_wins() -> None:
    book = NonceBook()
    nonce = book.issue()
    start = threading.Barrier(50)
    wins: list[int] = []
    losses: list[str] = []

    def spend(i: int) -> None:
        start.wait()
        try:
            book.use(nonce)
        except SiweInvalid as exc:
            losses.append(str(exc))
        else:
            wins.append(i)

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert losses == ["nonce was already used"] * 49
