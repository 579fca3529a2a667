"""DSSE with Ethereum wallets: how cairn signs manifests.

Choice (documented here once): the signature is EIP-191 ``personal_sign`` of
the PAE bytes, i.e. secp256k1 over ``keccak256("\\x19Ethereum Signed
Message:\\n" || len(PAE) || PAE)``, encoded as the 65-byte ``r || s || v``.
Any Ethereum wallet can therefore sign a manifest and show the signer what it
signs; the keyid is the signer's EIP-55 checksummed address. Verification
recovers the address from the signature and requires it to equal the keyid
(and, if the verifier was given any, one of the trusted addresses).
"""

from __future__ import annotations

from collections.abc import Iterable

from cairn.errors import SignatureError
from cairn.identity import Signer, checksum_address, recover_message, sign_message
from cairn.provenance.base import Verifier
from cairn.provenance.dsse import EnvelopeSignature

__all__ = ["WalletEnvelopeSigner", "WalletVerifier"]


class WalletEnvelopeSigner:
    """Adapts a wallet :class:`~cairn.identity.Signer` to DSSE."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    @property
    def keyid(self) -> str:
        return self._signer.address

    def sign(self, pae: bytes) -> bytes:
        return sign_message(self._signer, pae).to_bytes()


class WalletVerifier(Verifier):
    """Accepts envelopes signed by a wallet; by any wallet when ``trusted`` is empty."""

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        try:
            self.trusted = frozenset(checksum_address(a) for a in trusted)
        except SignatureError as exc:
            raise SignatureError(f"bad trusted signer: {exc}") from None

    def _verify_one(self, pae: bytes, signature: EnvelopeSignature) -> str | None:
        try:
            address = recover_message(pae, signature.sig)
            claimed = checksum_address(signature.keyid)
        except SignatureError:
            return None
        if address != claimed or (self.trusted and address not in self.trusted):
            return None
        return address
