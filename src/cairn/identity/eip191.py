"""EIP-191 version 0x45 ("personal_sign") messages.

Spec: EIP-191 "Signed Data Standard", version byte ``0x45``:
``keccak256(0x19 || "Ethereum Signed Message:\\n" || len(message) || message)``
where ``len`` is the decimal byte length. The prefix makes a signed message
impossible to replay as a transaction. Wallets show the message to the user,
which is why SIWE and cairn's DSSE manifests use this form.
"""

from __future__ import annotations

from eth_utils.crypto import keccak

from cairn.identity.base import Signature, Signer, as_wallet
from cairn.identity.keys import recover_hash, verify_hash

__all__ = ["personal_message_hash", "recover_message", "sign_message", "verify_message"]

_PREFIX = b"\x19Ethereum Signed Message:\n"


def _as_bytes(message: bytes | str) -> bytes:
    return message.encode() if isinstance(message, str) else bytes(message)


def personal_message_hash(message: bytes | str) -> bytes:
    """The 32-byte digest that ``personal_sign`` signs (str is UTF-8 encoded).

    >>> personal_message_hash("hello").hex()[:16]
    '50b2c43fd39106ba'
    """
    data = _as_bytes(message)
    return bytes(keccak(_PREFIX + str(len(data)).encode() + data))


def sign_message(signer: Signer, message: bytes | str) -> Signature:
    """``personal_sign`` of ``message`` (a wallet is asked to, shown it)."""
    wallet = as_wallet(signer)
    if wallet is not None:
        return wallet.sign_personal_message(_as_bytes(message))
    return signer.sign_hash(personal_message_hash(message))


def recover_message(message: bytes | str, signature: Signature | bytes) -> str:
    """The checksummed address that signed ``message``."""
    return recover_hash(personal_message_hash(message), signature)


def verify_message(message: bytes | str, signature: Signature | bytes, expected: str) -> str:
    """Check ``expected`` signed ``message``; :class:`SignatureError` otherwise."""
    return verify_hash(personal_message_hash(message), signature, expected)
