"""The receipt: what a node signs for every answer, as EIP-712 typed data.

Spec: EIP-712 ("Definition of hashStruct", "Definition of domainSeparator").
The struct is::

    Receipt(bytes model,bytes32 inputHash,bytes32 outputHash,address node,
            bytes32 requestId,uint64 issuedAt,string runtime,uint256 price)

``model`` is the binary CID of the model (so the receipt binds the exact
bytes that ran), ``inputHash``/``outputHash`` are sha256 of the canonical
encodings (:mod:`cairn.receipts.wire`), ``runtime`` is the runtime
fingerprint. The domain is ``{name: "Cairn", version: "1", chainId,
verifyingContract: ReceiptAnchor}``, so a receipt cannot be replayed on
another network.

The Disputes contract is the judge of a receipt, so its definition is the
rule: it rebuilds the digest under domain name ``"Cairn"`` and version ``"1"``
only, and its ``Receipt`` struct holds at most :data:`MAX_MODEL_BYTES` of binary
CID and :data:`MAX_RUNTIME_BYTES` of UTF-8 runtime. A receipt outside those
bounds could never be used as evidence, so it is refused here — by the parser
and by :meth:`Receipt.check_judgeable` — rather than accepted as "verified"
(``tests/receipts/test_receipts_disputable.py`` holds the two sides equal).

Signing is on the request path, so the struct hash is computed directly
(precomputed type hash and domain separator, one keccak per dynamic field);
tests check it against the generic encoder in :mod:`cairn.identity.eip712`.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, replace
from typing import Any

import orjson
from eth_hash.auto import keccak  # eth-utils' wrapper costs more than the hash

from cairn.content import Cid
from cairn.errors import CairnError, ReceiptInvalid, SignatureError
from cairn.identity import (
    Signature,
    Signer,
    checksum_address,
    hash_struct,
    recover_hash,
    sign_struct,
)

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "MAX_MODEL_BYTES",
    "MAX_RUNTIME_BYTES",
    "RECEIPT_TYPES",
    "Receipt",
    "ReceiptDomain",
]

# What the Disputes contract can judge (src/cairn/chain/contracts/Disputes.vy:
# its domain separator and its Receipt struct). One place on the Python side.
DOMAIN_NAME = "Cairn"
DOMAIN_VERSION = "1"
MAX_MODEL_BYTES = 128  # Receipt.model: Bytes[MAX_MODEL]
MAX_RUNTIME_BYTES = 512  # Receipt.runtime: String[MAX_RUNTIME] (bytes of UTF-8)
MAX_CHAIN_ID = (1 << 256) - 1

RECEIPT_TYPE = (
    "Receipt(bytes model,bytes32 inputHash,bytes32 outputHash,address node,"
    "bytes32 requestId,uint64 issuedAt,string runtime,uint256 price)"
)
_TYPE_HASH = keccak(RECEIPT_TYPE.encode())

RECEIPT_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Receipt": [
        {"name": "model", "type": "bytes"},
        {"name": "inputHash", "type": "bytes32"},
        {"name": "outputHash", "type": "bytes32"},
        {"name": "node", "type": "address"},
        {"name": "requestId", "type": "bytes32"},
        {"name": "issuedAt", "type": "uint64"},
        {"name": "runtime", "type": "string"},
        {"name": "price", "type": "uint256"},
    ],
}


@dataclass(frozen=True)
class ReceiptDomain:
    """The network a receipt belongs to: chain id and ReceiptAnchor address."""

    chain_id: int
    anchor: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def describe(self) -> str:
        """``chain 2147483649 / anchor 0xAbC…`` (for error messages)."""
        return f"chain {self.chain_id} / anchor {checksum_address(self.anchor)}"

    def same_network(self, other: ReceiptDomain) -> bool:
        return self.chain_id == other.chain_id and self.anchor.lower() == other.anchor.lower()

    def to_json(self) -> dict[str, Any]:
        return dict(self._json)

    @functools.cached_property
    def _json(self) -> dict[str, Any]:  # computed once: it is on the request path
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": checksum_address(self.anchor),
        }

    @functools.cached_property
    def separator(self) -> bytes:
        return hash_struct("EIP712Domain", self.to_json(), RECEIPT_TYPES)


@functools.lru_cache(maxsize=256)
def _hashed_model(model: str) -> bytes:
    """keccak of the binary CID (a node serves few models: cache it)."""
    return bytes(keccak(bytes(Cid.parse(model))))


@functools.lru_cache(maxsize=256)
def _model_size(model: str) -> int:
    return len(bytes(Cid.parse(model)))


@functools.lru_cache(maxsize=256)
def _hashed_text(text: str) -> bytes:
    return bytes(keccak(text.encode()))


def _utf8_size(text: str, field: str) -> int:
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        raise ReceiptInvalid(f"receipt field {field} is not valid UTF-8") from None


def _b32(value: object, field: str) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raw = b""
        if len(raw) == 32:
            return raw
    raise ReceiptInvalid(f"receipt field {field} must be 32 bytes of 0x-hex")


@dataclass(frozen=True)
class Receipt:
    """A signed statement: this node ran this model on this input and got this output."""

    model: str
    input_hash: bytes
    output_hash: bytes
    node: str
    request_id: bytes
    issued_at: int
    runtime: str
    price: int
    domain: ReceiptDomain
    signature: Signature | None = None

    def struct_hash(self) -> bytes:
        return keccak(
            _TYPE_HASH
            + _hashed_model(self.model)
            + self.input_hash
            + self.output_hash
            + bytes(12)
            + bytes.fromhex(self.node.removeprefix("0x"))
            + self.request_id
            + self.issued_at.to_bytes(32, "big")
            + _hashed_text(self.runtime)
            + self.price.to_bytes(32, "big")
        )

    def digest(self, separator: bytes | None = None) -> bytes:
        """The EIP-712 digest that is signed (pass a cached domain separator to save a hash)."""
        cached: bytes | None = self.__dict__.get("_digest")
        if cached is not None:
            return cached
        sep = self.domain.separator if separator is None else separator
        digest = bytes(keccak(b"\x19\x01" + sep + self.struct_hash()))
        self.__dict__["_digest"] = digest  # a frozen value: its digest never changes
        return digest

    def check_judgeable(self) -> None:
        """Raise :class:`ReceiptInvalid` unless the Disputes contract could judge this receipt.

        Same domain name and version as the contract's separator, and every field
        inside the contract's bounds (see the module docstring).
        """
        d = self.domain
        if (d.name, d.version) != (DOMAIN_NAME, DOMAIN_VERSION):
            raise ReceiptInvalid(
                f"receipt domain is {d.name!r} version {d.version!r}; "
                f"only {DOMAIN_NAME!r} version {DOMAIN_VERSION!r} can be disputed"
            )
        if not 0 < d.chain_id <= MAX_CHAIN_ID:
            raise ReceiptInvalid(f"receipt chain id {d.chain_id} is out of range")
        try:
            model_size = _model_size(self.model)
        except CairnError as exc:
            raise ReceiptInvalid(f"receipt model is not a CID: {exc}") from None
        if model_size > MAX_MODEL_BYTES:
            raise ReceiptInvalid(f"receipt model CID is {model_size} bytes (max {MAX_MODEL_BYTES})")
        runtime_size = _utf8_size(self.runtime, "runtime")
        if runtime_size > MAX_RUNTIME_BYTES:
            raise ReceiptInvalid(
                f"receipt runtime is {runtime_size} bytes of UTF-8 (max {MAX_RUNTIME_BYTES})"
            )
        if not (0 <= self.issued_at < 1 << 64 and 0 <= self.price < 1 << 256):
            raise ReceiptInvalid("receipt issuedAt or price out of range")
        for name, value in (("inputHash", self.input_hash), ("outputHash", self.output_hash)):
            if len(value) != 32:
                raise ReceiptInvalid(f"receipt field {name} must be 32 bytes")
        if len(self.request_id) != 32:
            raise ReceiptInvalid("receipt field requestId must be 32 bytes")

    def typed_data(self) -> dict[str, Any]:
        """The receipt as ``eth_signTypedData_v4`` shows it to a wallet (same digest)."""
        return {
            "types": RECEIPT_TYPES,
            "primaryType": "Receipt",
            "domain": self.domain.to_json(),
            "message": {
                "model": bytes(Cid.parse(self.model)),
                "inputHash": self.input_hash,
                "outputHash": self.output_hash,
                "node": self.node,
                "requestId": self.request_id,
                "issuedAt": self.issued_at,
                "runtime": self.runtime,
                "price": self.price,
            },
        }

    def sign(self, signer: Signer, separator: bytes | None = None) -> Receipt:
        digest = self.digest(separator)
        signed = replace(self, signature=sign_struct(signer, digest, self.typed_data))
        signed.__dict__["_digest"] = digest  # the signature is not part of the digest
        return signed

    def signer(self) -> str:
        """The address that signed this receipt (raises if unsigned or malformed)."""
        if self.signature is None:
            raise ReceiptInvalid("receipt is not signed")
        try:
            return recover_hash(self.digest(), self.signature)
        except SignatureError as exc:
            raise ReceiptInvalid(f"receipt signature is invalid: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "inputHash": "0x" + self.input_hash.hex(),
            "outputHash": "0x" + self.output_hash.hex(),
            "node": self.node,
            "requestId": "0x" + self.request_id.hex(),
            "issuedAt": self.issued_at,
            "runtime": self.runtime,
            "price": str(self.price),
            "domain": self.domain.to_json(),
        }
        if self.signature is not None:
            out["signature"] = "0x" + self.signature.to_bytes().hex()
        return out

    @functools.cached_property
    def json_text(self) -> str:
        """The JSON form as compact text, keys sorted, UTF-8 (computed once: stored, sent as
        a header; no hash covers it). Written by orjson, a third of ``json.dumps``'s cost on
        the request path; by ``json.dumps`` when orjson refuses (an integer past 64 bits: a
        chain id may be one)."""
        obj = self.to_json()
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    def to_header(self) -> str:
        """Compact form for the ``Cairn-Receipt`` HTTP header (base64url JSON)."""
        return base64.urlsafe_b64encode(self.json_text.encode()).decode().rstrip("=")

    @classmethod
    def from_header(cls, value: str) -> Receipt:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            return cls.from_json(json.loads(raw))
        except (ValueError, json.JSONDecodeError) as exc:
            raise ReceiptInvalid(f"malformed Cairn-Receipt header: {exc}") from None

    @classmethod
    def from_json(cls, obj: object) -> Receipt:
        """Parse the JSON form strictly; anything malformed is a :class:`ReceiptInvalid`."""
        if not isinstance(obj, dict):
            raise ReceiptInvalid("a receipt must be a JSON object")
        try:
            dom = obj["domain"]
            domain = ReceiptDomain(
                int(dom["chainId"]),
                checksum_address(dom["verifyingContract"]),
                str(dom["name"]),
                str(dom["version"]),
            )
            sig = obj.get("signature")
            receipt = cls(
                model=str(Cid.parse(str(obj["model"]))),
                input_hash=_b32(obj["inputHash"], "inputHash"),
                output_hash=_b32(obj["outputHash"], "outputHash"),
                node=checksum_address(str(obj["node"])),
                request_id=_b32(obj["requestId"], "requestId"),
                issued_at=int(obj["issuedAt"]),
                runtime=str(obj["runtime"]),
                price=int(obj["price"]),
                domain=domain,
                signature=Signature.from_hex(sig) if sig is not None else None,
            )
        except KeyError as exc:
            raise ReceiptInvalid(f"receipt is missing field {exc}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ReceiptInvalid):
                raise
            raise ReceiptInvalid(f"malformed receipt: {exc}") from None
        except CairnError as exc:
            raise ReceiptInvalid(f"malformed receipt: {exc}") from None
        receipt.check_judgeable()
        return receipt
