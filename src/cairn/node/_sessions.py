"""Sign in with a wallet: a client proves its address once, then is known by a session.

Spec: EIP-4361 (Sign-In with Ethereum) and x402 v2's ``sign-in-with-x`` extension
(:mod:`cairn.identity.siwe`, :mod:`cairn.identity.siwx`). A client signs in either
with ``POST /v1/auth/siwe`` (``{"message", "signature"}``, the message built from
``GET /v1/auth/siwe``'s challenge) or by sending a ``SIGN-IN-WITH-X`` header on any
call (the challenge is also in every 402's ``extensions``). Either way the node
checks the message's domain and URI against its *configured* public URL — never
the request's ``Host`` header, which the client controls — spends the nonce once,
enforces expiry and not-before, routes contract wallets to EIP-1271 by code length,
and answers a ``Cairn-Session`` token (only its sha256 is kept) for
:data:`SESSION_TTL_S` at most.

What an address gets:

- **its own retained inputs and outputs.** A call made by a known address (signed
  in, or paying: the payment's signature proves it too) gets an access secret
  derived from the node's key, the address and the request id; the node stores
  only its hash, as for anonymous calls. With ``Cairn-Session`` the node derives
  the secret again for the session's address, so the address reads its own calls'
  I/O without keeping every per-call secret, and nobody else's.
- **its own quota.** Calls are counted per address (``quota_per_minute``);
  anonymous calls share one bucket (``anonymous_quota_per_minute``): one client
  cannot use up another's allowance, and signing in is how to leave the shared pool.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cairn.errors import SiweInvalid
from cairn.identity import Signer, sign_message
from cairn.identity.siwe import CodeAt, IsValidSignature, NonceBook, SiweMessage, verify
from cairn.identity.siwx import EXTENSION_KEY, declare, verify_header

__all__ = ["SESSION_HEADER", "SESSION_TTL_S", "Quota", "Session", "Sessions", "owner_key"]

SESSION_HEADER = "Cairn-Session"
#: the longest a session lasts, whatever the signed message says
SESSION_TTL_S = 3600
_MAX_SESSIONS = 100_000
_STATEMENT = "Sign in to this cairn node: read your retained calls and use your own quota."


def owner_key(signer: Signer) -> bytes:
    """The node's key for address-bound access secrets: the same across restarts
    (derived from a deterministic RFC 6979 signature of a fixed message, which a wallet
    that keeps the node's key makes too), never sent anywhere."""
    signed = sign_message(signer, b"cairn: retained-access key for signed-in addresses, v1")
    return hashlib.sha256(signed.to_bytes()).digest()


@dataclass(frozen=True)
class Session:
    address: str
    token: str  # sent to the client once; the node keeps its sha256
    expires_at: int


class Sessions:
    """Sign-ins and sessions for one node, whose public origin is ``uri``."""

    def __init__(
        self,
        uri: str,
        chain_id: int,
        key: bytes,
        *,
        code_at: CodeAt | None = None,
        is_valid_signature: IsValidSignature | None = None,
        ttl_s: int = SESSION_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.uri = uri.rstrip("/")
        self.domain = self.uri.split("://", 1)[-1].split("/", 1)[0]
        self.chain_id = chain_id
        self.key = key
        self.code_at, self.is_valid_signature = code_at, is_valid_signature
        self.ttl_s, self.clock = ttl_s, clock
        self.nonces = NonceBook()
        self._sessions: dict[bytes, tuple[str, int]] = {}  # sha256(token) -> address, expiry
        self._lock = threading.Lock()

    def challenge(self) -> dict[str, Any]:
        """``{"sign-in-with-x": {...}}``: what to sign, with a fresh single-use nonce."""
        return declare(
            self.domain, self.uri, self.chain_id, self.nonces.issue(), statement=_STATEMENT
        )

    def challenge_json(self) -> dict[str, Any]:
        ext = self.challenge()
        info = ext[EXTENSION_KEY]["info"]
        return {
            "domain": self.domain,
            "uri": self.uri,
            "chainId": self.chain_id,
            "nonce": info["nonce"],
            "issuedAt": info["issuedAt"],
            "statement": info["statement"],
            "extensions": ext,
        }

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def sign_in_header(self, value: str) -> Session:
        """A session for the address a ``SIGN-IN-WITH-X`` header proves."""
        address = verify_header(
            value,
            domain=self.domain,
            uri=self.uri,
            nonce_book=self.nonces,
            now=self._now(),
            chain_id=self.chain_id,
            code_at=self.code_at,
            is_valid_signature=self.is_valid_signature,
        )
        return self._open(address, None)

    def sign_in(self, message: str, signature: str) -> Session:
        """A session for the address an EIP-4361 message and its signature prove."""
        parsed = SiweMessage.parse(message)
        if parsed.uri != self.uri:
            raise SiweInvalid(f"uri {parsed.uri[:80]!r} is not this node's {self.uri!r}")
        self.nonces.check(parsed.nonce)
        verify(
            parsed,
            signature,
            domain=self.domain,
            now=self._now(),
            chain_id=self.chain_id,
            code_at=self.code_at,
            is_valid_signature=self.is_valid_signature,
        )
        self.nonces.use(parsed.nonce)
        _, expires, _ = parsed.times()
        return self._open(parsed.address, expires)

    def _open(self, address: str, expires: datetime | None) -> Session:
        now = int(self.clock())
        until = now + self.ttl_s
        if expires is not None:
            until = min(until, int(expires.timestamp()))
        token = os.urandom(32).hex()
        with self._lock:
            if len(self._sessions) >= _MAX_SESSIONS:
                self._sessions = {k: v for k, v in self._sessions.items() if v[1] > now}
            if len(self._sessions) >= _MAX_SESSIONS:  # all live: the oldest goes
                del self._sessions[next(iter(self._sessions))]
            self._sessions[hashlib.sha256(bytes.fromhex(token)).digest()] = (address, until)
        return Session(address, token, until)

    def address_of(self, token: str) -> str:
        """The address of a live session, or :class:`SiweInvalid`."""
        try:
            digest = hashlib.sha256(bytes.fromhex(token.strip())).digest()
        except ValueError:
            raise SiweInvalid(f"{SESSION_HEADER} is not a session token") from None
        with self._lock:
            found = self._sessions.get(digest)
        if found is None or found[1] <= self.clock():
            raise SiweInvalid(f"{SESSION_HEADER}: unknown or expired session (sign in again)")
        return found[0]

    def access_secret(self, address: str, request_id: bytes) -> bytes:
        """The retained-I/O secret of ``address``'s call ``request_id``."""
        body = address.lower().encode() + request_id
        return hmac.new(self.key, body, hashlib.sha256).digest()


class Quota:
    """Calls per minute per key (a token bucket each); 0 means unlimited."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> tokens, at
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self.clock()
        rate = self.per_minute / 60.0
        with self._lock:
            if len(self._buckets) > _MAX_SESSIONS:
                self._buckets.clear()  # full buckets only: forgetting one gives it nothing extra
            tokens, at = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True
