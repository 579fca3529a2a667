"""x402 v2 on the wire: the three headers, their base64 JSON bodies, strictly parsed.

Spec: x402 v2 (coinbase/x402 ``specs/x402-specification-v2.md``, transport
``specs/transports-v2/http.md``). A server answers an unpaid request ``402`` with
``PAYMENT-REQUIRED: base64(PaymentRequired)``; the client retries with
``PAYMENT-SIGNATURE: base64(PaymentPayload)``; the paid answer carries
``PAYMENT-RESPONSE: base64(SettleResponse)``. v1 clients send ``X-PAYMENT`` and read
``X-PAYMENT-RESPONSE``; we read both names, as servers in transition do. Field names
are camelCase on the wire; amounts are decimal strings of atomic units; networks are
CAIP-2 (``eip155:<chainId>``).

Everything here is a value object with ``to_json``/``from_json``; parsing is where an
attacker reaches us first, so a header is bounded in size (:data:`MAX_HEADER`),
must be base64 of a JSON object, and every field is type-checked before use: a
malformed header is :class:`~cairn.errors.PaymentInvalid` with one line naming the
field, never a 500. Used by both sides: the gateway (:mod:`cairn.payments.cashier`)
and the paying client (:mod:`cairn.payments.payer`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.errors import PaymentInvalid

__all__ = [
    "MAX_HEADER",
    "PAYMENT_REQUIRED",
    "PAYMENT_RESPONSE",
    "PAYMENT_SIGNATURE",
    "V1_PAYMENT",
    "V1_PAYMENT_RESPONSE",
    "VERSION",
    "Offer",
    "Payment",
    "Requirement",
    "Settled",
    "chain_id_of",
    "decode_header",
    "encode_header",
    "network_of",
]

VERSION = 2
PAYMENT_REQUIRED = "PAYMENT-REQUIRED"
PAYMENT_SIGNATURE = "PAYMENT-SIGNATURE"
PAYMENT_RESPONSE = "PAYMENT-RESPONSE"
V1_PAYMENT = "X-PAYMENT"
V1_PAYMENT_RESPONSE = "X-PAYMENT-RESPONSE"
#: the largest header we decode: a voucher or an EIP-3009 authorization is under 2 KiB
MAX_HEADER = 16 * 1024
_MAX_TEXT = 2048


def network_of(chain_id: int) -> str:
    """The CAIP-2 id of an EVM chain: ``eip155:31337``."""
    return f"eip155:{chain_id}"


def chain_id_of(network: str) -> int:
    """The chain id in a CAIP-2 ``eip155:N`` network, or :class:`PaymentInvalid`."""
    prefix, _, number = network.partition(":")
    if prefix != "eip155" or not number.isdigit() or len(number) > 20:
        raise PaymentInvalid(f"network {network[:64]!r} is not an EVM chain (eip155:<id>)")
    return int(number)


def encode_header(obj: Mapping[str, Any]) -> str:
    """``base64(JSON)``, the form of all three headers. JSON by pydantic-core (Rust), here
    and in :func:`decode_header`: a paid call writes and reads two of them (imported
    when first used, so that importing this module stays cheap for the CLI)."""
    from pydantic_core import to_json

    return base64.b64encode(to_json(obj)).decode()


def decode_header(value: str, name: str) -> dict[str, Any]:
    """The JSON object in an x402 header, or :class:`PaymentInvalid` naming the header."""
    from pydantic_core import from_json

    if len(value) > MAX_HEADER:
        raise PaymentInvalid(f"{name} header of {len(value)} bytes is over {MAX_HEADER}")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        obj = from_json(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise PaymentInvalid(f"{name} header is not base64 of JSON") from None
    if not isinstance(obj, dict):
        raise PaymentInvalid(f"{name} header is not a JSON object")
    return obj


def _text(obj: Mapping[str, Any], key: str, *, optional: bool = False) -> str:
    value = obj.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise PaymentInvalid(f"{key} must be a string")
    return value


def _amount(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PaymentInvalid(f"{key} must be a decimal string of atomic units")
    text = str(value)
    if not text.isdigit() or len(text) > 78 or int(text) >= 1 << 256:
        raise PaymentInvalid(f"{key} must be a decimal string of atomic units")
    return int(text)


def _object(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PaymentInvalid(f"{key} must be an object")
    return value


@dataclass(frozen=True)
class Requirement:
    """One way to pay (``PaymentRequirements``): scheme, CAIP-2 network, token, amount, payee."""

    scheme: str
    network: str
    asset: str
    amount: int
    pay_to: str
    max_timeout_s: int
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "network": self.network,
            "asset": self.asset,
            "amount": str(self.amount),
            "payTo": self.pay_to,
            "maxTimeoutSeconds": self.max_timeout_s,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, obj: object) -> Requirement:
        if not isinstance(obj, dict):
            raise PaymentInvalid("accepted must be an object")
        timeout = obj.get("maxTimeoutSeconds", 0)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
            raise PaymentInvalid("maxTimeoutSeconds must be a non-negative integer")
        return cls(
            scheme=_text(obj, "scheme"),
            network=_text(obj, "network"),
            asset=_text(obj, "asset"),
            amount=_amount(obj, "amount" if "amount" in obj else "maxAmountRequired"),
            pay_to=_text(obj, "payTo"),
            max_timeout_s=timeout,
            extra=_object(obj, "extra"),
        )

    def same_terms(self, other: Requirement) -> bool:
        """Whether ``other`` names the same scheme, chain, token, amount and payee
        (addresses compared case-insensitively, as EIP-55 is only a checksum)."""
        return (
            self.scheme == other.scheme
            and self.network == other.network
            and self.asset.lower() == other.asset.lower()
            and self.amount == other.amount
            and self.pay_to.lower() == other.pay_to.lower()
        )


@dataclass(frozen=True)
class Offer:
    """``PaymentRequired``: what a resource costs, in every way the server accepts."""

    resource: str
    accepts: tuple[Requirement, ...]
    error: str = ""
    description: str = ""
    mime_type: str = "application/json"
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "x402Version": VERSION,
            "resource": {
                "url": self.resource,
                "description": self.description,
                "mimeType": self.mime_type,
            },
            "accepts": [r.to_json() for r in self.accepts],
        }
        if self.error:
            out["error"] = self.error
        if self.extensions:
            out["extensions"] = dict(self.extensions)
        return out

    def header(self) -> str:
        return encode_header(self.to_json())

    @classmethod
    def from_header(cls, value: str) -> Offer:
        obj = decode_header(value, PAYMENT_REQUIRED)
        accepts = obj.get("accepts")
        if not isinstance(accepts, list) or not 0 < len(accepts) <= 16:
            raise PaymentInvalid("accepts must be a list of 1 to 16 requirements")
        resource = _object(obj, "resource")
        return cls(
            resource=_text(resource, "url", optional=True),
            accepts=tuple(Requirement.from_json(r) for r in accepts),
            error=_text(obj, "error", optional=True),
            description=_text(resource, "description", optional=True),
            extensions=_object(obj, "extensions"),
        )


@dataclass(frozen=True)
class Payment:
    """``PaymentPayload``: the requirement the client chose and its signed scheme payload.

    A v1 payload (``X-PAYMENT``: ``scheme`` and ``network`` at the top, no
    ``accepted``) is read into the same shape with ``accepted`` left partial: its
    terms are then matched by scheme and network alone (:meth:`matches`).
    """

    accepted: Requirement
    payload: Mapping[str, Any]
    version: int = VERSION
    resource: str = ""
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "x402Version": self.version,
            "accepted": self.accepted.to_json(),
            "payload": dict(self.payload),
        }
        if self.resource:
            out["resource"] = {"url": self.resource}
        if self.extensions:
            out["extensions"] = dict(self.extensions)
        return out

    def header(self) -> str:
        return encode_header(self.to_json())

    @classmethod
    def from_header(cls, value: str, name: str = PAYMENT_SIGNATURE) -> Payment:
        obj = decode_header(value, name)
        version = obj.get("x402Version")
        if version not in (1, 2):
            raise PaymentInvalid(f"x402Version {str(version)[:16]!r} is not 1 or 2")
        payload = obj.get("payload")
        if not isinstance(payload, dict):
            raise PaymentInvalid("payload must be an object")
        if version == 1:
            accepted = Requirement(
                scheme=_text(obj, "scheme"),
                network=_text(obj, "network"),
                asset="",
                amount=0,
                pay_to="",
                max_timeout_s=0,
            )
        else:
            accepted = Requirement.from_json(obj.get("accepted"))
        return cls(
            accepted=accepted,
            payload=payload,
            version=version,
            resource=_text(_object(obj, "resource"), "url", optional=True),
            extensions=_object(obj, "extensions"),
        )

    def matches(self, offered: Requirement) -> bool:
        """Whether this payment is for ``offered`` (a v1 payload: by scheme and network)."""
        if self.version == 1:
            return (self.accepted.scheme, self.accepted.network) == (
                offered.scheme,
                offered.network,
            )
        return self.accepted.same_terms(offered)


@dataclass(frozen=True)
class Settled:
    """``SettleResponse``: what was paid, by whom, in which transaction."""

    success: bool
    transaction: str
    network: str
    payer: str = ""
    amount: int = 0
    error_reason: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "success": self.success,
            "transaction": self.transaction,
            "network": self.network,
            "payer": self.payer,
            "amount": str(self.amount),
        }
        if self.error_reason:
            out["errorReason"] = self.error_reason
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    def header(self) -> str:
        return encode_header(self.to_json())

    @classmethod
    def from_header(cls, value: str) -> Settled:
        obj = decode_header(value, PAYMENT_RESPONSE)
        success = obj.get("success")
        if not isinstance(success, bool):
            raise PaymentInvalid("success must be a boolean")
        return cls(
            success=success,
            transaction=_text(obj, "transaction", optional=True),
            network=_text(obj, "network"),
            payer=_text(obj, "payer", optional=True),
            amount=_amount(obj, "amount") if "amount" in obj else 0,
            error_reason=_text(obj, "errorReason", optional=True),
            extra=_object(obj, "extra"),
        )
