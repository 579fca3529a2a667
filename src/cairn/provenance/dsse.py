"""DSSE envelopes: the Pre-Authentication Encoding and the JSON envelope.

Spec: secure-systems-lab/dsse ``protocol.md`` (v1.0.2) and ``envelope.md``.
Signatures are over ``PAE(payloadType, payload)`` =
``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, never over the JSON,
so the envelope may be re-serialized freely while the signed bytes stay fixed.
Base64 may be standard or URL-safe, padded or not: verifiers must accept both
(protocol.md, "Envelope"). Parsing rejects everything else with
:class:`~cairn.errors.ManifestError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from cairn.errors import ManifestError

__all__ = ["Envelope", "EnvelopeSignature", "b64decode", "loads", "pae"]

MAX_DEPTH = 32  # envelopes and statements nest 5 deep; deeper input is an attack
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")


def pae(payload_type: str, payload: bytes) -> bytes:
    """The Pre-Authentication Encoding: what every DSSE signature covers.

    >>> pae("http://example.com/HelloWorld", b"hello world")
    b'DSSEv1 29 http://example.com/HelloWorld 11 hello world'
    """
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def loads(data: bytes | str, what: str) -> Any:
    """``json.loads`` that refuses nesting deeper than :data:`MAX_DEPTH` first.

    Deeply nested JSON can exhaust the C stack inside the JSON decoder (a crash,
    not an exception), so the depth is measured on the bytes before decoding.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    depth = 0
    for byte in _NOT_BRACKETS.sub(b"", _STRINGS.sub(b"", raw)):
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_DEPTH:
            raise ManifestError(f"{what} JSON nests deeper than {MAX_DEPTH}")
    try:
        return json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise ManifestError(f"{what} is not valid JSON") from None


def b64decode(text: Any, what: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not; :class:`ManifestError` if bad."""
    if not isinstance(text, str) or not text.isascii():
        raise ManifestError(f"envelope {what} must be a base64 string")
    std = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ManifestError(f"envelope {what} is not valid base64") from None


@dataclass(frozen=True, slots=True)
class EnvelopeSignature:
    """One signature: a key id hint (unauthenticated) and the raw signature bytes."""

    keyid: str
    sig: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope with its payload decoded.

    >>> env = Envelope(b"hi", "text/plain", ())
    >>> Envelope.parse(env.to_json()) == env
    True
    """

    payload: bytes
    payload_type: str
    signatures: tuple[EnvelopeSignature, ...]

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def to_json(self) -> bytes:
        """The envelope as compact JSON (keys sorted; standard padded base64)."""
        doc = {
            "payload": base64.b64encode(self.payload).decode(),
            "payloadType": self.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode()} for s in self.signatures
            ],
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, data: bytes | str) -> Envelope:
        """Parse envelope JSON; anything malformed raises :class:`ManifestError`."""
        doc = loads(data, "envelope")
        if not isinstance(doc, dict):
            raise ManifestError("envelope must be a JSON object")
        payload_type = doc.get("payloadType")
        if not isinstance(payload_type, str) or not payload_type:
            raise ManifestError("envelope payloadType must be a non-empty string")
        sigs = doc.get("signatures")
        if not isinstance(sigs, list):
            raise ManifestError("envelope signatures must be a list")
        return cls(
            b64decode(doc.get("payload"), "payload"),
            payload_type,
            tuple(_signature(s) for s in sigs),
        )


def _signature(item: Any) -> EnvelopeSignature:
    if not isinstance(item, dict):
        raise ManifestError("each envelope signature must be an object")
    keyid = item.get("keyid", "")
    if not isinstance(keyid, str):
        raise ManifestError("envelope signature keyid must be a string")
    sig = b64decode(item.get("sig"), "signature")
    if not sig:
        raise ManifestError("envelope signature is empty")
    return EnvelopeSignature(keyid, sig)
