"""Sign-In with Ethereum: the EIP-4361 message, its verification, and single-use nonces.

A service that wants to know *which account* is calling (not only that someone
paid) asks the wallet to sign a human-readable EIP-4361 message naming the
service's domain, a nonce the service issued, and a validity window. This
module owns that message for cairn: :meth:`SiweMessage.parse` accepts exactly
the grammar of EIP-4361 "ABNF Message Format" (including the optional
``scheme "://"`` prefix of the current ERC-4361 text), with RFC 3986 for
``domain`` (authority), ``uri``, ``resources`` and ``request-id`` (pchar) and
RFC 3339 ``date-time`` for the timestamps; :meth:`SiweMessage.text` writes the
same bytes back, which is what the wallet signed.

:func:`verify` follows EIP-4361 "Signing and Verifying with Ethereum Accounts":
an account with code is a contract and is checked with EIP-1271 only; any other
is checked with EIP-191 ``personal_sign`` recovery only. Neither falls back to
the other: a contract's "no" is final (its owner key cannot speak for it), and
an EOA is never asked about EIP-1271. (An EIP-7702 delegated EOA has code, so
its delegate decides.) The domain is compared with the one the service is
*configured* with, never with a Host header the caller controls (Security
Considerations, "Verification of domain binding").

:class:`NonceBook` issues the nonces ("Preventing replay attacks"): random,
single-use, short-lived, and bounded in memory.

Every refusal is one :class:`~cairn.errors.SiweInvalid` line naming the line
or field at fault. The address must be in its EIP-55 form, as the ABNF's
comment and the reference vectors require (all-lowercase is refused too). One
choice is stricter than the grammar: a ``Chain ID`` with leading zeros is
refused, so that a parsed message always re-serialises to the signed bytes.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from eth_utils.address import to_checksum_address

from cairn.errors import ConfigError, SignatureError, SiweInvalid
from cairn.identity.base import Signature
from cairn.identity.eip191 import personal_message_hash
from cairn.identity.keys import recover_hash

__all__ = ["CodeAt", "IsValidSignature", "NonceBook", "SiweMessage", "verify"]

CodeAt = Callable[[str], bytes]
"""``code_at(address)``: the account's bytecode on the message's chain (``b""`` for an EOA)."""
IsValidSignature = Callable[[str, bytes, bytes], bool]
"""``is_valid_signature(address, digest32, signature)``: did EIP-1271 say yes (0x1626ba7e)?"""

_TAIL = " wants you to sign in with your Ethereum account:"
# RFC 3986 section 2 character classes, ASCII only (``\d`` would take other scripts' digits).
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_USERINFO = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*")
_REG_NAME = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*")
_IPV_FUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+")
_PORT = re.compile(r"[0-9]*")
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.S)
_PATH = re.compile(rf"(?:{_PCHAR}|/)*")
_QUERY = re.compile(rf"(?:{_PCHAR}|[/?])*")
_REQUEST_ID = re.compile(rf"{_PCHAR}*")
# statement = *( reserved / unreserved / " " ): no LF, no '%', no '"', nothing beyond ASCII.
_STATEMENT = re.compile(rf"[{_UNRESERVED}:/?#\[\]@{_SUB_DELIMS} ]*")
_ADDRESS = re.compile(r"0x[0-9A-Fa-f]{40}")
_NONCE = re.compile(r"[A-Za-z0-9]{8,}")
_CHAIN_ID = re.compile(r"0|[1-9][0-9]*")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)"
    r"(\.[0-9]+)?([Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


Check = Callable[[str, Any], None]


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _refuse(field: str, value: object, why: str) -> SiweInvalid:
    return SiweInvalid(f"{field}: {_show(value)} {why}")


# --- RFC 3986 and RFC 3339 productions the grammar imports --------------------------------


def _is_authority(text: str, *, need_host: bool) -> bool:
    """RFC 3986 section 3.2: ``[ userinfo "@" ] host [ ":" port ]``."""
    userinfo, at, hostport = text.rpartition("@")
    if at and not _USERINFO.fullmatch(userinfo):
        return False
    if hostport.startswith("["):
        literal, close, port = hostport[1:].partition("]")
        if not close or not _is_ip_literal(literal):
            return False
    else:
        host, colon, rest = hostport.partition(":")
        if not _REG_NAME.fullmatch(host) or (need_host and not host):
            return False
        port = colon + rest
    return port == "" or (port[0] == ":" and _PORT.fullmatch(port[1:]) is not None)


def _is_ip_literal(text: str) -> bool:
    if _IPV_FUTURE.fullmatch(text):
        return True
    if "%" in text:  # a zone id is not RFC 3986, though Python's parser takes it
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_uri(text: str) -> bool:
    """RFC 3986 section 3: ``scheme ":" hier-part [ "?" query ] [ "#" fragment ]``."""
    m = _URI.fullmatch(text)
    if m is None:
        return False
    hier, query, fragment = m.group(2), m.group(3), m.group(4)
    if hier.startswith("//"):
        authority, slash, path = hier[2:].partition("/")
        if not _is_authority(authority, need_host=False):
            return False
        hier = slash + path
    return all(
        part is None or pattern.fullmatch(part)
        for part, pattern in ((hier, _PATH), (query, _QUERY), (fragment, _QUERY))
    )


def _instant(field: str, value: str) -> datetime:
    """An RFC 3339 section 5.6 ``date-time`` as an aware datetime (a leap second rounds up)."""
    m = _DATE_TIME.fullmatch(value)
    if m is None:
        raise _refuse(field, value, "is not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or ".0")[1:7].ljust(6, "0"))
    offset = m.group(8)
    tz = UTC
    if offset not in ("Z", "z"):
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        tz = timezone(-delta if offset[0] == "-" else delta)
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=tz)
    except ValueError:
        raise _refuse(field, value, "is not a calendar date") from None
    return moment + timedelta(seconds=1) if second == 60 else moment


# --- one check per field, shared by the constructor and the parser ------------------------


def _matches(pattern: re.Pattern[str], why: str) -> Check:
    def check(field: str, value: Any) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _refuse(field, value, why)

    return check


def _check_domain(field: str, value: Any) -> None:
    if not isinstance(value, str) or not _is_authority(value, need_host=True):
        raise _refuse(field, value, "is not an RFC 3986 authority with a host")


def _check_address(field: str, value: Any) -> None:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise _refuse(field, value, "is not 0x and 40 hex digits")
    if to_checksum_address(value) != value:
        raise _refuse(field, value, "is not in its EIP-55 checksum form")


def _check_uri(field: str, value: Any) -> None:
    if not isinstance(value, str) or not _is_uri(value):
        raise _refuse(field, value, "is not an RFC 3986 URI")


def _check_version(field: str, value: Any) -> None:
    if value != "1":
        raise _refuse(field, value, "is not 1 (the only EIP-4361 version)")


def _check_chain_id(field: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _refuse(field, value, "is not a non-negative integer")


def _check_time(field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _refuse(field, value, "is not an RFC 3339 date-time")
    _instant(field, value)


def _check_resources(field: str, value: Any) -> None:
    if not isinstance(value, tuple):
        raise _refuse(field, value, "is not a list of URIs")
    for i, resource in enumerate(value):
        _check_uri(f"{field}[{i}]", resource)


_CHECKS: dict[str, Check] = {
    "scheme": _matches(_SCHEME, "is not an RFC 3986 scheme"),
    "domain": _check_domain,
    "address": _check_address,
    "statement": _matches(_STATEMENT, "has a line break or a character EIP-4361 excludes"),
    "uri": _check_uri,
    "version": _check_version,
    "chain_id": _check_chain_id,
    "nonce": _matches(_NONCE, "is not 8 or more ASCII letters and digits"),
    "issued_at": _check_time,
    "expiration_time": _check_time,
    "not_before": _check_time,
    "request_id": _matches(_REQUEST_ID, "is not a run of RFC 3986 pchars"),
    "resources": _check_resources,
}
_OPTIONAL = {"scheme", "statement", "expiration_time", "not_before", "request_id", "resources"}
_JSON_NAMES = {
    "scheme": "scheme",
    "domain": "domain",
    "address": "address",
    "statement": "statement",
    "uri": "uri",
    "version": "version",
    "chainId": "chain_id",
    "nonce": "nonce",
    "issuedAt": "issued_at",
    "expirationTime": "expiration_time",
    "notBefore": "not_before",
    "requestId": "request_id",
    "resources": "resources",
}


@dataclass(frozen=True, slots=True)
class SiweMessage:
    """One EIP-4361 message; constructing it checks every field against the ABNF.

    Timestamps stay the exact strings that were signed; :meth:`times` reads them.

    >>> m = SiweMessage(
    ...     domain="cairn.example", address="0x" + "0" * 40, statement=None,
    ...     uri="https://cairn.example/v1", version="1", chain_id=1,
    ...     nonce="abcd1234efgh", issued_at="2030-01-01T00:00:00Z")
    >>> SiweMessage.parse(m.text()) == m
    True
    """

    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: str
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] | None = None
    scheme: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.resources, list):
            object.__setattr__(self, "resources", tuple(self.resources))
        for name, check in _CHECKS.items():
            value = getattr(self, name)
            if value is not None or name not in _OPTIONAL:
                check(name, value)

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> SiweMessage:
        """Build from the JSON names wallets and x402 use (``chainId``, ``issuedAt``, ...).

        A missing or null optional field is absent; a missing required one is refused.
        """
        unknown = sorted(set(data) - set(_JSON_NAMES))
        if unknown:
            raise SiweInvalid(f"unknown SIWE field {unknown[0]!r}")
        kwargs = {_JSON_NAMES[key]: value for key, value in data.items()}
        for json_name, name in _JSON_NAMES.items():
            if name not in _OPTIONAL and kwargs.get(name) is None:
                raise SiweInvalid(f"SIWE field {json_name!r} is missing")
            kwargs.setdefault(name, None)
        return cls(**kwargs)

    @classmethod
    def parse(cls, text: str) -> SiweMessage:
        """Parse the signed text; refuses anything EIP-4361's ABNF does not produce."""
        if not isinstance(text, str):
            raise SiweInvalid("a SIWE message is text")
        return _Parser(text.split("\n")).message()

    def text(self) -> str:
        """The message exactly as EIP-4361 lays it out: the text the wallet signs."""
        origin = f"{self.scheme}://{self.domain}" if self.scheme is not None else self.domain
        lines = [origin + _TAIL, self.address, ""]
        lines += [self.statement, ""] if self.statement is not None else [""]
        lines += [f"URI: {self.uri}", f"Version: {self.version}", f"Chain ID: {self.chain_id}"]
        lines += [f"Nonce: {self.nonce}", f"Issued At: {self.issued_at}"]
        for label, name, _ in _OPTIONAL_LINES:
            value = getattr(self, name)
            if value is not None:
                lines.append(f"{label}: {value}")
        if self.resources is not None:
            lines += ["Resources:", *(f"- {r}" for r in self.resources)]
        return "\n".join(lines)

    def times(self) -> tuple[datetime, datetime | None, datetime | None]:
        """``(issued_at, expiration_time, not_before)`` as aware datetimes."""
        expires, starts = self.expiration_time, self.not_before
        return (
            _instant("issued_at", self.issued_at),
            None if expires is None else _instant("expiration_time", expires),
            None if starts is None else _instant("not_before", starts),
        )


_OPTIONAL_LINES = (
    ("Expiration Time", "expiration_time", _check_time),
    ("Not Before", "not_before", _check_time),
    ("Request ID", "request_id", _CHECKS["request_id"]),
)


class _Parser:
    """Reads the message line by line in ABNF order; a refusal names the 1-based line."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.at = 0
        self.found: dict[str, Any] = {"statement": None}

    def message(self) -> SiweMessage:
        self._header()
        self._take("address", self._next("the address"))
        self._blank()
        # [ statement LF ] LF: a blank line followed by a non-blank one means no statement
        if not (self._peek() == "" and self._peek(1) != ""):
            self._take("statement", self._next("the statement"))
        self._blank()
        self._tagged("URI", "uri")
        self._tagged("Version", "version")
        self._chain_id()
        self._tagged("Nonce", "nonce")
        self._tagged("Issued At", "issued_at")
        for label, name, _ in _OPTIONAL_LINES:
            if self._peek().startswith(f"{label}: "):
                self._tagged(label, name)
        if self._peek() == "Resources:" and self.at < len(self.lines):
            self.at += 1
            self.found["resources"] = self._resources()
        if self.at < len(self.lines):
            raise SiweInvalid(f"line {self.at + 1}: unexpected {_show(self.lines[self.at])}")
        return SiweMessage(**self.found)

    def _peek(self, ahead: int = 0) -> str:
        i = self.at + ahead
        return self.lines[i] if i < len(self.lines) else ""

    def _next(self, what: str) -> str:
        if self.at >= len(self.lines):
            raise SiweInvalid(f"line {self.at + 1}: the message ends before {what}")
        self.at += 1
        return self.lines[self.at - 1]

    def _take(self, name: str, value: Any) -> None:
        try:
            _CHECKS[name](name, value)
        except SiweInvalid as exc:
            raise SiweInvalid(f"line {self.at}: {exc}") from None
        self.found[name] = value

    def _header(self) -> None:
        line = self._next("the header")
        if not line.endswith(_TAIL):
            raise SiweInvalid(f"line 1: expected '<domain>{_TAIL}'")
        scheme, sep, domain = line[: -len(_TAIL)].rpartition("://")
        if sep:
            self._take("scheme", scheme)
        self._take("domain", domain)

    def _blank(self) -> None:
        line = self._next("a blank line")
        if line != "":
            raise SiweInvalid(f"line {self.at}: expected a blank line, got {_show(line)}")

    def _tagged(self, label: str, name: str) -> str:
        line = self._next(f"'{label}: '")
        if not line.startswith(f"{label}: "):
            raise SiweInvalid(f"line {self.at}: expected '{label}: ...', got {_show(line)}")
        value = line[len(label) + 2 :]
        if name != "chain_id":
            self._take(name, value)
        return value

    def _chain_id(self) -> None:
        text = self._tagged("Chain ID", "chain_id")
        if not _CHAIN_ID.fullmatch(text):  # leading zeros would not survive a round trip
            raise SiweInvalid(
                f"line {self.at}: chain_id: {_show(text)} is not digits without a leading zero"
            )
        self._take("chain_id", int(text))

    def _resources(self) -> tuple[str, ...]:
        found: list[str] = []
        while self.at < len(self.lines):
            line = self._next("a resource")
            if not line.startswith("- "):
                raise SiweInvalid(f"line {self.at}: expected '- <uri>', got {_show(line)}")
            try:
                _check_uri(f"resources[{len(found)}]", line[2:])
            except SiweInvalid as exc:
                raise SiweInvalid(f"line {self.at}: {exc}") from None
            found.append(line[2:])
        return tuple(found)


# --- verification -------------------------------------------------------------------------


def verify(
    message: SiweMessage | str,
    signature: str | bytes,
    *,
    domain: str,
    now: datetime | None = None,
    nonce: str | None = None,
    chain_id: int | None = None,
    code_at: CodeAt | None = None,
    is_valid_signature: IsValidSignature | None = None,
) -> SiweMessage:
    """Check a signed SIWE message; return it parsed, or raise :class:`SiweInvalid`.

    ``domain`` is the authority this service is configured with (never a Host
    header). ``now`` (aware; default: the clock) must lie in
    [not-before, expiration-time). ``nonce`` and ``chain_id``, when given, must match.

    With ``code_at``, an address with code is a contract: the EIP-191 digest of
    the message and the raw signature go to ``is_valid_signature``, which must
    make the EIP-1271 ``isValidSignature(bytes32,bytes)`` call on the message's
    chain and return True only for the magic value 0x1626ba7e. Without code (or
    without ``code_at``) the signature must recover, by EIP-191, to the address.
    """
    msg = message if isinstance(message, SiweMessage) else SiweMessage.parse(message)
    if msg.domain != domain:
        raise SiweInvalid(f"domain {msg.domain!r} is not this service's domain {domain!r}")
    if chain_id is not None and msg.chain_id != chain_id:
        raise SiweInvalid(f"chain id {msg.chain_id} is not the expected {chain_id}")
    if nonce is not None and msg.nonce != nonce:
        raise SiweInvalid(f"nonce {_show(msg.nonce)} is not the one issued")
    _check_window(msg, datetime.now(UTC) if now is None else now)
    _check_signature(msg, _signature_bytes(signature), code_at, is_valid_signature)
    return msg


def _check_window(msg: SiweMessage, now: datetime) -> None:
    if now.tzinfo is None:
        raise SiweInvalid("the verification time must be timezone-aware")
    _, expires, starts = msg.times()
    if expires is not None and now >= expires:
        raise SiweInvalid(f"message expired at {msg.expiration_time}")
    if starts is not None and now < starts:
        raise SiweInvalid(f"message is not valid before {msg.not_before}")


def _signature_bytes(signature: str | bytes) -> bytes:
    if isinstance(signature, bytes | bytearray):
        return bytes(signature)
    body = signature.removeprefix("0x") if isinstance(signature, str) else None
    if body is None or not _HEX.fullmatch(body):
        raise SiweInvalid("signature is not 0x and an even number of hex digits")
    return bytes.fromhex(body)


def _check_signature(
    msg: SiweMessage, raw: bytes, code_at: CodeAt | None, is_valid: IsValidSignature | None
) -> None:
    digest = personal_message_hash(msg.text())
    if code_at is not None and code_at(msg.address):
        if is_valid is None:
            raise SiweInvalid(f"{msg.address} is a contract and no EIP-1271 check is configured")
        if is_valid(msg.address, digest, raw) is not True:
            raise SiweInvalid(f"contract {msg.address} refused the signature (EIP-1271)")
        return
    try:
        signer = recover_hash(digest, Signature.from_bytes(raw))
    except SignatureError as exc:
        raise SiweInvalid(f"signature: {exc}") from None
    if signer != msg.address:
        raise SiweInvalid(f"signature is by {signer}, not by {msg.address}")


# --- nonces -------------------------------------------------------------------------------


class NonceBook:
    """Issues single-use nonces that expire after ``ttl`` seconds; thread-safe.

    At most ``cap`` nonces are remembered (issued or used, until they expire):
    past that, issuing forgets the oldest, so a flood of challenges costs the
    flooder's own earliest nonces rather than memory.

    >>> book = NonceBook(ttl=60)
    >>> n = book.issue()
    >>> book.use(n)
    >>> book.use(n)
    Traceback (most recent call last):
    cairn.errors.SiweInvalid: nonce was already used
    """

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        cap: int = 10_000,
        length: int = 24,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or cap < 1 or length < 16:
            raise ConfigError("NonceBook needs ttl > 0, cap >= 1 and length >= 16")
        self._ttl, self._cap, self._length, self._clock = ttl, cap, length, clock
        # nonce -> (expires at, used); insertion order is expiry order (one ttl, one clock)
        self._entries: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        """A fresh nonce: ``length`` random letters and digits (EIP-4361 asks for 8+)."""
        nonce = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(self._length))
        with self._lock:
            now = self._clock()
            self._prune(now)
            while len(self._entries) >= self._cap:
                del self._entries[next(iter(self._entries))]
            self._entries[nonce] = (now + self._ttl, False)
        return nonce

    def check(self, nonce: str) -> None:
        """Raise as :meth:`use` would, without using the nonce up."""
        with self._lock:
            self._live(nonce, self._clock())

    def use(self, nonce: str) -> None:
        """Spend ``nonce``; :class:`SiweInvalid` if unknown, already used or expired."""
        with self._lock:
            now = self._clock()
            expires = self._live(nonce, now)
            self._entries[nonce] = (expires, True)
            self._prune(now)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _live(self, nonce: str, now: float) -> float:
        entry = self._entries.get(nonce)
        if entry is None:
            raise SiweInvalid("nonce is unknown (not issued here, or long expired)")
        expires, used = entry
        if used:
            raise SiweInvalid("nonce was already used")
        if now >= expires:
            raise SiweInvalid("nonce has expired")
        return expires

    def _prune(self, now: float) -> None:
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest][0] > now:
                return
            del self._entries[oldest]
