"""The provenance ports: sign a DSSE envelope, verify one.

Spec: DSSE protocol.md, "Signature definition" and "Protocol" (verification:
decode, compute PAE, verify each signature with a trusted key, accept when
enough verify, hand back exactly the payload that was verified).

:meth:`Verifier.verify` does those shared checks once; a backend fills in the
single hook :meth:`Verifier._verify_one` for its key type (secp256k1 wallet,
ECDSA P-256, RSA-PSS). An :class:`EnvelopeSigner` is the signing half.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cairn.errors import VerificationFailed
from cairn.provenance.dsse import Envelope, EnvelopeSignature

__all__ = ["EnvelopeSigner", "PublicKeyVerifier", "Verified", "Verifier", "sign_envelope"]

K = TypeVar("K")


class EnvelopeSigner(Protocol):
    """Signs PAE bytes; ``keyid`` names the key in the envelope."""

    @property
    def keyid(self) -> str: ...

    def sign(self, pae: bytes) -> bytes: ...


def sign_envelope(payload: bytes, payload_type: str, *signers: EnvelopeSigner) -> Envelope:
    """An envelope over ``payload`` signed by each of ``signers``."""
    env = Envelope(payload, payload_type, ())
    sigs = tuple(EnvelopeSignature(s.keyid, s.sign(env.pae())) for s in signers)
    return Envelope(payload, payload_type, sigs)


@dataclass(frozen=True, slots=True)
class Verified:
    """What a verified envelope hands back: the exact payload and who signed it."""

    payload_type: str
    payload: bytes
    signers: tuple[str, ...]


class Verifier(ABC):
    """Verifies envelopes; ``threshold`` distinct signers must verify."""

    threshold: int = 1

    def verify(self, envelope: Envelope, payload_type: str | None = None) -> Verified:
        """Check the envelope, or raise :class:`VerificationFailed` saying why."""
        if payload_type is not None and envelope.payload_type != payload_type:
            raise VerificationFailed(
                f"payloadType is {envelope.payload_type!r}, expected {payload_type!r}"
            )
        if not envelope.signatures:
            raise VerificationFailed("envelope is unsigned")
        message = envelope.pae()
        signers: list[str] = []
        for signature in envelope.signatures:
            who = self._verify_one(message, signature)
            if who is not None and who not in signers:
                signers.append(who)
        if len(signers) < self.threshold:
            raise VerificationFailed(self._failure(envelope, signers))
        return Verified(envelope.payload_type, envelope.payload, tuple(signers))

    def _failure(self, envelope: Envelope, signers: list[str]) -> str:
        if not signers:
            keyids = ", ".join(s.keyid or "(no keyid)" for s in envelope.signatures)
            return f"no valid signature from a trusted key (keyids: {keyids})"
        return f"only {len(signers)} of {self.threshold} required signatures verify"

    @abstractmethod
    def _verify_one(self, pae: bytes, signature: EnvelopeSignature) -> str | None:
        """The signer's identity if ``signature`` is valid over ``pae``, else None."""


class PublicKeyVerifier(Verifier, Generic[K]):
    """A verifier holding public keys by keyid (``""`` = any keyid).

    The keyid in an envelope is an unauthenticated hint (protocol.md): it picks
    which key to try first, but only a key this verifier trusts can verify.
    """

    def __init__(self, keys: dict[str, K]) -> None:
        if not keys:
            raise ValueError("a verifier needs at least one public key")
        self.keys = dict(keys)

    def _verify_one(self, pae: bytes, signature: EnvelopeSignature) -> str | None:
        if signature.keyid in self.keys:
            candidates = [(signature.keyid, self.keys[signature.keyid])]
        else:
            candidates = list(self.keys.items())
        for keyid, key in candidates:
            if self._check(key, pae, signature.sig):
                return keyid or signature.keyid
        return None

    @abstractmethod
    def _check(self, key: K, pae: bytes, sig: bytes) -> bool:
        """True if ``sig`` is a valid signature by ``key`` over ``pae``."""
