"""DSSE with RSASSA-PSS / SHA-256 (how in-toto signs its DSSE link and layout files).

Parameters as securesystemslib uses them: MGF1 with SHA-256, salt length 32
(the digest length). Verification also accepts any salt length
(``PSS.AUTO``), which real signers sometimes use (``PSS.MAX_LENGTH``).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cairn.provenance.base import PublicKeyVerifier

__all__ = ["RsaPssVerifier"]


class RsaPssVerifier(PublicKeyVerifier[rsa.RSAPublicKey]):
    """Verifies RSA-PSS (SHA-256) signatures with the keys it was given."""

    @classmethod
    def from_pem(cls, pem: bytes, keyid: str = "") -> RsaPssVerifier:
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("not an RSA public key")
        return cls({keyid: key})

    def _check(self, key: rsa.RSAPublicKey, pae: bytes, sig: bytes) -> bool:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        try:
            key.verify(sig, pae, pss, hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True
