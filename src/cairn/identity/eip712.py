"""EIP-712 typed structured data: hashing stages, signing and recovery.

Spec: EIP-712, sections "Definition of encodeType", "Definition of typeHash",
"Definition of encodeData", "Definition of hashStruct" and "Definition of
domainSeparator"; the signed digest is ``keccak256(0x1901 || domainSeparator ||
hashStruct(message))`` (EIP-191 version 0x01). Written by hand so every stage
is visible to tests and callers (receipts and payment vouchers precompute the
domain separator and type hash, then sign with :func:`eip712_digest`).

Input is the JSON form wallets use (``eth_signTypedData_v4``): a mapping with
``types``, ``primaryType``, ``domain`` and ``message``. Values may be ints or
decimal/hex strings for integers, hex strings or bytes for ``bytes``/``bytesN``
(``bytesN`` must be exactly N bytes), hex addresses (EIP-55 checked when mixed
case). Anything malformed raises :class:`~cairn.errors.SignatureError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eth_utils.crypto import keccak

from cairn.errors import SignatureError
from cairn.identity.base import Signature, Signer, as_wallet
from cairn.identity.keys import checksum_address, recover_hash, verify_hash

__all__ = [
    "domain_separator",
    "eip712_digest",
    "encode_data",
    "encode_type",
    "hash_struct",
    "recover_typed_data",
    "sign_struct",
    "sign_typed_data",
    "type_hash",
    "typed_data_digest",
    "verify_typed_data",
]

Types = Mapping[str, Sequence[Mapping[str, str]]]
_DOMAIN_FIELDS = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
    ("salt", "bytes32"),
)
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")
_INT = re.compile(r"^(u?)int(\d{0,3})$")
_FIXED_BYTES = re.compile(r"^bytes(\d{1,2})$")


def _fields(types: Types, name: str) -> Sequence[Mapping[str, str]]:
    try:
        return types[name]
    except KeyError:
        raise SignatureError(f"EIP-712 type {name!r} is not defined") from None


def _base_type(kind: str) -> str:
    while (m := _ARRAY.match(kind)) is not None:
        kind = m.group(1)
    return kind


def _dependencies(primary: str, types: Types, found: set[str]) -> set[str]:
    base = _base_type(primary)
    if base in found or base not in types:
        return found
    found.add(base)
    for field in types[base]:
        if not isinstance(field, Mapping) or not isinstance(field.get("type"), str):
            raise SignatureError(f"EIP-712 type {base!r}: each field needs a name and type")
        _dependencies(field["type"], types, found)
    return found


def encode_type(primary: str, types: Types) -> str:
    """``Name(type field,...)`` for the primary type, then its dependencies sorted by name."""
    _fields(types, primary)
    deps = sorted(_dependencies(primary, types, set()) - {primary})
    try:
        return "".join(
            f"{name}({','.join(f['type'] + ' ' + f['name'] for f in types[name])})"
            for name in [primary, *deps]
        )
    except (KeyError, TypeError):
        raise SignatureError(f"EIP-712 type {primary!r}: fields need a name and type") from None


def type_hash(primary: str, types: Types) -> bytes:
    """``keccak256(encodeType(primary))``."""
    return bytes(keccak(encode_type(primary, types).encode()))


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise SignatureError("expected an integer, got a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith(("0x", "-0x")) else int(value)
        except ValueError:
            pass
    raise SignatureError(f"expected an integer, got {value!r}")


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise SignatureError(f"expected 0x-hex bytes, got {value!r}")


def _encode_atomic(kind: str, value: Any) -> bytes:
    if kind == "address":
        if not isinstance(value, str):
            raise SignatureError(f"expected an address, got {value!r}")
        return bytes.fromhex(checksum_address(value)[2:]).rjust(32, b"\0")
    if kind == "bool":
        if not isinstance(value, bool):
            raise SignatureError(f"expected a bool, got {value!r}")
        return int(value).to_bytes(32, "big")
    if (m := _INT.match(kind)) is not None:
        bits = int(m.group(2) or 256)
        if bits % 8 or not 8 <= bits <= 256:
            raise SignatureError(f"unknown EIP-712 type {kind!r}")
        n = _to_int(value)
        lo, hi = (0, 2**bits) if m.group(1) else (-(2 ** (bits - 1)), 2 ** (bits - 1))
        if not lo <= n < hi:
            raise SignatureError(f"{n} does not fit in {kind}")
        return (n % 2**256).to_bytes(32, "big")
    if (m := _FIXED_BYTES.match(kind)) is not None and 1 <= int(m.group(1)) <= 32:
        raw = _to_bytes(value)
        if len(raw) != int(m.group(1)):
            raise SignatureError(f"{kind} needs {m.group(1)} bytes, got {len(raw)}")
        return raw.ljust(32, b"\0")
    raise SignatureError(f"unknown EIP-712 type {kind!r}")


def _encode_value(kind: str, value: Any, types: Types) -> bytes:
    if (m := _ARRAY.match(kind)) is not None:
        if not isinstance(value, list | tuple):
            raise SignatureError(f"expected an array for {kind}, got {value!r}")
        if m.group(2) and len(value) != int(m.group(2)):
            raise SignatureError(f"{kind} needs {m.group(2)} items, got {len(value)}")
        inner = m.group(1)
        return bytes(keccak(b"".join(_encode_value(inner, v, types) for v in value)))
    if kind in types:
        return hash_struct(kind, value, types)
    if kind == "string":
        if not isinstance(value, str):
            raise SignatureError(f"expected a string, got {value!r}")
        return bytes(keccak(value.encode()))
    if kind == "bytes":
        return bytes(keccak(_to_bytes(value)))
    return _encode_atomic(kind, value)


def encode_data(primary: str, data: Mapping[str, Any], types: Types) -> bytes:
    """``typeHash || enc(field_1) || ... || enc(field_n)`` (32 bytes each)."""
    if not isinstance(data, Mapping):
        raise SignatureError(f"EIP-712 {primary} must be an object, got {type(data).__name__}")
    parts = [type_hash(primary, types)]
    for field in _fields(types, primary):
        if field["name"] not in data:
            raise SignatureError(f"EIP-712 {primary} is missing field {field['name']!r}")
        parts.append(_encode_value(field["type"], data[field["name"]], types))
    return b"".join(parts)


def hash_struct(primary: str, data: Mapping[str, Any], types: Types) -> bytes:
    """``keccak256(encodeData(primary, data))``."""
    return bytes(keccak(encode_data(primary, data, types)))


def _parts(typed_data: Mapping[str, Any]) -> tuple[dict[str, Any], str, Mapping[str, Any]]:
    try:
        types = dict(typed_data["types"])
        primary = typed_data["primaryType"]
        domain = typed_data["domain"]
    except (KeyError, TypeError, ValueError):
        raise SignatureError("typed data needs 'types', 'primaryType' and 'domain'") from None
    if not isinstance(domain, Mapping) or not isinstance(primary, str):
        raise SignatureError("typed data 'domain' must be an object, 'primaryType' a string")
    for name, fields in types.items():
        if (
            not isinstance(name, str)
            or not isinstance(fields, list | tuple)
            or not all(
                isinstance(f, Mapping)
                and isinstance(f.get("name"), str)
                and isinstance(f.get("type"), str)
                for f in fields
            )
        ):
            raise SignatureError(f"EIP-712 type {name!r} must be a list of {{name, type}}")
    if "EIP712Domain" not in types:  # wallets derive it from the keys present
        types["EIP712Domain"] = [{"name": n, "type": t} for n, t in _DOMAIN_FIELDS if n in domain]
    return types, primary, domain


def domain_separator(typed_data: Mapping[str, Any]) -> bytes:
    """``hashStruct(EIP712Domain, domain)``."""
    types, _, domain = _parts(typed_data)
    return hash_struct("EIP712Domain", domain, types)


def eip712_digest(domain_sep: bytes, struct_hash: bytes | None) -> bytes:
    """``keccak256(0x1901 || domainSeparator || hashStruct(message))``: the fast path."""
    return bytes(keccak(b"\x19\x01" + domain_sep + (struct_hash or b"")))


def typed_data_digest(typed_data: Mapping[str, Any]) -> bytes:
    """The 32-byte digest a wallet signs for ``eth_signTypedData_v4``."""
    types, primary, domain = _parts(typed_data)
    sep = hash_struct("EIP712Domain", domain, types)
    if primary == "EIP712Domain":  # signing the domain alone: no message hash
        return eip712_digest(sep, None)
    message = typed_data.get("message")
    if not isinstance(message, Mapping):
        raise SignatureError("typed data 'message' must be an object")
    return eip712_digest(sep, hash_struct(primary, message, types))


def sign_typed_data(signer: Signer, typed_data: Mapping[str, Any]) -> Signature:
    """Sign typed data as ``eth_signTypedData_v4`` does (a wallet is asked to, shown it)."""
    wallet = as_wallet(signer)
    if wallet is not None:
        return wallet.sign_typed_data(typed_data)
    return signer.sign_hash(typed_data_digest(typed_data))


def sign_struct(
    signer: Signer, digest: bytes, typed_data: Callable[[], Mapping[str, Any]]
) -> Signature:
    """Sign an EIP-712 ``digest`` computed on a fast path (receipts, vouchers, EIP-3009).

    A key in this process signs ``digest``; a wallet is shown ``typed_data()`` (built
    only then), and its signature must recover to it over ``digest`` itself, so the
    fast path and the struct the wallet displayed cannot differ.
    """
    wallet = as_wallet(signer)
    if wallet is not None:
        signature = wallet.sign_typed_data(typed_data())
        verify_hash(digest, signature, wallet.address)
        return signature
    return signer.sign_hash(digest)


def recover_typed_data(typed_data: Mapping[str, Any], signature: Signature | bytes) -> str:
    """The checksummed address that signed ``typed_data``."""
    return recover_hash(typed_data_digest(typed_data), signature)


def verify_typed_data(
    typed_data: Mapping[str, Any], signature: Signature | bytes, expected: str
) -> str:
    """Check ``expected`` signed ``typed_data``; :class:`SignatureError` otherwise."""
    return verify_hash(typed_data_digest(typed_data), signature, expected)
