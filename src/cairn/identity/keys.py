"""In-process secp256k1 keys: the local :class:`Signer`, and ecrecover.

Signing and recovery run on libsecp256k1 through ``coincurve`` (RFC 6979
deterministic nonces, low-s) — the backend eth-keys itself prefers — called
directly because receipts are signed on the request path and every microsecond
shows; coincurve's copy of the library is called holding the GIL
(:mod:`cairn.identity._secp256k1`), since a threaded server pays more for the
GIL hand-offs around cffi's calls than for the calls. Signatures are
byte-identical to eth-account's for the same digest (tests check it). Recovery
is ``ecrecover`` (Yellow Paper appendix F); cairn rejects high-s signatures
(EIP-2) so that no signature has a second valid form.
"""

from __future__ import annotations

import functools
import re
import secrets

import coincurve
from eth_keys.datatypes import PrivateKey as _PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from cairn.errors import IdentityError, SignatureError
from cairn.identity import _secp256k1
from cairn.identity.base import Signature

__all__ = ["LocalSigner", "checksum_address", "recover_hash", "verify_hash"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _check_digest(digest: bytes) -> None:
    if not isinstance(digest, bytes | bytearray) or len(digest) != 32:
        raise SignatureError("a signed digest must be exactly 32 bytes")


class LocalSigner:
    """A private key held in memory.

    >>> s = LocalSigner.from_hex("0x" + "01" * 32)
    >>> s.address
    '0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1'
    """

    __slots__ = ("_address", "_fast", "_key", "_secret")

    def __init__(self, private_key: bytes) -> None:
        try:
            self._key = _PrivateKey(bytes(private_key))
            self._fast = coincurve.PrivateKey(bytes(private_key))  # checks the key's range
            self._secret = bytes(private_key)
        except (ValidationError, ValueError) as exc:
            raise IdentityError(f"not a valid secp256k1 private key: {exc}") from None
        self._address: str = self._key.public_key.to_checksum_address()

    @classmethod
    def generate(cls) -> LocalSigner:
        """A fresh key from the OS random source."""
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_hex(cls, text: str) -> LocalSigner:
        """A key from 64 hex digits, with or without ``0x``."""
        raw = text.strip().removeprefix("0x").removeprefix("0X")
        if len(raw) != 64:
            raise IdentityError("a private key is 32 bytes: 64 hex digits")
        try:
            return cls(bytes.fromhex(raw))
        except ValueError:
            raise IdentityError("private key is not hex") from None

    @property
    def address(self) -> str:
        return self._address

    @property
    def private_key(self) -> bytes:
        """The raw key, for writing it to a keystore. Handle with care."""
        return bytes(self._key.to_bytes())

    def sign_hash(self, digest: bytes) -> Signature:
        _check_digest(digest)
        if _secp256k1.AVAILABLE:
            raw = _secp256k1.sign_recoverable(bytes(digest), self._secret)
        else:
            raw = self._fast.sign_recoverable(bytes(digest), hasher=None)
        return Signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64] + 27
        )

    def __repr__(self) -> str:  # never print the key
        return f"LocalSigner({self._address})"


def recover_hash(digest: bytes, signature: Signature | bytes) -> str:
    """The checksummed address whose key made ``signature`` over ``digest``."""
    _check_digest(digest)
    sig = signature if isinstance(signature, Signature) else Signature.from_bytes(signature)
    if not sig.is_canonical:
        raise SignatureError("signature is not in canonical low-s form (EIP-2)")
    rs = sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big")
    if _secp256k1.AVAILABLE:
        found = _secp256k1.recover_uncompressed(bytes(digest), rs, sig.v - 27)
        if found is None:
            raise SignatureError("signature does not recover to a key")
        return _address_of(found)
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            rs + bytes([sig.v - 27]), bytes(digest), hasher=None
        )
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"signature does not recover to a key: {exc}") from None
    return _address_of(public.format(compressed=False)[1:])


@functools.lru_cache(maxsize=1024)
def _address_of(public_key: bytes) -> str:
    return str(to_checksum_address(keccak(public_key)[-20:]))


def checksum_address(address: str) -> str:
    """EIP-55 form of a 0x-hex address; mixed case must carry a valid EIP-55 checksum."""
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise SignatureError(f"not an Ethereum address: {address!r}")
    checksummed = str(to_checksum_address(address))
    body = address[2:]
    if body not in (body.lower(), body.upper()) and checksummed != address:
        raise SignatureError(f"address {address} has a bad EIP-55 checksum")
    return checksummed


def verify_hash(digest: bytes, signature: Signature | bytes, expected: str) -> str:
    """Check ``signature`` over ``digest`` was made by ``expected``; return the address."""
    want = checksum_address(expected)
    got = recover_hash(digest, signature)
    if got != want:
        raise SignatureError(f"signed by {got}, expected {want}")
    return got
