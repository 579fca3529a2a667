"""Payment-channel vouchers: EIP-712 typed data, signed by the payer.

``Voucher(uint256 channelId,uint256 amount)`` under the domain
``EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)``
(EIP-712, "Definition of hashStruct" and "Definition of domainSeparator"). The
amount is cumulative: each voucher replaces the last, and the contract pays only
its growth. The domain binds a voucher to one chain and one contract; the channel
id binds it to one channel — no replay across any of them.

The digest path is hand-rolled (two keccaks over fixed-width words, the domain
separator computed once per domain) so a gateway can check a voucher per
request; ``tests`` prove it equals eth-account's ``encode_typed_data``.
Signatures are 65 bytes r‖s‖v with low s (EIP-2), which the contract enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_hash.auto import keccak
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError

from cairn.chain._tx import Signer, as_account
from cairn.errors import VoucherInvalid

__all__ = [
    "SignedVoucher",
    "VoucherDomain",
    "recover_voucher",
    "sign_voucher",
    "verify_voucher",
    "voucher_digest",
]

DOMAIN_NAME = "Cairn PaymentChannels"
DOMAIN_VERSION = "1"
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
VOUCHER_TYPEHASH = keccak(b"Voucher(uint256 channelId,uint256 amount)")
_SECP256K1N_HALF = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
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
        address = bytes.fromhex(self.verifying_contract.removeprefix("0x"))
        if len(address) != 20:
            raise VoucherInvalid("verifying contract is not a 20-byte address")
        sep = keccak(
            _DOMAIN_TYPEHASH
            + keccak(DOMAIN_NAME.encode())
            + keccak(DOMAIN_VERSION.encode())
            + self.chain_id.to_bytes(32, "big")
            + address.rjust(32, b"\0")
        )
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
    struct_hash = keccak(
        VOUCHER_TYPEHASH + channel_id.to_bytes(32, "big") + amount.to_bytes(32, "big")
    )
    return keccak(b"\x19\x01" + domain.separator + struct_hash)


def sign_voucher(
    signer: Signer, domain: VoucherDomain, channel_id: int, amount: int
) -> SignedVoucher:
    """Sign a cumulative voucher with the payer's key."""
    account = as_account(signer)
    signed = account.unsafe_sign_hash(voucher_digest(domain, channel_id, amount))
    sig = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    return SignedVoucher(channel_id, amount, sig)


def recover_voucher(domain: VoucherDomain, voucher: SignedVoucher) -> str:
    """The checksummed address that signed ``voucher``; VoucherInvalid if none can."""
    sig = voucher.signature
    if len(sig) != 65 or sig[64] not in (27, 28):
        raise VoucherInvalid("voucher signature must be 65 bytes r‖s‖v with v in {27, 28}")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
    if s > _SECP256K1N_HALF:
        raise VoucherInvalid("voucher signature has a high s (EIP-2)")
    digest = voucher_digest(domain, voucher.channel_id, voucher.amount)
    try:
        pub = Signature(vrs=(sig[64] - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError) as exc:
        raise VoucherInvalid(f"voucher signature does not recover: {exc}") from exc
    return str(to_checksum_address(pub.to_canonical_address()))


def verify_voucher(domain: VoucherDomain, voucher: SignedVoucher, payer: str) -> None:
    """Raise VoucherInvalid unless ``payer`` signed ``voucher`` under ``domain``."""
    signer = recover_voucher(domain, voucher)
    if signer.lower() != payer.lower():
        raise VoucherInvalid(f"voucher signed by {signer}, not by the payer {payer}")
