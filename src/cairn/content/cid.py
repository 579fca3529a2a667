"""Content identifiers (CIDs), v0 and v1, per the multiformats CID spec.

Spec: https://github.com/multiformats/cid ("CIDv0", "CIDv1", "Decoding
Algorithm"). Parsing and multibase/varint handling come from the ``multiformats``
package; this module adds a small frozen value type, the canonical string forms
(base58btc for v0, base32 lower for v1), and block verification: every block
cairn reads from anywhere goes through :meth:`Cid.verify`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from multiformats import CID as _MfCID
from multiformats import multihash as _mh
from multiformats import varint as _varint

from cairn.errors import BlockVerificationError, ContentValueError

__all__ = ["DAG_PB", "RAW", "SHA2_256", "Cid", "hash_block"]

DAG_PB = 0x70
RAW = 0x55
DAG_CBOR = 0x71
SHA2_256 = 0x12
SHA2_512 = 0x13
BLAKE2B_256 = 0xB220
IDENTITY = 0x00

_CODEC_NAMES = {DAG_PB: "dag-pb", RAW: "raw", DAG_CBOR: "dag-cbor"}

_HASHERS: dict[int, Callable[[bytes], bytes]] = {
    SHA2_256: lambda b: hashlib.sha256(b).digest(),
    SHA2_512: lambda b: hashlib.sha512(b).digest(),
    BLAKE2B_256: lambda b: hashlib.blake2b(b, digest_size=32).digest(),
    IDENTITY: lambda b: b,
}


@dataclass(frozen=True, slots=True)
class Cid:
    """A CID: version, codec and multihash (hash code and digest).

    >>> c = Cid.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    >>> (c.version, c.codec_name, c.hash_code == SHA2_256)
    (1, 'raw', True)
    """

    version: int
    codec: int
    hash_code: int
    digest: bytes

    @classmethod
    def parse(cls, value: str | bytes) -> Cid:
        """Parse a CID from its string or binary form."""
        if isinstance(value, str):
            return _parse_text(value.strip())
        return cls._parse(value)

    @classmethod
    def _parse(cls, value: str | bytes) -> Cid:
        try:
            mf = _MfCID.decode(value.strip() if isinstance(value, str) else value)
            code, digest = _mh.unwrap_raw(mf.digest)
        except Exception as exc:  # the library raises a zoo of types
            shown = value if isinstance(value, str) else value.hex()
            raise ContentValueError(f"not a valid CID: {shown[:80]!r}") from exc
        return cls(mf.version, mf.codec.code, code, bytes(digest))

    @classmethod
    def of(cls, data: bytes, codec: int = RAW, version: int = 1, hash_code: int = SHA2_256) -> Cid:
        """The CID of ``data`` under the given codec, version and hash."""
        if version == 0 and (codec != DAG_PB or hash_code != SHA2_256):
            raise ContentValueError("CIDv0 is only dag-pb with sha2-256")
        return cls(version, codec, hash_code, hash_block(data, hash_code))

    @property
    def multihash(self) -> bytes:
        return (
            bytes(_varint.encode(self.hash_code))
            + bytes(_varint.encode(len(self.digest)))
            + self.digest
        )

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES.get(self.codec, hex(self.codec))

    def __bytes__(self) -> bytes:
        if self.version == 0:
            return self.multihash
        return b"\x01" + bytes(_varint.encode(self.codec)) + self.multihash

    def __str__(self) -> str:
        base = "base58btc" if self.version == 0 else "base32"
        return str(_MfCID(base, self.version, self.codec, self.multihash))

    def __repr__(self) -> str:
        return f"Cid({str(self)!r})"

    def to_v1(self) -> Cid:
        return Cid(1, self.codec, self.hash_code, self.digest)

    def verify(self, block: bytes) -> bytes:
        """Return ``block`` if it hashes to this CID, else raise."""
        if hash_block(block, self.hash_code) != self.digest:
            raise BlockVerificationError(f"block does not match its CID {self}")
        return block


@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> Cid:
    """CIDs are values: the text form of one parses the same way every time."""
    return Cid._parse(text)


def hash_block(data: bytes, hash_code: int) -> bytes:
    """The raw digest of ``data`` under a multihash function code."""
    try:
        return _HASHERS[hash_code](data)
    except KeyError:
        raise ContentValueError(f"unsupported multihash function 0x{hash_code:x}") from None
