"""Content identifiers (CIDs), v0 and v1, per the multiformats CID spec.

Spec: https://github.com/multiformats/cid ("CIDv0", "CIDv1", "Decoding
Algorithm"). This module is a small frozen value type, the canonical string forms
(base58btc for v0, base32 lower for v1), and block verification: every block
cairn reads from anywhere goes through :meth:`Cid.verify`.

The canonical forms -- a CID in the multibases cairn writes (v0 base58btc, ``b``
base32 lower, ``z`` base58btc), with codecs and hashes cairn knows -- are read and
written here, with nothing imported: a command that handles one CID should not
pay for a table of every multicodec (issue "Speed": ``cairn cat`` starts like a
native tool). Anything else (another multibase, an unknown codec, a non-minimal
varint) goes to the ``multiformats`` package, imported then, which accepts or
refuses it exactly as before. A fast read is accepted only if writing it back
gives the very input, so the two paths cannot disagree on what they both accept.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from cairn.content._pb import read_varint, varint
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
# Digest sizes of the hashes read without the multiformats package (identity: any).
_DIGEST_SIZES = {SHA2_256: 32, SHA2_512: 64, BLAKE2B_256: 32}
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58)}
_BASE32_LOWER = re.compile(r"[a-z2-7]+")


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
        fast = _read_canonical(value)
        if fast is not None:
            return fast
        from multiformats import CID as MfCID
        from multiformats import multihash

        try:
            mf = MfCID.decode(value.strip() if isinstance(value, str) else value)
            code, digest = multihash.unwrap_raw(mf.digest)
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
        return varint(self.hash_code) + varint(len(self.digest)) + self.digest

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES.get(self.codec, hex(self.codec))

    def __bytes__(self) -> bytes:
        if self.version == 0:
            return self.multihash
        return b"\x01" + varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return _b58encode(self.multihash)
        return "b" + base64.b32encode(bytes(self)).decode("ascii").rstrip("=").lower()

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


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_BASE58[r])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def _b58decode(text: str) -> bytes | None:
    n = 0
    for c in text:
        i = _BASE58_INDEX.get(c)
        if i is None:
            return None
        n = n * 58 + i
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + n.to_bytes((n.bit_length() + 7) // 8, "big")


def _read_canonical(value: str | bytes) -> Cid | None:
    """A CID in a form cairn writes, or None for the multiformats package to judge."""
    if isinstance(value, str):
        text = value.strip()
        raw: bytes | None
        if text.startswith("Qm") and len(text) == 46:
            raw = _b58decode(text)
        elif text.startswith("b") and _BASE32_LOWER.fullmatch(text, 1):
            pad = "=" * (-(len(text) - 1) % 8)
            try:
                raw = base64.b32decode(text[1:].upper() + pad)
            except ValueError:  # binascii.Error: a length base32 cannot have
                return None
        elif text.startswith("z") and len(text) > 1:
            raw = _b58decode(text[1:])
        else:
            return None
        cid = None if raw is None else _read_binary(raw)
        if cid is None:
            return None
        written = str(cid) if text[0] != "z" else "z" + _b58encode(bytes(cid))
        return cid if written == text else None
    cid = _read_binary(bytes(value))
    return cid if cid is not None and bytes(cid) == bytes(value) else None


def _read_binary(raw: bytes) -> Cid | None:
    try:
        if len(raw) == 34 and raw[0] == SHA2_256 and raw[1] == 32:
            return Cid(0, DAG_PB, SHA2_256, raw[2:])
        version, pos = read_varint(raw, 0)
        codec, pos = read_varint(raw, pos)
        code, pos = read_varint(raw, pos)
        size, pos = read_varint(raw, pos)
    except ContentValueError:
        return None
    digest = raw[pos:]
    if version != 1 or codec not in _CODEC_NAMES or len(digest) != size:
        return None
    if code != IDENTITY and _DIGEST_SIZES.get(code) != size:
        return None
    return Cid(1, codec, code, digest)
