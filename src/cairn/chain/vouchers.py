"""Payment-channel vouchers: EIP-712 typed data, signed by the payer.

``Voucher(uint256 channelId,uint256 amount)`` under the domain
``EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)``
(EIP-712, "Definition of hashStruct" and "Definition of domainSeparator"). The
amount is cumulative: each voucher replaces the last, and the contract pays only
its growth. The domain binds a voucher to one chain and one contract; the channel
id binds it to one channel — no replay across any of them.

Hashing and signing are :mod:`cairn.identity`'s: the domain separator is
``hash_struct("EIP712Domain", ...)``, computed once per domain, the struct hash
``hash_struct("Voucher", ...)``, and the payer's :class:`~cairn.identity.Signer`
signs the digest; ``tests`` prove it equals eth-account's ``encode_typed_data``
and the contract's. Signatures are 65 bytes r‖s‖v with low s (EIP-2), which the
contract enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cairn.errors import SignatureError, VoucherInvalid
from cairn.identity import Signature, Signer, eip712_digest, hash_struct, recover_hash
from cairn.identity.base import SECP256K1_N

__all__ = [
    "VOUCHER_TYPES",
    "SignedVoucher",
    "VoucherDomain",
    "recover_voucher",
    "sign_voucher",
    "verify_voucher",
    "voucher_digest",
]

DOMAIN_NAME = "Cairn PaymentChannels"
DOMAIN_VERSION = "1"
VOUCHER_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Voucher": [
        {"name": "channelId", "type": "uint256"},
        {"name": "amount", "type": "uint256"},
    ],
}
_UINT256 = 2**256


@dataclass(frozen=True)
class VoucherDomain:
    """The EIP-712 domain of one PaymentChannels contract on one chain.

    >>> d = VoucherDomain(1, "0x" + "11" * 20)
    >>> len(d.separator)
    32
    """

    chain_id: int
    verifying_contract: str
    separator: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        address = self.verifying_contract.removeprefix("0x")
        try:
            if len(bytes.fromhex(address)) != 20:
                raise ValueError
        except ValueError:
            raise VoucherInvalid("verifying contract is not a 20-byte address") from None
        domain = {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": "0x" + address.lower(),  # any case: the bytes are what count
        }
        try:
            sep = hash_struct("EIP712Domain", domain, VOUCHER_TYPES)
        except SignatureError as exc:
            raise VoucherInvalid(f"bad voucher domain: {exc}") from None
        object.__setattr__(self, "separator", sep)


@dataclass(frozen=True)
class SignedVoucher:
    """A payer's promise: channel ``channel_id`` owes the payee ``amount`` wei in total."""

    channel_id: int
    amount: int
    signature: bytes

    def vrs(self) -> tuple[int, bytes, bytes]:
        """(v, r, s) as the contract takes them."""
        return self.signature[64], self.signature[:32], self.signature[32:64]


def voucher_digest(domain: VoucherDomain, channel_id: int, amount: int) -> bytes:
    """The 32-byte EIP-712 digest ``keccak(0x1901 ‖ domainSeparator ‖ hashStruct)``."""
    if not (0 <= channel_id < _UINT256 and 0 <= amount < _UINT256):
        raise VoucherInvalid("channel id and amount must be uint256")
    message = {"channelId": channel_id, "amount": amount}
    return eip712_digest(domain.separator, hash_struct("Voucher", message, VOUCHER_TYPES))


def sign_voucher(
    signer: Signer, domain: VoucherDomain, channel_id: int, amount: int
) -> SignedVoucher:
    """Sign a cumulative voucher with the payer's :class:`~cairn.identity.Signer`."""
    signature = signer.sign_hash(voucher_digest(domain, channel_id, amount))
    return SignedVoucher(channel_id, amount, signature.to_bytes())


def recover_voucher(domain: VoucherDomain, voucher: SignedVoucher) -> str:
    """The checksummed address that signed ``voucher``; VoucherInvalid if none can."""
    sig = voucher.signature
    if len(sig) != 65 or sig[64] not in (27, 28):
        raise VoucherInvalid("voucher signature must be 65 bytes r‖s‖v with v in {27, 28}")
    if int.from_bytes(sig[32:64], "big") > SECP256K1_N // 2:
        raise VoucherInvalid("voucher signature has a high s (EIP-2)")
    digest = voucher_digest(domain, voucher.channel_id, voucher.amount)
    try:
        return recover_hash(digest, Signature.from_bytes(sig))
    except SignatureError as exc:
        raise VoucherInvalid(f"voucher signature does not recover: {exc}") from None


def verify_voucher(domain: VoucherDomain, voucher: SignedVoucher, payer: str) -> None:
    """Raise VoucherInvalid unless ``payer`` signed ``voucher`` under ``domain``."""
    signer = recover_voucher(domain, voucher)
    if signer.lower() != payer.lower():
        raise VoucherInvalid(f"voucher signed by {signer}, not by the payer {payer}")
