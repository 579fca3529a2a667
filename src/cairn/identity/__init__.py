"""Identity and access: secp256k1 wallets, keystores, EIP-191 and EIP-712 signatures.

The port is :class:`Signer` (an address and ``sign_hash``); :class:`LocalSigner`
holds a key in memory, :class:`WalletStore` keeps named keys in encrypted
keystore files, and :class:`ExternalSigner` asks a wallet that keeps its own key
(a :class:`WalletSigner`: EIP-1193 over JSON-RPC). Everything cairn signs goes
through these functions.
"""

from __future__ import annotations

from cairn._keccak import prefer_pysha3
from cairn.identity.base import Signature, Signer, WalletSigner, as_wallet
from cairn.identity.eip191 import (
    personal_message_hash,
    recover_message,
    sign_message,
    verify_message,
)
from cairn.identity.eip712 import (
    domain_separator,
    eip712_digest,
    hash_struct,
    recover_typed_data,
    sign_struct,
    sign_typed_data,
    type_hash,
    typed_data_digest,
    verify_typed_data,
)
from cairn.identity.external import ExternalSigner
from cairn.identity.keys import LocalSigner, checksum_address, recover_hash, verify_hash
from cairn.identity.wallets import WalletInfo, WalletStore

prefer_pysha3()  # keccak-256 in C for everything that hashes through eth-hash

__all__ = [
    "ExternalSigner",
    "LocalSigner",
    "Signature",
    "Signer",
    "WalletInfo",
    "WalletSigner",
    "WalletStore",
    "as_wallet",
    "checksum_address",
    "domain_separator",
    "eip712_digest",
    "hash_struct",
    "personal_message_hash",
    "recover_hash",
    "recover_message",
    "recover_typed_data",
    "sign_message",
    "sign_struct",
    "sign_typed_data",
    "type_hash",
    "typed_data_digest",
    "verify_hash",
    "verify_message",
    "verify_typed_data",
]
