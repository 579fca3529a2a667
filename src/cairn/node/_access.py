"""Who may read a receipt's retained input and output: its client, and staked validators.

A node keeps every input and output for the audit window so that validators can
re-execute them; that makes them the most sensitive thing it holds. Receipts and
batches stay public (they are evidence); the retained bytes are handed only to:

- **the client that sent the request.** Each answer carries a fresh random
  32-byte secret in the ``Cairn-Access`` header; the node stores only its sha256.
  The client reads its I/O back with ``Authorization: Bearer <hex>``.
- **a staked validator.** It asks ``GET /v1/auth/nonce`` for a nonce (good for
  :data:`NONCE_TTL_S`, usable once), signs
  :func:`cairn.client.retained_access_message` (the nonce and the node's host) with
  EIP-191 ``personal_sign``, and sends ``Cairn-Auth: <address>:<nonce>:<signature>``.
  The node checks the signature, that the nonce is its own, fresh and unused,
  and that the address is staked as a validator onchain (``Staking.isStaked``),
  caching that answer for :data:`STAKE_CACHE_S`.

Nonces are stateless until used (an HMAC under a per-process key over expiry and
randomness), so asking for nonces costs the node no memory; only the nonces of
accepted signatures are remembered, until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import threading
import time
from collections.abc import Callable

from cairn._held import random_bytes
from cairn.client import retained_access_message
from cairn.errors import CairnError
from cairn.identity import Signature, recover_message

__all__ = ["NONCE_TTL_S", "STAKE_CACHE_S", "AccessDenied", "RetainedAccess", "access_token"]

NONCE_TTL_S = 60
STAKE_CACHE_S = 30.0
_EXPIRY = struct.Struct(">Q")


class AccessDenied(Exception):
    """Why a request may not read retained I/O; ``status`` is 401 (no credentials) or 403."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def access_token() -> tuple[str, bytes]:
    """A client's secret for one answer (hex, sent once) and the sha256 the node keeps."""
    secret = random_bytes(32)  # on the request path: no system call (cairn._held)
    return secret.hex(), hashlib.sha256(secret).digest()


class RetainedAccess:
    """Checks the credentials of a request for retained I/O.

    ``is_validator(address)`` reads the chain (the gateway bounds how long it may take).
    """

    def __init__(self, host: str, is_validator: Callable[[str], bool]) -> None:
        self.host = host
        self._is_validator = is_validator
        self._key = os.urandom(32)
        self._used: dict[str, int] = {}  # nonce -> its expiry: accepted once, refused after
        self._staked: dict[str, tuple[bool, float]] = {}  # address -> (staked, until)
        self._lock = threading.Lock()

    def nonce(self) -> dict[str, object]:
        expires = int(time.time()) + NONCE_TTL_S
        body = _EXPIRY.pack(expires) + os.urandom(16)
        nonce = (body + self._mac(body)).hex()
        return {
            "nonce": nonce,
            "expires_at": expires,
            "host": self.host,
            "message": retained_access_message(self.host, nonce),
        }

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:16]

    def check(self, bearer: str | None, cairn_auth: str | None, stored_hash: bytes | None) -> None:
        """Pass if the client's token or a staked validator's signature is presented."""
        if bearer is not None:
            self._check_token(bearer, stored_hash)
        elif cairn_auth is not None:
            self._check_validator(cairn_auth)
        else:
            raise AccessDenied(
                401,
                "retained input and output are for the request's client (Authorization: "
                "Bearer <Cairn-Access>) and staked validators (Cairn-Auth, see /v1/auth/nonce)",
            )

    def _check_token(self, bearer: str, stored_hash: bytes | None) -> None:
        try:
            secret = bytes.fromhex(bearer.strip())
        except ValueError:
            secret = b""
        given = hashlib.sha256(secret).digest()
        if stored_hash is None or not hmac.compare_digest(given, stored_hash):
            raise AccessDenied(403, "this access token is not the one of this receipt")

    def _check_validator(self, header: str) -> None:
        address, nonce, signature = [*header.split(":"), "", ""][:3]
        self._check_nonce(nonce)
        try:
            signer = recover_message(
                retained_access_message(self.host, nonce), Signature.from_hex(signature)
            )
        except (CairnError, ValueError):
            raise AccessDenied(403, "Cairn-Auth: the signature does not recover") from None
        if signer.lower() != address.lower():
            raise AccessDenied(403, f"Cairn-Auth: signed by {signer}, not {address}")
        if not self._staked_validator(signer):
            raise AccessDenied(403, f"{signer} is not a staked validator")
        with self._lock:
            now = int(time.time())
            if nonce in self._used:
                raise AccessDenied(403, "Cairn-Auth: this nonce was already used")
            self._used = {n: t for n, t in self._used.items() if t >= now}
            self._used[nonce] = now + NONCE_TTL_S

    def _check_nonce(self, nonce: str) -> None:
        try:
            raw = bytes.fromhex(nonce)
        except ValueError:
            raw = b""
        body, mac = raw[:-16], raw[-16:]
        if len(raw) != 40 or not hmac.compare_digest(mac, self._mac(body)):
            raise AccessDenied(403, "Cairn-Auth: not a nonce of this node (GET /v1/auth/nonce)")
        if _EXPIRY.unpack(body[:8])[0] < time.time():
            raise AccessDenied(403, "Cairn-Auth: the nonce expired; ask for a new one")
        with self._lock:
            if nonce in self._used:
                raise AccessDenied(403, "Cairn-Auth: this nonce was already used")

    def _staked_validator(self, address: str) -> bool:
        key = address.lower()
        with self._lock:
            cached = self._staked.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        staked = self._is_validator(address)
        with self._lock:
            if len(self._staked) > 4096:
                self._staked.clear()
            self._staked[key] = (staked, time.monotonic() + STAKE_CACHE_S)
        return staked
