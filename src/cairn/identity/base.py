"""The identity port: something that holds a secp256k1 key and signs 32-byte digests.

Every signature cairn makes (EIP-191 messages, EIP-712 receipts and vouchers,
DSSE manifests) reduces to signing a keccak-256 digest, so the port is one
property and one method. A keystore wallet, a hardware wallet or a remote KMS
are all adapters; :class:`~cairn.identity.keys.LocalSigner` is the in-process
one. A wallet that keeps its key (EIP-1193: it signs messages, typed data and
transactions it is shown, never a bare digest) is a :class:`WalletSigner`; the
signing functions route it there, in one place each (``sign_typed_data`` and
``sign_struct`` in :mod:`cairn.identity.eip712`, ``sign_message`` in
:mod:`cairn.identity.eip191`, ``cairn.chain._tx.sign_transaction``).
Signatures are the Ethereum 65-byte ``r || s || v`` form with ``v`` in {27, 28}
(Yellow Paper appendix F, as ``ecrecover`` takes them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cairn.errors import SignatureError

__all__ = ["SECP256K1_N", "Signature", "Signer", "WalletSigner", "as_wallet"]

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass(frozen=True, slots=True)
class Signature:
    """A recoverable secp256k1 signature.

    >>> sig = Signature.from_hex("0x" + "11" * 32 + "22" * 32 + "1b")
    >>> (sig.v, len(sig.to_bytes()))
    (27, 65)
    """

    r: int
    s: int
    v: int

    def __post_init__(self) -> None:
        if self.v not in (27, 28):
            raise SignatureError(f"signature v must be 27 or 28, got {self.v}")
        if not (0 < self.r < SECP256K1_N and 0 < self.s < SECP256K1_N):
            raise SignatureError("signature r or s out of range")

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Parse 65 bytes ``r || s || v``; ``v`` may be 0/1 or 27/28."""
        if len(data) != 65:
            raise SignatureError(f"a signature is 65 bytes, got {len(data)}")
        v = data[64] + 27 if data[64] < 27 else data[64]
        return cls(int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big"), v)

    @classmethod
    def from_hex(cls, text: str) -> Signature:
        """Parse the 0x-prefixed (or bare) hex of :meth:`from_bytes`."""
        try:
            raw = bytes.fromhex(text.removeprefix("0x"))
        except ValueError:
            raise SignatureError("signature is not hex") from None
        return cls.from_bytes(raw)

    def to_bytes(self) -> bytes:
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.v])

    @property
    def hex(self) -> str:
        """``0x`` + 130 hex digits, the form wallets and JSON-RPC use."""
        return "0x" + self.to_bytes().hex()

    @property
    def is_canonical(self) -> bool:
        """Low-s form (EIP-2): the only one cairn accepts, so signatures are not malleable."""
        return self.s <= SECP256K1_N // 2


@runtime_checkable
class Signer(Protocol):
    """Holds a key; signs 32-byte digests. ``address`` is EIP-55 checksummed."""

    @property
    def address(self) -> str: ...

    def sign_hash(self, digest: bytes) -> Signature:
        """Sign a 32-byte digest (deterministic RFC 6979 nonce, low-s)."""
        ...


@runtime_checkable
class WalletSigner(Signer, Protocol):
    """A signer whose key stays in a wallet (EIP-1193): it signs what it is shown.

    Each method returns what the wallet returned, already checked to be by
    ``address`` over the digest computed on this side (transactions: by the caller).
    """

    def sign_personal_message(self, message: bytes) -> Signature:
        """EIP-191 ``personal_sign``."""
        ...

    def sign_typed_data(self, typed_data: Mapping[str, Any]) -> Signature:
        """EIP-712 ``eth_signTypedData_v4``."""
        ...

    def sign_transaction(self, tx: Mapping[str, Any]) -> bytes:
        """``eth_signTransaction``: the raw signed transaction."""
        ...


_WALLET_TYPES: dict[type, bool] = {}


def as_wallet(signer: Signer) -> WalletSigner | None:
    """``signer`` if it is a :class:`WalletSigner`, else None.

    Decided once per class: a runtime protocol check costs about 12 us, and every
    receipt asks.
    """
    kind = type(signer)
    known = _WALLET_TYPES.get(kind)
    if known is None:
        known = _WALLET_TYPES[kind] = isinstance(signer, WalletSigner)
    return signer if known else None  # type: ignore[return-value]
