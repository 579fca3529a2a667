"""x402's ``sign-in-with-x`` extension, server side, for EVM accounts.

Why: an x402 client that already paid (or only needs to say who it is) should
not pay again; it proves control of its wallet instead. The x402 v2
``sign-in-with-x`` extension (CAIP-122, with EIP-4361 as the EVM profile)
carries that proof: the server's 402 body lists a challenge under
``extensions["sign-in-with-x"]``, and the client retries with a
``SIGN-IN-WITH-X`` header.

Wire format, as the official x402 SDK (2.25) writes and reads it:

- the challenge is ``{"info": {...}, "supportedChains": [{"chainId":
  "eip155:<n>", "type": "eip191"}], "schema": <JSON Schema of the payload>}``;
  ``info`` holds ``domain``, ``uri``, ``version``, ``nonce``, ``issuedAt`` and
  optionally ``statement``, ``expirationTime``, ``notBefore``, ``requestId``,
  ``resources`` (EIP-4361 field names in camelCase);
- the header is standard base64 (with padding) of UTF-8 JSON: the ``info``
  fields echoed back, plus ``address``, ``chainId`` (CAIP-2), ``type`` and
  ``signature`` (0x hex, EIP-191 ``personal_sign`` over the EIP-4361 text built
  from those fields), optionally ``signatureScheme`` (a hint; cairn routes by
  whether the address has code, as :func:`cairn.identity.siwe.verify` does).

The message is rebuilt with :class:`~cairn.identity.siwe.SiweMessage` (one owner
of the EIP-4361 text) and checked with :func:`~cairn.identity.siwe.verify`
against the configured domain and URI; the nonce, issued by a
:class:`~cairn.identity.siwe.NonceBook`, is spent only once every other check
has passed, so a refused header does not burn the client's challenge.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cairn.errors import SiweInvalid
from cairn.identity.siwe import CodeAt, IsValidSignature, NonceBook, SiweMessage, verify

__all__ = ["EXTENSION_KEY", "HEADER", "declare", "verify_header"]

EXTENSION_KEY = "sign-in-with-x"
HEADER = "SIGN-IN-WITH-X"
_MAX_HEADER = 16 * 1024
_CAIP2_EVM = re.compile(r"eip155:([0-9]{1,20})")
_PLACEHOLDER = "0x" + "0" * 40  # checks a challenge before any address is known
# the payload keys that are EIP-4361 fields (chainId is CAIP-2 here, so it is mapped apart)
_OPTIONAL_IN_PAYLOAD = frozenset(
    ("statement", "expirationTime", "notBefore", "requestId", "resources")
)
_FIELD_NAMES = _OPTIONAL_IN_PAYLOAD | {"domain", "address", "uri", "version", "nonce", "issuedAt"}


def _payload_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the header payload, as the extension publishes it."""
    text = {"type": "string"}
    uri = {"type": "string", "format": "uri"}
    when = {"type": "string", "format": "date-time"}
    properties: dict[str, Any] = {
        "domain": text,
        "address": text,
        "statement": text,
        "uri": uri,
        "version": text,
        "chainId": text,
        "type": text,
        "nonce": text,
        "issuedAt": when,
        "expirationTime": when,
        "notBefore": when,
        "requestId": text,
        "resources": {"type": "array", "items": uri},
        "signature": text,
    }
    required = [name for name in properties if name not in _OPTIONAL_IN_PAYLOAD]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
    }


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise SiweInvalid("challenge times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def declare(
    domain: str,
    uri: str,
    chain_id: int,
    nonce: str,
    *,
    statement: str | None = None,
    issued_at: datetime | None = None,
    expiration_time: datetime | None = None,
    not_before: datetime | None = None,
    request_id: str | None = None,
    resources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``{"sign-in-with-x": challenge}``, to merge into a 402 body's ``extensions``.

    ``nonce`` comes from :meth:`NonceBook.issue`; ``issued_at`` defaults to now.
    The challenge is checked as an EIP-4361 message before it is handed out.

    >>> ext = declare("cairn.example", "https://cairn.example/v1/infer", 8453, "n0nce1234567")
    >>> ext["sign-in-with-x"]["supportedChains"]
    [{'chainId': 'eip155:8453', 'type': 'eip191'}]
    """
    info: dict[str, Any] = {
        "domain": domain,
        "uri": uri,
        "version": "1",
        "nonce": nonce,
        "issuedAt": _rfc3339(issued_at or datetime.now(UTC)),
        "statement": statement,
        "expirationTime": None if expiration_time is None else _rfc3339(expiration_time),
        "notBefore": None if not_before is None else _rfc3339(not_before),
        "requestId": request_id,
        "resources": None if resources is None else list(resources),
    }
    info = {key: value for key, value in info.items() if value is not None}
    SiweMessage.from_fields({**info, "address": _PLACEHOLDER, "chainId": chain_id})
    challenge = {
        "info": info,
        "supportedChains": [{"chainId": f"eip155:{chain_id}", "type": "eip191"}],
        "schema": _payload_schema(),
    }
    return {EXTENSION_KEY: challenge}


def _decode(value: str) -> dict[str, Any]:
    if not isinstance(value, str) or len(value) > _MAX_HEADER:
        raise SiweInvalid(f"{HEADER} header is missing or longer than {_MAX_HEADER} bytes")
    try:
        payload = json.loads(base64.b64decode(value.strip(), validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SiweInvalid(f"{HEADER} header is not base64 of UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise SiweInvalid(f"{HEADER} header is not a JSON object")
    return payload


def _message(payload: dict[str, Any]) -> SiweMessage:
    if payload.get("type") != "eip191":
        raise SiweInvalid(f"{HEADER}: type {payload.get('type')!r} is not eip191 (EVM)")
    chain = payload.get("chainId")
    m = _CAIP2_EVM.fullmatch(chain) if isinstance(chain, str) else None
    if m is None:
        raise SiweInvalid(f"{HEADER}: chainId {chain!r} is not eip155:<number>")
    fields = {k: v for k, v in payload.items() if k in _FIELD_NAMES and v is not None}
    return SiweMessage.from_fields({**fields, "chainId": int(m.group(1))})


def verify_header(
    value: str,
    *,
    domain: str,
    uri: str,
    nonce_book: NonceBook,
    now: datetime | None = None,
    chain_id: int | None = None,
    code_at: CodeAt | None = None,
    is_valid_signature: IsValidSignature | None = None,
) -> str:
    """The checksummed address a ``SIGN-IN-WITH-X`` header proves, or :class:`SiweInvalid`.

    ``domain`` and ``uri`` are the ones this service declared (configured, not
    read from the request); the payload must name exactly these. ``chain_id``,
    when given, pins the chain (needed when ``code_at`` reads only one chain).
    The nonce must be live in ``nonce_book``; it is used up only on success.
    """
    payload = _decode(value)
    message = _message(payload)
    if message.uri != uri:
        raise SiweInvalid(f"uri {message.uri!r} is not the declared {uri!r}")
    nonce_book.check(message.nonce)
    signature = payload.get("signature")
    if not isinstance(signature, str):
        raise SiweInvalid(f"{HEADER}: signature is missing")
    verify(
        message,
        signature,
        domain=domain,
        now=now,
        chain_id=chain_id,
        code_at=code_at,
        is_valid_signature=is_valid_signature,
    )
    nonce_book.use(message.nonce)
    return message.address
