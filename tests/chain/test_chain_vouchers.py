"""Vouchers: the EIP-712 digest (cairn.identity's) equals eth-account's and the contract's."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

from cairn.chain import (
    SignedVoucher,
    VoucherDomain,
    recover_voucher,
    sign_voucher,
    verify_voucher,
    voucher_digest,
)
from cairn.errors import VoucherInvalid
from cairn.identity import LocalSigner

KEY = keccak(b"voucher-payer")
PAYER = LocalSigner(KEY)
DOMAIN = VoucherDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


def _typed(domain: VoucherDomain, channel_id: int, amount: int) -> dict:
    return {
        "types": {
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
        },
        "primaryType": "Voucher",
        "domain": {
            "name": "Cairn PaymentChannels",
            "version": "1",
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": {"channelId": channel_id, "amount": amount},
    }


@pytest.mark.parametrize("channel_id,amount", [(1, 0), (7, 10**18), (2**256 - 1, 2**256 - 1)])
def test_digest_matches_eth_account(channel_id, amount):
    signable = encode_typed_data(full_message=_typed(DOMAIN, channel_id, amount))
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert voucher_digest(DOMAIN, channel_id, amount) == expected
    theirs = Account.sign_typed_data(KEY, full_message=_typed(DOMAIN, channel_id, amount))
    assert sign_voucher(PAYER, DOMAIN, channel_id, amount).signature == theirs.signature


def test_digest_matches_the_contract(chain):
    ch = chain.channels
    assert ch._call("domainSeparator") == ch.domain.separator


def test_sign_recover_verify():
    payer = PAYER
    v = sign_voucher(payer, DOMAIN, 3, 500)
    assert recover_voucher(DOMAIN, v) == payer.address
    verify_voucher(DOMAIN, v, payer.address.lower())
    with pytest.raises(VoucherInvalid, match="not by the payer"):
        verify_voucher(DOMAIN, SignedVoucher(3, 501, v.signature), payer.address)
    with pytest.raises(VoucherInvalid, match="not by the payer"):
        verify_voucher(VoucherDomain(1, DOMAIN.verifying_contract), v, payer.address)


def test_malformed_signatures_rejected():
    v = sign_voucher(PAYER, DOMAIN, 3, 500)
    with pytest.raises(VoucherInvalid, match="65 bytes"):
        recover_voucher(DOMAIN, SignedVoucher(3, 500, v.signature[:64]))
    with pytest.raises(VoucherInvalid, match="65 bytes"):
        recover_voucher(DOMAIN, SignedVoucher(3, 500, v.signature[:64] + b"\x05"))
    high = v.signature[:32] + (2**256 - 1).to_bytes(32, "big") + v.signature[64:]
    with pytest.raises(VoucherInvalid, match="high s"):
        recover_voucher(DOMAIN, SignedVoucher(3, 500, high))
    with pytest.raises(VoucherInvalid, match="uint256"):
        voucher_digest(DOMAIN, -1, 0)
    with pytest.raises(VoucherInvalid, match="20-byte"):
        VoucherDomain(1, "0x1234")


def test_digest_is_fast():
    import time

    start = time.perf_counter()
    for i in range(2000):
        voucher_digest(DOMAIN, 1, i)
    assert (time.perf_counter() - start) / 2000 < 100e-6
