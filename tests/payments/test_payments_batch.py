"""Scheme ``batch-settlement``, node side, against cairn's contracts on the embedded chain.

Payloads are built here field for field as the official SDK's client sends them
(tests/node/test_node_x402_batch.py has the SDK itself pay a node); the scheme is
driven through its port (admit, settle, release) and claims through
``claim_and_settle``. Every refusal in :mod:`cairn.payments.batch` and
:mod:`cairn.payments._vouchers` is tripped here; the ledger is checked to the unit;
the voucher path's speed and a large claim's gas are measured and printed.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.chain import Chain, connect
from cairn.chain.batch import (
    BATCH_SETTLEMENT_ADDRESS,
    ERC3009_COLLECTOR_ADDRESS,
    BatchSettlement,
    ChannelConfig,
    channel_id,
    deposit_nonce,
    install_canonical,
    sign_voucher,
    voucher_digest,
)
from cairn.chain.token import TokenDomain, sign_authorization
from cairn.errors import ContractRevert, PaymentInvalid
from cairn.identity import LocalSigner, recover_hash
from cairn.identity.base import SECP256K1_N
from cairn.payments import BatchScheme, ChannelRefusal, Offer, Payment, Requirement
from cairn.payments._vouchers import MemoryVoucherStore, SqliteVoucherStore, parse_payload
from cairn.payments.base import Admitted
from cairn.payments.batch import MISMATCH, REFUND_NO_BALANCE

PRICE = 1000
ZERO = "0x" + "00" * 20
HOUR = 3600


def signer(name: str) -> LocalSigner:
    return LocalSigner(keccak(f"cairn-test-batch-{name}".encode()))


NODE = signer("node")
PAYER = signer("payer")
THIEF = signer("thief")
SPENDER = signer("spender")


@dataclass
class Env:
    chain: Chain
    dev: Any
    settlement: BatchSettlement
    domain: TokenDomain
    lock: threading.Lock
    requirement: Requirement = field(init=False)

    def __post_init__(self) -> None:
        self.requirement = self.scheme().requirement(PRICE)

    def scheme(self, store: Any = None, **kw: Any) -> BatchScheme:
        store = MemoryVoucherStore() if store is None else store
        return BatchScheme(
            self.chain, self.settlement, self.domain, NODE.address, NODE, self.lock, store, **kw
        )

    def mint(self, to: str, amount: int) -> None:
        self.chain.token.mint(self.dev, to, amount)


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.integration)]
)
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    chain = connect(
        "embedded://" if request.param == "embedded" else request.getfixturevalue("anvil")
    )
    dev = chain.dev_keys()[0]
    chain.deploy(dev, record=False)
    settlement = install_canonical(chain, dev)
    for account in (NODE, PAYER, SPENDER):
        chain.fund(account.address, 100 * 10**18)
    yield Env(chain, dev, settlement, chain.token.domain(), threading.Lock())
    chain.close()


class Channel:
    """One payer's channel to the node, and the payloads its client would send."""

    def __init__(
        self,
        env: Env,
        payer: LocalSigner = PAYER,
        voucher_signer: LocalSigner | None = None,
        **config: Any,
    ) -> None:
        self.env, self.payer = env, payer
        self.voucher_signer = voucher_signer or payer
        fields: dict[str, Any] = {
            "payer": payer.address,
            "payer_authorizer": payer.address,
            "receiver": NODE.address,
            "receiver_authorizer": NODE.address,
            "token": env.domain.verifying_contract,
            "salt": os.urandom(32),
        }
        self.config = ChannelConfig(**{**fields, **config})
        self.cid = channel_id(self.config, env.domain.chain_id)

    def _config_json(self) -> dict[str, Any]:
        return self.config.to_json()

    def voucher(self, ceiling: int, by: LocalSigner | None = None, cid: bytes | None = None) -> Any:
        cid = cid or self.cid
        sig = sign_voucher(by or self.voucher_signer, cid, ceiling, self.env.domain.chain_id)
        return {
            "channelId": "0x" + cid.hex(),
            "maxClaimableAmount": str(ceiling),
            "signature": "0x" + sig.hex(),
        }

    def pay(self, ceiling: int, **kw: Any) -> Payment:
        body = {"type": "voucher", "channelConfig": self._config_json(), **kw}
        body.setdefault("voucher", self.voucher(ceiling))
        return Payment(self.env.requirement, body)

    def deposit(
        self,
        amount: int,
        ceiling: int,
        *,
        valid_after: int = 0,
        valid_before: int | None = None,
        by: LocalSigner | None = None,
        salt: bytes | None = None,
    ) -> Payment:
        salt = salt or os.urandom(32)
        valid_before = valid_before or int(time.time()) + HOUR
        sig = sign_authorization(
            by or self.payer,
            self.env.domain,
            kind="receive",
            from_=self.config.payer,
            to=ERC3009_COLLECTOR_ADDRESS,
            value=amount,
            valid_after=valid_after,
            valid_before=valid_before,
            nonce=deposit_nonce(self.cid, salt),
        )
        auth = {
            "validAfter": str(valid_after),
            "validBefore": str(valid_before),
            "salt": "0x" + salt.hex(),
            "signature": "0x" + sig.to_bytes().hex(),
        }
        return Payment(
            self.env.requirement,
            {
                "type": "deposit",
                "channelConfig": self._config_json(),
                "voucher": self.voucher(ceiling),
                "deposit": {"amount": str(amount), "authorization": {"erc3009Authorization": auth}},
            },
        )

    def refund(self, ceiling: int, amount: int | None = None) -> Payment:
        body: dict[str, Any] = {
            "type": "refund",
            "channelConfig": self._config_json(),
            "voucher": self.voucher(ceiling),
        }
        if amount is not None:
            body["amount"] = str(amount)
        return Payment(self.env.requirement, body)


@pytest.fixture
def scheme(env: Env) -> BatchScheme:
    return env.scheme()


def admit(scheme: BatchScheme, payment: Payment) -> Admitted:
    return scheme.admit(payment, scheme.requirement(PRICE))


def pay(scheme: BatchScheme, payment: Payment) -> Any:
    """Admit and settle, as the gateway does: a failed settlement gives the hold back."""
    held = admit(scheme, payment)
    try:
        return scheme.settle(held)
    except BaseException:
        scheme.release(held)
        raise


def refused(scheme: BatchScheme, payment: Payment, reason: str) -> PaymentInvalid:
    with pytest.raises(PaymentInvalid, match=reason) as caught:
        pay(scheme, payment)
    assert "\n" not in str(caught.value)
    return caught.value


def funded(env: Env, scheme: BatchScheme, deposit: int = 10 * PRICE, **kw: Any) -> Channel:
    """A channel with ``deposit`` escrowed through the scheme and its first call paid."""
    ch = Channel(env, **kw)
    env.mint(ch.config.payer, deposit)
    pay(scheme, ch.deposit(deposit, PRICE))
    return ch


# -- the offer -----------------------------------------------------------------------


def test_the_requirement_carries_what_the_sdk_client_reads(env: Env, scheme: BatchScheme) -> None:
    req = scheme.requirement(PRICE)
    assert (req.scheme, req.network) == ("batch-settlement", f"eip155:{env.domain.chain_id}")
    assert (req.asset, req.amount, req.pay_to) == (
        env.domain.verifying_contract,
        PRICE,
        NODE.address,
    )
    assert req.extra == {
        "receiverAuthorizer": NODE.address,
        "withdrawDelay": 900,
        "name": "CairnUSD",
        "version": "2",
        "assetTransferMethod": "eip3009",
        "minDeposit": str(10 * PRICE),
    }
    with pytest.raises(ValueError, match="withdraw_delay"):
        env.scheme(withdraw_delay=10)


# -- a session: deposit, vouchers, claim ------------------------------------------------


def test_a_deposit_then_vouchers_then_one_claim_moves_exactly_what_was_charged(
    env: Env, scheme: BatchScheme
) -> None:
    token, s = env.chain.token, env.settlement
    ch = Channel(env)
    env.mint(PAYER.address, 5 * PRICE)
    payer_before, node_before = token.balance_of(PAYER.address), token.balance_of(NODE.address)
    first = pay(scheme, ch.deposit(5 * PRICE, PRICE))
    assert first.transaction.startswith("0x") and first.amount == PRICE
    assert first.extra["chargedAmount"] == str(PRICE)
    assert first.extra["channelState"] == {
        "channelId": "0x" + ch.cid.hex(),
        "balance": str(5 * PRICE),
        "totalClaimed": "0",
        "withdrawRequestedAt": 0,
        "refundNonce": "0",
        "chargedCumulativeAmount": str(PRICE),
    }
    for n in range(2, 5):
        done = pay(scheme, ch.pay(n * PRICE))
        assert done.transaction == "" and done.extra["channelState"]["chargedCumulativeAmount"] == (
            str(n * PRICE)
        )
    assert token.balance_of(PAYER.address) == payer_before - 5 * PRICE
    report = scheme.claim_and_settle()
    assert (report.channels, report.claimed, report.settled) == (1, 4 * PRICE, 4 * PRICE)
    assert token.balance_of(NODE.address) == node_before + 4 * PRICE
    assert s.channel(ch.cid).unclaimed == PRICE
    assert scheme.claim_and_settle().transactions == ()  # nothing new: no transaction


def test_a_voucher_over_the_deposit_is_refused_until_a_top_up(
    env: Env, scheme: BatchScheme
) -> None:
    ch = funded(env, scheme, deposit=2 * PRICE)
    pay(scheme, ch.pay(2 * PRICE))
    refused(scheme, ch.pay(3 * PRICE), "voucher over the deposit: 3000 > the channel's balance")
    env.mint(PAYER.address, 2 * PRICE)
    done = pay(scheme, ch.deposit(2 * PRICE, 3 * PRICE))
    assert done.extra["channelState"]["balance"] == str(4 * PRICE)
    pay(scheme, ch.pay(4 * PRICE))


# -- refusals --------------------------------------------------------------------------


def test_a_spent_or_lower_voucher_is_refused_with_the_state_to_resync_from(
    env: Env, scheme: BatchScheme
) -> None:
    ch = funded(env, scheme)
    pay(scheme, ch.pay(2 * PRICE))
    spent = refused(scheme, ch.pay(2 * PRICE), "voucher already spent: 2000 was used")
    lower = refused(scheme, ch.pay(PRICE), "voucher lower than the last: 1000 < 2000")
    short = refused(scheme, ch.pay(2 * PRICE + 1), "does not cover this call: 3000 is due")
    for refusal in (spent, lower, short):
        assert isinstance(refusal, ChannelRefusal) and refusal.code == MISMATCH
    state = spent.extra["channelState"]
    assert state["chargedCumulativeAmount"] == str(2 * PRICE)
    voucher = spent.extra["voucherState"]
    assert voucher["signedMaxClaimable"] == str(2 * PRICE)
    assert (
        recover_hash(
            voucher_digest(ch.cid, 2 * PRICE, env.domain.chain_id),
            bytes.fromhex(voucher["signature"][2:]),
        )
        == PAYER.address
    )
    pay(scheme, ch.pay(3 * PRICE))


def test_a_refusal_amends_the_offer_as_the_sdk_reads_a_corrective_402(
    scheme: BatchScheme,
) -> None:
    offer = Offer("/v1/x", (scheme.requirement(PRICE),), error="voucher already spent: 1")
    refusal = ChannelRefusal("voucher already spent: 1", MISMATCH, {"channelState": {"a": 1}})
    amended = refusal.amend(offer)
    assert amended.error == MISMATCH
    assert amended.accepts[0].extra["channelState"] == {"a": 1}
    assert amended.accepts[0].extra["receiverAuthorizer"] == NODE.address
    assert str(refusal) == "voucher already spent: 1"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("receiver", THIEF.address, "wrong channel receiver"),
        ("receiver_authorizer", THIEF.address, "wrong channel receiverAuthorizer"),
        ("token", BATCH_SETTLEMENT_ADDRESS, "wrong channel token"),
        ("withdraw_delay", 899, "withdrawDelay of 899 s is outside"),
        ("withdraw_delay", 30 * 24 * 3600 + 1, "must be an integer of seconds"),
    ],
)
def test_a_channel_on_other_terms_is_refused(
    env: Env, scheme: BatchScheme, field: str, value: Any, reason: str
) -> None:
    ch = Channel(env, **{field: value}) if field != "withdraw_delay" else Channel(env)
    payment = ch.pay(PRICE)
    if field == "withdraw_delay":
        payment = replace(
            payment,
            payload={
                **payment.payload,
                "channelConfig": {**payment.payload["channelConfig"], "withdrawDelay": value},
            },
        )
    refused(scheme, payment, reason)


def test_a_longer_withdraw_delay_is_welcome(env: Env, scheme: BatchScheme) -> None:
    funded(env, scheme, withdraw_delay=7200)


def test_a_voucher_for_another_chain_or_contract_is_refused(env: Env, scheme: BatchScheme) -> None:
    ch = Channel(env)
    for other in (
        channel_id(ch.config, env.domain.chain_id + 1),
        channel_id(ch.config, env.domain.chain_id, ERC3009_COLLECTOR_ADDRESS),
    ):
        payment = ch.pay(PRICE, voucher=ch.voucher(PRICE, cid=other))
        refused(scheme, payment, "signed for another chain or contract")


def test_vouchers_are_signed_by_the_payer_authorizer_or_by_the_payer(
    env: Env, scheme: BatchScheme
) -> None:
    ch = funded(env, scheme)
    refused(
        scheme,
        ch.pay(2 * PRICE, voucher=ch.voucher(2 * PRICE, by=THIEF)),
        f"voucher signed by {THIEF.address}, not the channel's payerAuthorizer",
    )
    delegate = signer("delegate")
    by_delegate = funded(env, scheme, voucher_signer=delegate, payer_authorizer=delegate.address)
    pay(scheme, by_delegate.pay(2 * PRICE))
    by_payer_instead = by_delegate.voucher(3 * PRICE, by=PAYER)
    refused(
        scheme, by_delegate.pay(3 * PRICE, voucher=by_payer_instead), "not the channel's payerAuth"
    )
    by_payer = funded(env, scheme, payer_authorizer=ZERO)
    pay(scheme, by_payer.pay(2 * PRICE))
    refused(
        scheme,
        by_payer.pay(3 * PRICE, voucher=by_payer.voucher(3 * PRICE, by=THIEF)),
        "not the channel's payer",
    )


def test_a_malformed_or_malleable_voucher_signature_is_refused(
    env: Env, scheme: BatchScheme
) -> None:
    ch = funded(env, scheme)
    good = ch.voucher(2 * PRICE)
    sig = bytes.fromhex(good["signature"][2:])
    long = {**good, "signature": "0x" + (sig * 2).hex()}
    refused(scheme, ch.pay(2 * PRICE, voucher=long), "of 130 bytes")
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    flipped = {**good, "signature": "0x" + twin.hex()}
    refused(scheme, ch.pay(2 * PRICE, voucher=flipped), "does not recover")


def test_a_contract_payer_without_a_payer_authorizer_is_refused(
    env: Env, scheme: BatchScheme
) -> None:
    """An account with code (an EIP-7702 delegation, here code placed on an EOA) is
    checked with ERC-1271 by the contract, which offline verification cannot follow."""
    wallet = signer("delegated-wallet")
    ch = Channel(env, payer=wallet, payer_authorizer=ZERO)
    env.mint(wallet.address, 10 * PRICE)
    place = getattr(env.chain.backend, "set_code", None)
    if place is not None:
        place(wallet.address, b"\x00")
    else:
        env.chain.backend.provider().make_request("anvil_setCode", [wallet.address, "0x00"])
    refused(scheme, ch.deposit(10 * PRICE, PRICE), "is a contract: its channel must name an EOA")


def test_an_unknown_channel_is_learnt_from_the_chain_once(env: Env, scheme: BatchScheme) -> None:
    ch = Channel(env)
    refused(scheme, ch.pay(PRICE), "holds no deposit: pay with a deposit first")
    env.mint(PAYER.address, 3 * PRICE)
    env.settlement.deposit_eip3009(
        env.dev, PAYER, ch.config, 3 * PRICE, env.domain, valid_before=int(time.time()) + HOUR
    )
    pay(scheme, ch.pay(PRICE))
    pay(scheme, ch.pay(2 * PRICE))
    assert scheme.claim_and_settle().claimed == 2 * PRICE


def test_a_second_session_continues_where_the_chain_says(env: Env, scheme: BatchScheme) -> None:
    """The node lost nothing, but a channel claimed before (by a node whose store is
    gone) starts from its onchain totalClaimed, as the SDK client's recovery does."""
    ch = funded(env, scheme)
    pay(scheme, ch.pay(2 * PRICE))
    scheme.claim_and_settle()
    fresh = env.scheme()
    refused(fresh, ch.pay(2 * PRICE), "does not cover this call: 3000 is due")
    pay(fresh, ch.pay(3 * PRICE))


# -- deposits --------------------------------------------------------------------------


def test_deposit_refusals(env: Env, scheme: BatchScheme) -> None:
    ch = Channel(env)
    env.mint(PAYER.address, 10 * PRICE)
    now = int(time.time())
    cases = [
        (ch.deposit(PRICE, PRICE, valid_after=now + HOUR), "not valid until"),
        (ch.deposit(PRICE, PRICE, valid_before=now + 5), "expired or expiring"),
        (ch.deposit(PRICE, PRICE, by=THIEF), f"signed by {THIEF.address}, not the payer"),
        (ch.deposit(10**15, PRICE), "less than the 1000000000000000 to deposit"),
        (ch.deposit(PRICE, 2 * PRICE), "voucher over the deposit: 2000 > the channel's balance"),
        (ch.deposit(PRICE, PRICE - 1), "does not cover this call"),
    ]
    for payment, reason in cases:
        refused(scheme, payment, reason)
    sig = ch.deposit(PRICE, PRICE).payload
    auth = sig["deposit"]["authorization"]["erc3009Authorization"]
    auth = {**auth, "signature": auth["signature"] + "00"}
    body = {
        **sig,
        "deposit": {"amount": str(PRICE), "authorization": {"erc3009Authorization": auth}},
    }
    refused(scheme, replace(ch.deposit(PRICE, PRICE), payload=body), "deposit signature of 66")
    high_s = bytes.fromhex(sig["deposit"]["authorization"]["erc3009Authorization"]["signature"][2:])
    twin = high_s[:32] + (SECP256K1_N - int.from_bytes(high_s[32:64], "big")).to_bytes(32, "big")
    auth = {**auth, "signature": "0x" + (twin + bytes([55 - high_s[64]])).hex()}
    body = {
        **sig,
        "deposit": {"amount": str(PRICE), "authorization": {"erc3009Authorization": auth}},
    }
    refused(scheme, replace(ch.deposit(PRICE, PRICE), payload=body), "does not recover")


def test_a_replayed_deposit_is_refused_in_flight_and_onchain(env: Env, scheme: BatchScheme) -> None:
    ch = Channel(env)
    env.mint(PAYER.address, 10 * PRICE)
    salt = os.urandom(32)
    payment = ch.deposit(5 * PRICE, PRICE, salt=salt)
    held = admit(scheme, payment)
    refused(scheme, payment, "deposit authorization already used \\(replay\\)")
    scheme.settle(held)
    again = ch.deposit(5 * PRICE, 2 * PRICE, salt=salt)  # a new voucher, the same authorization
    refused(scheme, again, "already used onchain \\(replay\\)")
    assert env.settlement.channel(ch.cid).balance == 5 * PRICE


def test_a_failed_deposit_is_refused_and_gives_its_reservation_back(
    env: Env, scheme: BatchScheme
) -> None:
    ch = Channel(env, payer=SPENDER)
    env.mint(SPENDER.address, 5 * PRICE)
    held = admit(scheme, ch.deposit(5 * PRICE, PRICE))
    env.chain.token.transfer(SPENDER, env.dev.address, 5 * PRICE)  # spent meanwhile
    with pytest.raises(PaymentInvalid, match="deposit failed"):
        scheme.settle(held)
    scheme.release(held)
    env.mint(SPENDER.address, 5 * PRICE)
    pay(scheme, ch.deposit(5 * PRICE, PRICE))


# -- concurrency, release, durability -------------------------------------------------


def test_fifty_concurrent_calls_with_one_voucher_are_admitted_once(
    env: Env, scheme: BatchScheme
) -> None:
    ch = funded(env, scheme)
    payment = ch.pay(2 * PRICE)

    def one(_: int) -> str:
        try:
            pay(scheme, payment)
        except PaymentInvalid as exc:
            return str(exc)
        return "paid"

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(one, range(50)))
    assert outcomes.count("paid") == 1, outcomes
    assert all(o.startswith("voucher already spent: ") for o in outcomes if o != "paid")


def test_a_released_call_gives_its_voucher_back(env: Env, scheme: BatchScheme) -> None:
    ch = funded(env, scheme)
    held = admit(scheme, ch.pay(2 * PRICE))
    refused(scheme, ch.pay(2 * PRICE), "voucher already spent")  # in flight
    refused(scheme, ch.pay(2 * PRICE + 1), "does not cover this call: 3000 is due")
    scheme.release(held)
    pay(scheme, ch.pay(2 * PRICE))
    fresh = Channel(env)
    env.mint(PAYER.address, PRICE)
    scheme.release(admit(scheme, fresh.deposit(PRICE, PRICE)))  # forgotten: never paid
    assert scheme.channel(fresh.cid) is None


def test_the_callers_write_runs_inside_settle_and_a_later_failure_charges_once(
    env: Env, scheme: BatchScheme
) -> None:
    """The gateway's receipt is written by ``then``, inside settle; if it fails, the call is
    charged (the voucher was recorded) and the gateway's release gives nothing back twice."""
    ch = funded(env, scheme)
    held = admit(scheme, ch.pay(2 * PRICE))
    ran: list[int] = []
    scheme.settle(held, lambda: ran.append(1))
    assert ran == [1]
    scheme.release(held)  # the work failed after settlement: already charged, not reserved
    record = scheme.channel(ch.cid)
    assert record is not None and record.charged == 2 * PRICE
    refused(scheme, ch.pay(2 * PRICE + 1), "does not cover this call: 3000 is due")
    pay(scheme, ch.pay(3 * PRICE))


def test_vouchers_survive_a_restart(env: Env, tmp_path: Path) -> None:
    store = SqliteVoucherStore(tmp_path / "vouchers.sqlite")
    first = env.scheme(store)
    ch = funded(env, first)
    pay(first, ch.pay(2 * PRICE))
    store.close()
    again = env.scheme(SqliteVoucherStore(tmp_path / "vouchers.sqlite"))
    refused(again, ch.pay(2 * PRICE), "voucher already spent")
    pay(again, ch.pay(3 * PRICE))
    report = again.claim_and_settle()
    assert report.claimed == 3 * PRICE
    again.close()


def test_a_voucher_that_cannot_be_recorded_is_refused(env: Env, tmp_path: Path) -> None:
    store = SqliteVoucherStore(tmp_path / "vouchers.sqlite")
    s = env.scheme(store)
    ch = funded(env, s)
    store.close()
    refused(s, ch.pay(2 * PRICE), "the voucher could not be recorded")


# -- refunds ---------------------------------------------------------------------------


def test_a_cooperative_refund_claims_first_and_returns_the_rest(
    env: Env, scheme: BatchScheme
) -> None:
    token = env.chain.token
    ch = funded(env, scheme, deposit=10 * PRICE)
    pay(scheme, ch.pay(2 * PRICE))
    before = token.balance_of(PAYER.address)
    refused(scheme, ch.refund(PRICE), "refund voucher of 1000 is below the 2000 charged")
    held = admit(scheme, ch.pay(3 * PRICE))
    refused(scheme, ch.refund(2 * PRICE), "channel busy: calls or a refund in flight")
    scheme.release(held)
    refund = admit(scheme, ch.refund(2 * PRICE, amount=3 * PRICE))
    assert refund.amount == 0
    refused(scheme, ch.pay(3 * PRICE), "channel busy: a refund is being settled")
    done = scheme.settle(refund)
    assert done.extra["refundedAmount"] == str(3 * PRICE)
    assert token.balance_of(PAYER.address) == before + 3 * PRICE
    state = env.settlement.channel(ch.cid)
    assert (state.balance, state.total_claimed) == (7 * PRICE, 2 * PRICE)
    assert done.extra["channelState"]["refundNonce"] == "1"
    too_much = refused(scheme, ch.refund(2 * PRICE, amount=6 * PRICE), "nothing to refund")
    assert isinstance(too_much, ChannelRefusal) and too_much.code == REFUND_NO_BALANCE
    scheme.settle(admit(scheme, ch.refund(2 * PRICE)))  # the rest
    assert env.settlement.channel(ch.cid).unclaimed == 0
    refused(scheme, ch.refund(2 * PRICE), "nothing to refund: 0 asked, 0 not yet claimed")
    refused(scheme, Channel(env).refund(0), "has not paid this node: nothing to refund")
    assert scheme.claim_and_settle().settled == 2 * PRICE  # claimed by the refunds


def test_a_refund_that_fails_onchain_is_refused_and_frees_the_channel(
    env: Env, scheme: BatchScheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    ch = funded(env, scheme)

    def reverts(*_args: Any) -> Any:
        raise ContractRevert("BatchSettlement", "claim exceeds balance")

    monkeypatch.setattr(env.settlement, "multicall", reverts)
    refused(
        scheme, ch.refund(PRICE), "refund failed: BatchSettlement: reverted: claim exceeds balance"
    )
    monkeypatch.undo()
    pay(scheme, ch.pay(2 * PRICE))


# -- claiming --------------------------------------------------------------------------


def test_one_bad_channel_does_not_hold_the_others_claims_back(
    env: Env, scheme: BatchScheme
) -> None:
    good = [funded(env, scheme) for _ in range(3)]
    bad = funded(env, scheme)
    rotten = scheme._channels[bad.cid]
    rotten.record = replace(rotten.record, signature=b"\x01" * 65)
    report = scheme.claim_and_settle()
    assert (report.channels, report.claimed) == (3, 3 * PRICE)
    assert all(env.settlement.channel(c.cid).total_claimed == PRICE for c in good)
    assert env.settlement.channel(bad.cid).total_claimed == 0


def test_a_withdrawn_balance_caps_the_claim(env: Env, scheme: BatchScheme) -> None:
    ch = funded(env, scheme, deposit=4 * PRICE)
    pay(scheme, ch.pay(2 * PRICE))
    mark = env.chain.snapshot()  # the clock moves: give it back (Anvil is shared)
    try:
        env.settlement.initiate_withdraw(PAYER, ch.config, 3 * PRICE)
        env.chain.increase_time(ch.config.withdraw_delay + 1)
        env.chain.mine()
        env.settlement.finalize_withdraw(PAYER, ch.config)  # the node slept through the delay
        assert scheme.claim_and_settle().claimed == PRICE
        record = scheme.channel(ch.cid)
        assert record is not None and record.balance == PRICE
    finally:
        env.chain.revert(mark)


def test_gas_per_request_of_a_thousand_requests_claimed_at_once(
    env: Env, scheme: BatchScheme
) -> None:
    """1000 calls on 100 channels (10 each): one claimWithSignature and one settle."""
    channels = [funded(env, scheme) for _ in range(100)]
    for n in range(2, 11):
        for ch in channels:
            pay(scheme, ch.pay(n * PRICE))
    node_before = env.chain.token.balance_of(NODE.address)
    report = scheme.claim_and_settle()
    assert (report.channels, report.claimed, report.settled) == (100, 1000 * PRICE, 1000 * PRICE)
    assert len(report.transactions) == 2
    assert env.chain.token.balance_of(NODE.address) == node_before + 1000 * PRICE
    per_request = report.gas_used / 1000
    print(
        f"\nclaim + settle of 1000 requests on 100 channels: {report.gas_used} gas, "
        f"{per_request:.0f} gas/request"
    )
    assert per_request < 5_000


def test_voucher_verification_takes_microseconds(env: Env, scheme: BatchScheme) -> None:
    """The request path: parse, channel terms, EIP-712 digest, ECDSA recovery, reservation."""
    ch = funded(env, scheme)
    payment = ch.pay(2 * PRICE)
    offered = scheme.requirement(PRICE)
    times = []
    for _ in range(3000):
        start = time.perf_counter()
        held = scheme.admit(payment, offered)
        times.append(time.perf_counter() - start)
        scheme.release(held)
    digest = voucher_digest(ch.cid, 2 * PRICE, env.domain.chain_id)
    sig = bytes.fromhex(payment.payload["voucher"]["signature"][2:])
    recover = []
    for _ in range(3000):
        start = time.perf_counter()
        recover_hash(digest, sig)
        recover.append(time.perf_counter() - start)
    median, ecdsa = statistics.median(times) * 1e6, statistics.median(recover) * 1e6
    print(f"\nvoucher admission: median {median:.0f} µs (ECDSA recovery alone {ecdsa:.0f} µs)")
    assert median < 2_000


# -- parsing ---------------------------------------------------------------------------


def _valid(env: Env) -> dict[str, Any]:
    return dict(Channel(env).deposit(PRICE, PRICE).payload)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("type",), "claim", "is not deposit, voucher or refund"),
        (("channelConfig",), "x", "payload.channelConfig must be an object"),
        (("channelConfig", "payer"), "0x12", "channelConfig.payer is not an address"),
        (("channelConfig", "salt"), "0x12", "channelConfig.salt must be 32 bytes"),
        (("channelConfig", "salt"), "12" * 32, "channelConfig.salt must be 0x-prefixed hex"),
        (("channelConfig", "withdrawDelay"), True, "withdrawDelay must be an integer"),
        (("voucher", "maxClaimableAmount"), str(1 << 128), "below 2\\*\\*128"),
        (("voucher", "maxClaimableAmount"), "-1", "must be a decimal integer"),
        (("voucher", "signature"), 7, "voucher.signature must be 0x-prefixed hex"),
        (("deposit", "amount"), "0", "deposit.amount must be more than 0"),
        (("deposit", "authorization"), {"permit2Authorization": {}}, "Permit2 deposits"),
        (
            ("deposit", "authorization", "erc3009Authorization", "validBefore"),
            "soon",
            "validBefore must be a decimal integer",
        ),
    ],
)
def test_a_malformed_payload_is_refused_naming_the_field(
    env: Env, path: tuple[str, ...], value: Any, reason: str
) -> None:
    body = _valid(env)
    target = body
    for key in path[:-1]:
        target[key] = dict(target[key])
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(PaymentInvalid, match=reason):
        parse_payload(body)


def test_a_refund_amount_must_be_positive(env: Env) -> None:
    body = dict(Channel(env).refund(PRICE).payload)
    assert parse_payload(body).refund_amount is None
    assert parse_payload({**body, "amount": "5"}).refund_amount == 5
    with pytest.raises(PaymentInvalid, match="refund must be more than 0"):
        parse_payload({**body, "amount": "0"})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=80),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["type", "channelConfig", "voucher", "deposit", "amount", "x"]),
        _json,
        max_size=6,
    )
)
def test_any_json_is_parsed_or_refused_with_payment_invalid(body: dict[str, Any]) -> None:
    try:
        parse_payload(body)
    except PaymentInvalid as exc:
        assert "\n" not in str(exc)


def test_the_package_exports_what_it_says() -> None:
    import cairn.payments

    for name in cairn.payments.__all__:
        assert getattr(cairn.payments, name) is not None, name
    assert cairn.payments.BatchScheme is BatchScheme
