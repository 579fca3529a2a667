"""DSSE with ECDSA over NIST P-256 and SHA-256 (the DSSE protocol.md test vector).

Signatures are accepted as raw ``r || s`` (64 bytes, what the DSSE reference
implementation emits) or as DER (what in-toto and sigstore emit). Signing is
deterministic (RFC 6979), so the protocol.md vector is reproduced byte for byte.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from cairn.provenance.base import PublicKeyVerifier

__all__ = ["EcdsaP256Signer", "EcdsaP256Verifier"]

_ALG = ec.ECDSA(hashes.SHA256())


class EcdsaP256Signer:
    """Signs PAE with a P-256 private key; raw ``r || s`` output."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, keyid: str = "") -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("EcdsaP256Signer needs a P-256 key")
        self._key = key
        self._keyid = keyid

    @property
    def keyid(self) -> str:
        return self._keyid

    def sign(self, pae: bytes) -> bytes:
        der = self._key.sign(pae, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class EcdsaP256Verifier(PublicKeyVerifier[ec.EllipticCurvePublicKey]):
    """Verifies P-256 signatures with the keys it was given."""

    @classmethod
    def from_pem(cls, pem: bytes, keyid: str = "") -> EcdsaP256Verifier:
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("not an EC public key")
        return cls({keyid: key})

    def _check(self, key: ec.EllipticCurvePublicKey, pae: bytes, sig: bytes) -> bool:
        if len(sig) == 64:
            sig = encode_dss_signature(
                int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            )
        try:
            key.verify(sig, pae, _ALG)
        except (InvalidSignature, ValueError):
            return False
        return True
