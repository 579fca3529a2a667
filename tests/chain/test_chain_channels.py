"""PaymentChannels on both backends: vouchers, the close window, every revert."""

from __future__ import annotations

import dataclasses

import pytest

from cairn.chain import DeployParams, SignedVoucher, VoucherDomain, sign_voucher
from cairn.errors import ContractRevert, InsufficientFunds
from cairn.identity import LocalSigner

ETHER = 10**18
PARAMS = DeployParams()  # what tests/chain/conftest.py deploys with

DEPOSIT = ETHER // 10
N = 115792089237316195423570985008687907852837564279074904382605163141518161494337


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, match=f"^PaymentChannels: reverted: {reason}$")


def test_open_redeem_close_withdraw_pays_exactly(chain, alice, bob):
    ch = chain.channels
    a0, b0 = chain.balance(alice.address), chain.balance(bob.address)
    opened = ch.open(alice, bob.address, DEPOSIT)
    cid = opened.value
    r1 = ch.redeem(bob, ch.sign(alice, cid, 1000))
    r2 = ch.redeem(bob, ch.sign(alice, cid, 5000))
    assert (r1.value, r2.value) == (1000, 4000)
    state = ch.channel(cid)
    assert state is not None and (state.paid, state.remaining) == (5000, DEPOSIT - 5000)
    close = ch.start_close(alice, cid)
    chain.increase_time(PARAMS.close_window + 1)
    w = ch.withdraw(alice, cid)
    assert w.value == DEPOSIT - 5000
    assert chain.balance(bob.address) == b0 + 5000 - r1.fee - r2.fee
    assert chain.balance(alice.address) == a0 - 5000 - opened.fee - close.fee - w.fee
    assert chain.balance(ch.address) == 0


def test_payee_redeems_inside_close_window(chain, alice, bob):
    ch = chain.channels
    cid = ch.open(alice, bob.address, DEPOSIT).value
    ch.start_close(alice, cid)
    ch.redeem(bob, ch.sign(alice, cid, 777))
    chain.increase_time(PARAMS.close_window + 1)
    with reverts("channel closed"):
        ch.redeem(bob, ch.sign(alice, cid, 778))
    assert ch.withdraw(alice, cid).value == DEPOSIT - 777


def test_topup_raises_the_cap(chain, alice, bob):
    ch = chain.channels
    cid = ch.open(alice, bob.address, 1000).value
    with reverts("voucher exceeds deposit"):
        ch.redeem(bob, ch.sign(alice, cid, 1500))
    ch.top_up(alice, cid, 500)
    assert ch.redeem(bob, ch.sign(alice, cid, 1500)).value == 1500


def test_open_and_topup_reverts(chain, alice, bob):
    ch = chain.channels
    with reverts("zero payee"):
        ch.open(alice, "0x" + "00" * 20, 1)
    with reverts("payee is payer"):
        ch.open(alice, alice.address, 1)
    with reverts("zero deposit"):
        ch.open(alice, bob.address, 0)
    with reverts("unknown channel"):
        ch.top_up(alice, 999, 1)
    cid = ch.open(alice, bob.address, 1).value
    with reverts("zero deposit"):
        ch.top_up(alice, cid, 0)
    ch.start_close(alice, cid)
    with reverts("channel closing"):
        ch.top_up(alice, cid, 1)


def test_redeem_reverts(chain, alice, bob, carol):
    ch = chain.channels
    with reverts("unknown channel"):
        ch.redeem(bob, ch.sign(alice, 999, 1))
    cid = ch.open(alice, bob.address, DEPOSIT).value
    other = ch.open(alice, bob.address, DEPOSIT).value
    with reverts("bad signature"):
        ch.redeem(bob, ch.sign(carol, cid, 10))
    with reverts("bad signature"):  # a voucher for another channel does not replay here
        v = ch.sign(alice, other, 10)
        ch.redeem(bob, dataclasses.replace(v, channel_id=cid))
    foreign = VoucherDomain(ch.domain.chain_id, "0x" + "42" * 20)
    with reverts("bad signature"):  # nor one signed for another contract
        ch.redeem(bob, sign_voucher(alice, foreign, cid, 10))
    foreign_chain = VoucherDomain(ch.domain.chain_id + 1, ch.address)
    with reverts("bad signature"):  # nor one signed for another chain
        ch.redeem(bob, sign_voucher(alice, foreign_chain, cid, 10))
    good = ch.sign(alice, cid, 10)
    v, r, s = good.vrs()
    high = r + (N - int.from_bytes(s, "big")).to_bytes(32, "big") + bytes([55 - v])
    with reverts("bad signature"):  # the malleable twin (EIP-2)
        ch.redeem(bob, SignedVoucher(cid, 10, high))
    ch.redeem(carol, good)  # anyone may submit; the payee is paid
    with reverts("voucher already redeemed"):
        ch.redeem(bob, good)
    with reverts("voucher already redeemed"):
        ch.redeem(bob, ch.sign(alice, cid, 5))
    with reverts("voucher exceeds deposit"):
        ch.redeem(bob, ch.sign(alice, cid, DEPOSIT + 1))


def test_close_reverts(chain, alice, bob):
    ch = chain.channels
    cid = ch.open(alice, bob.address, DEPOSIT).value
    with reverts("not the payer"):
        ch.start_close(bob, cid)
    with reverts("not closing"):
        ch.withdraw(alice, cid)
    ch.start_close(alice, cid)
    with reverts("already closing"):
        ch.start_close(alice, cid)
    with reverts("close window open"):
        ch.withdraw(alice, cid)
    chain.increase_time(PARAMS.close_window + 1)
    with reverts("not the payer"):
        ch.withdraw(bob, cid)
    ch.withdraw(alice, cid)
    with reverts("nothing to withdraw"):
        ch.withdraw(alice, cid)


def test_insufficient_funds_changes_nothing(chain, bob):
    poor = LocalSigner.generate()
    chain.fund(poor.address, 10**15)
    count = chain.channels._call("channelCount")
    with pytest.raises(InsufficientFunds, match="PaymentChannels"):
        chain.channels.open(poor, bob.address, ETHER)
    assert chain.channels._call("channelCount") == count
    assert chain.rpc("eth_getTransactionCount", [poor.address, "latest"]) == "0x0"
    assert chain.balance(poor.address) == 10**15
