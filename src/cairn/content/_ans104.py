"""ANS-104 data items and bundles signed by an Ethereum key: how cairn signs for Arweave.

Specs: Arweave "deep hash" (ANS-101 / arweave-js ``deepHash``), ANS-104 "Bundled
Data v2.0 — Binary Serialization" (https://github.com/ArweaveTeam/arweave-standards/
blob/master/ans/ANS-104.md), §1.3 data item format and §1.1 bundle format.

A data item is ``sig_type(u16 LE) || signature || owner || target? || anchor? ||
n_tags(u64 LE) || n_tag_bytes(u64 LE) || tags(Avro) || data``; its id is
``sha256(signature)``. Signature type 3 ("ethereum") is secp256k1: the owner is the
65-byte uncompressed public key and the signature is EIP-191 ``personal_sign`` of
the 48-byte deep hash ``["dataitem", "1", "3", owner, target, anchor, tags, data]``
— exactly what arbundles' ``EthereumSigner`` makes, so the cairn wallet that signs
manifests and receipts signs what goes on Arweave too (one identity). A bundle is
``count(32 B LE) || (size(32 B LE) || id(32 B))* || items``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import coincurve
from eth_hash.auto import keccak as keccak256

from cairn.errors import ArweaveError

__all__ = [
    "DataItem",
    "EthereumItemSigner",
    "b64url",
    "bundle",
    "deep_hash",
    "from_b64url",
    "tag_bytes",
]

SIG_ETHEREUM = 3
_SIG_LEN = 65
_OWNER_LEN = 65
MAX_TAG_BYTES = 4096  # arbundles refuses more
Tags = Sequence[tuple[str, str]]


def b64url(data: bytes) -> str:
    """Base64url without padding, the encoding of every Arweave id, key and field."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise ArweaveError(f"not base64url: {text[:40]!r}") from None


DeepHashable = bytes | Sequence["DeepHashable"]


def deep_hash(value: DeepHashable) -> bytes:
    """SHA-384 deep hash: a blob is tagged ``blob<len>``, a list ``list<len>`` and folded."""
    if isinstance(value, bytes | bytearray):
        tag = hashlib.sha384(b"blob%d" % len(value)).digest()
        return hashlib.sha384(tag + hashlib.sha384(value).digest()).digest()
    acc = hashlib.sha384(b"list%d" % len(value)).digest()
    for child in value:
        acc = hashlib.sha384(acc + deep_hash(child)).digest()
    return acc


def _avro_long(n: int) -> bytes:
    zigzag = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte = zigzag & 0x7F
        zigzag >>= 7
        if zigzag:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag_bytes(tags: Tags) -> bytes:
    """Tags as ANS-104 serializes them: an Avro array of {name, value} (empty: no bytes)."""
    if not tags:
        return b""
    out = bytearray(_avro_long(len(tags)))
    for name, value in tags:
        for text in (name.encode(), value.encode()):
            out += _avro_long(len(text)) + text
    out += b"\x00"
    if len(out) > MAX_TAG_BYTES:
        raise ArweaveError(f"tags take {len(out)} bytes, over ANS-104's {MAX_TAG_BYTES}")
    return bytes(out)


def _personal_hash(message: bytes) -> bytes:
    return keccak256(b"\x19Ethereum Signed Message:\n%d" % len(message) + message)


@dataclass(frozen=True)
class EthereumItemSigner:
    """Signs data items with an Ethereum key through ``personal_sign`` (EIP-191).

    ``personal_sign`` takes a message and returns the 65-byte ``r || s || v``
    signature: any wallet, a hardware one too. The owner's public key is recovered
    once from a signature, since the identity port exposes only an address.
    """

    public_key: bytes
    personal_sign: Callable[[bytes], bytes]

    @classmethod
    def from_personal_sign(cls, personal_sign: Callable[[bytes], bytes]) -> EthereumItemSigner:
        probe = b"cairn: the public key of the wallet that signs Arweave data items"
        return cls(recover_public_key(probe, personal_sign(probe)), personal_sign)


def recover_public_key(message: bytes, signature: bytes) -> bytes:
    """The 65-byte uncompressed key behind an EIP-191 signature of ``message``."""
    if len(signature) != _SIG_LEN:
        raise ArweaveError(f"an Ethereum signature is 65 bytes, got {len(signature)}")
    raw = signature[:64] + bytes([signature[64] - 27 if signature[64] >= 27 else signature[64]])
    try:
        key = coincurve.PublicKey.from_signature_and_message(raw, _personal_hash(message), None)
    except (ValueError, TypeError) as exc:
        raise ArweaveError(f"signature does not recover to a key: {exc}") from None
    return bytes(key.format(compressed=False))


def ethereum_address(public_key: bytes) -> str:
    """The 0x address (lower case) of a 65-byte uncompressed secp256k1 key."""
    return "0x" + keccak256(public_key[1:])[-20:].hex()


@dataclass(frozen=True)
class DataItem:
    """A signed ANS-104 data item (signature type 3)."""

    owner: bytes
    tags: tuple[tuple[str, str], ...]
    data: bytes
    signature: bytes
    anchor: bytes = b""

    @classmethod
    def sign(cls, data: bytes, tags: Tags, signer: EthereumItemSigner) -> DataItem:
        unsigned = cls(signer.public_key, tuple(tags), data, b"")
        signature = signer.personal_sign(unsigned.signing_message())
        return cls(signer.public_key, tuple(tags), data, signature)

    def signing_message(self) -> bytes:
        parts: list[DeepHashable] = [b"dataitem", b"1", b"%d" % SIG_ETHEREUM]
        parts += [self.owner, b"", self.anchor, tag_bytes(self.tags), self.data]
        return deep_hash(parts)

    @property
    def id(self) -> str:
        return b64url(hashlib.sha256(self.signature).digest())

    def signer_address(self) -> str:
        """Check the signature and return the signer's 0x address (lower case)."""
        try:
            key = recover_public_key(self.signing_message(), self.signature)
        except ArweaveError as exc:
            raise ArweaveError(f"data item {self.id} has a bad signature: {exc}") from None
        if key != self.owner:
            raise ArweaveError(f"data item {self.id} has a bad signature: not made by its owner")
        return ethereum_address(self.owner)

    def to_bytes(self) -> bytes:
        if len(self.owner) != _OWNER_LEN or len(self.signature) != _SIG_LEN:
            raise ArweaveError("a type-3 data item has a 65-byte owner and signature")
        tags = tag_bytes(self.tags)
        anchor = b"\x01" + self.anchor if self.anchor else b"\x00"
        head = SIG_ETHEREUM.to_bytes(2, "little") + self.signature + self.owner + b"\x00" + anchor
        counts = len(self.tags).to_bytes(8, "little") + len(tags).to_bytes(8, "little")
        return head + counts + tags + self.data


def bundle(items: Sequence[DataItem]) -> bytes:
    """An ANS-104 binary bundle of ``items`` (to be the data of a native transaction)."""
    raw = [item.to_bytes() for item in items]
    header = len(raw).to_bytes(32, "little")
    for item, blob in zip(items, raw, strict=True):
        header += len(blob).to_bytes(32, "little") + hashlib.sha256(item.signature).digest()
    return header + b"".join(raw)
