"""x402 scheme ``batch-settlement`` on EVM, the node's side: one deposit, a voucher a call.

Spec: x402 ``specs/schemes/batch-settlement/scheme_batch_settlement_evm.md``
("Channel Lifecycle", "Verification Rules", "Claim & Settlement Strategy"), as
the official SDK's server and facilitator apply it (x402 2.25,
``batch_settlement/server``, ``facilitator``), so that the SDK's client pays a
cairn node unmodified. The contracts are :mod:`cairn.chain.batch`'s, at the
canonical addresses; the node is its own facilitator and the channel's
``receiverAuthorizer``; the receiver is ``pay_to``.

How the client's calls map onto the :class:`~cairn.payments.base.Scheme` port:

- ``deposit`` (its first call on a channel, or a top-up): :meth:`BatchScheme.admit`
  checks the channel, the voucher and the EIP-3009 authorization locally and
  reads the chain once (authorization unused, payer funded, channel balance);
  :meth:`~BatchScheme.settle` submits the deposit through the collector (the
  node pays the gas) and records the voucher, before the answer leaves.
- ``voucher`` (every later call): checked in microseconds with no chain call —
  channel terms, signature (ECDSA by ``payerAuthorizer``, or by the payer when
  that is zero), a ceiling above every voucher seen, covering what was charged
  plus this call and within the known balance; settled by a synchronous write
  of the new charged total and voucher (:mod:`cairn.payments._vouchers`).
- ``refund``: the node claims what it charged and returns the rest (or the
  amount asked) in one ``multicall`` transaction.

A voucher is admitted once: calls carrying it race for one reservation under
the channel's lock, and the losers are told ``voucher already spent``. A refusal
because the payer's view of its channel is behind the node's is a
:class:`ChannelRefusal` with the SDK's ``cumulative_amount_mismatch`` code and
the channel state to resync from (the SDK client's "corrective 402").
:meth:`BatchScheme.claim_and_settle` claims every channel with new vouchers
(:data:`CLAIMS_PER_TX` to a ``claimWithSignature`` transaction, signed by the
receiverAuthorizer) and sweeps the receiver's earnings in one ``settle``.

Not covered: Permit2 and ERC-6492 deposits, and vouchers a contract signs
(ERC-1271), which could not be checked offline; a channel must name an EOA
``payerAuthorizer`` for a contract payer. A refund request is answered like a
call (the gateway has no payment-only path): the model runs, for a price of 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cairn.chain.batch import (
    ERC3009_COLLECTOR_ADDRESS,
    MAX_WITHDRAW_DELAY,
    MIN_WITHDRAW_DELAY,
    ZERO_ADDRESS,
    BatchSettlement,
    ChannelBalance,
    ChannelConfig,
    VoucherClaim,
    channel_id,
    deposit_nonce,
    erc3009_collector_data,
    sign_claim_batch,
    voucher_digest,
)
from cairn.chain.token import Token, TokenDomain, authorization_digest
from cairn.errors import CairnError, ChainError, ContractRevert, PaymentInvalid
from cairn.identity import Signer, checksum_address, recover_hash
from cairn.payments._vouchers import (
    ChannelPayload,
    ChannelRecord,
    Voucher,
    VoucherStore,
    nothing_to_wait,
    parse_payload,
)
from cairn.payments.base import Admitted
from cairn.payments.exact import SETTLE_MARGIN_S
from cairn.payments.x402 import Offer, Payment, Requirement, Settled

if TYPE_CHECKING:
    from cairn.chain import Chain, Tx

__all__ = [
    "CLAIMS_PER_TX",
    "DEPOSIT_CALLS",
    "MISMATCH",
    "SCHEME",
    "BatchScheme",
    "ChannelRefusal",
    "ClaimReport",
]

log = logging.getLogger(__name__)

SCHEME = "batch-settlement"
#: channels per claimWithSignature transaction (the SDK's batch; the contract takes 128)
CLAIMS_PER_TX = 100
#: ``extra.minDeposit`` is this many calls' worth (the SDK server's default multiplier)
DEPOSIT_CALLS = 10
# wire codes the SDK client acts on (x402 batch_settlement/errors.py: "part of the wire contract")
MISMATCH = "invalid_batch_settlement_evm_cumulative_amount_mismatch"
REFUND_NO_BALANCE = "invalid_batch_settlement_evm_refund_no_balance"


class ChannelRefusal(PaymentInvalid):
    """A refusal the client can act on: the scheme's wire ``code`` goes in the 402's
    ``error`` (the message stays the one-line reason), and ``extra`` (the channel's
    state, for a payer whose view is behind) joins the offered requirement."""

    def __init__(self, reason: str, code: str, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.extra = dict(extra or {})

    def amend(self, offer: Offer) -> Offer:
        """``offer`` as the SDK client reads a corrective 402."""
        accepts = tuple(
            replace(r, extra={**r.extra, **self.extra}) if r.scheme == SCHEME else r
            for r in offer.accepts
        )
        return replace(offer, error=self.code, accepts=accepts)


@dataclass(frozen=True)
class ClaimReport:
    """What one :meth:`BatchScheme.claim_and_settle` did onchain."""

    channels: int  # channels claimed
    claimed: int  # token units newly claimed
    settled: int  # token units paid to the receiver
    gas_used: int  # all its transactions
    transactions: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Hold:
    """An admitted payload (``Admitted.state``)."""

    payload: ChannelPayload
    channel_id: bytes
    price: int


@dataclass(eq=False)
class _Channel:
    """A channel in memory: its durable record and what is in flight against it."""

    record: ChannelRecord
    durable: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    reserved: int = 0  # prices of calls admitted and not yet settled
    inflight: set[int] = field(default_factory=set)  # their vouchers' ceilings
    refunding: bool = False


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _unrecorded(exc: Exception) -> PaymentInvalid:
    return PaymentInvalid(f"the voucher could not be recorded: {exc}")


class BatchScheme:
    """``batch-settlement`` for ``chain``'s token, paying ``pay_to``; ``signer`` is the
    receiverAuthorizer and submits (and pays for) every transaction. ``chain_lock``
    serializes chain calls with the node's others; it is never taken while a
    channel's lock is held."""

    name = SCHEME

    def __init__(
        self,
        chain: Chain,
        settlement: BatchSettlement,
        domain: TokenDomain,
        pay_to: str,
        signer: Signer,
        chain_lock: threading.Lock,
        store: VoucherStore,
        *,
        withdraw_delay: int = MIN_WITHDRAW_DELAY,
        max_timeout_s: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not MIN_WITHDRAW_DELAY <= withdraw_delay <= MAX_WITHDRAW_DELAY:
            raise ValueError(f"withdraw_delay must be {MIN_WITHDRAW_DELAY}..{MAX_WITHDRAW_DELAY}")
        self.chain, self.settlement, self.domain = chain, settlement, domain
        self.token: Token = chain.token
        self.pay_to = checksum_address(pay_to)
        self.signer, self.chain_lock, self.store = signer, chain_lock, store
        self.withdraw_delay, self.max_timeout_s, self.clock = withdraw_delay, max_timeout_s, clock
        self.chain_id = domain.chain_id
        self.network = f"eip155:{domain.chain_id}"
        self._lock = threading.Lock()  # guards the two dicts and the set below
        self._channels = {cid: _Channel(r, True) for cid, r in store.load().items()}
        self._ids: dict[ChannelConfig, bytes] = {}
        self._deposits: set[bytes] = set()  # EIP-3009 nonces of deposits in flight
        self._claiming = threading.Lock()

    def requirement(self, price: int) -> Requirement:
        return Requirement(
            scheme=self.name,
            network=self.network,
            asset=self.domain.verifying_contract,
            amount=price,
            pay_to=self.pay_to,
            max_timeout_s=self.max_timeout_s,
            extra={
                "receiverAuthorizer": self.signer.address,
                "withdrawDelay": self.withdraw_delay,
                "name": self.domain.name,
                "version": self.domain.version,
                "assetTransferMethod": "eip3009",
                "minDeposit": str(price * DEPOSIT_CALLS),
            },
        )

    def channel(self, channel_id: bytes) -> ChannelRecord | None:
        """What this node holds of a channel (charged total, best voucher, balance)."""
        ch = self._channels.get(channel_id)
        return ch.record if ch is not None else None

    # -- admission ------------------------------------------------------------------

    def admit(self, payment: Payment, offered: Requirement) -> Admitted:
        p = parse_payload(payment.payload)
        cid = self._check_channel(p.config, p.voucher)
        self._check_signature(p.config, p.voucher)
        price = 0 if p.kind == "refund" else offered.amount
        if p.kind == "voucher":
            ch = self._channels.get(cid) or self._learn(cid, p.config)
            with ch.lock:
                self._reserve(ch, p.voucher, price, ch.record.balance)
        elif p.kind == "deposit":
            self._admit_deposit(p, cid, price)
        else:
            self._admit_refund(p, cid)
        return Admitted(self.name, p.config.payer, price, offered, _Hold(p, cid, price))

    def _check_channel(self, config: ChannelConfig, voucher: Voucher) -> bytes:
        """The channel's id, once its terms are ours; :class:`PaymentInvalid` otherwise."""
        wrong = [
            (what, theirs, ours)
            for what, theirs, ours in (
                ("receiver", config.receiver, self.pay_to),
                ("receiverAuthorizer", config.receiver_authorizer, self.signer.address),
                ("token", config.token, self.domain.verifying_contract),
            )
            if theirs != ours
        ]
        if wrong:
            what, theirs, ours = wrong[0]
            raise PaymentInvalid(f"wrong channel {what}: {theirs}, not {ours}")
        if not self.withdraw_delay <= config.withdraw_delay <= MAX_WITHDRAW_DELAY:
            raise PaymentInvalid(
                f"channel withdrawDelay of {config.withdraw_delay} s is outside "
                f"{self.withdraw_delay}..{MAX_WITHDRAW_DELAY} s"
            )
        cid = self._ids.get(config)
        if cid is None:
            cid = channel_id(config, self.chain_id, self.settlement.address)
            with self._lock:
                if len(self._ids) > 65536:
                    self._ids.clear()
                self._ids[config] = cid
        if voucher.channel_id != cid:
            raise PaymentInvalid(
                f"voucher.channelId is not channelConfig's id on {self.network} at "
                f"{self.settlement.address} (signed for another chain or contract)"
            )
        return cid

    def _check_signature(self, config: ChannelConfig, voucher: Voucher) -> None:
        """ECDSA by payerAuthorizer, or by the payer when that is zero (as the contract)."""
        expected, role = config.payer_authorizer, "payerAuthorizer"
        if expected == ZERO_ADDRESS:
            expected, role = config.payer, "payer"
        if len(voucher.signature) != 65:
            raise PaymentInvalid(
                f"voucher.signature of {len(voucher.signature)} bytes: vouchers are verified "
                "offline, so they are 65-byte ECDSA (a contract payer names a payerAuthorizer)"
            )
        digest = voucher_digest(
            voucher.channel_id, voucher.max_claimable, self.chain_id, self.settlement.address
        )
        try:
            signer = recover_hash(digest, voucher.signature)
        except CairnError as exc:
            raise PaymentInvalid(f"voucher signature does not recover: {exc}") from None
        if signer != expected:
            raise PaymentInvalid(f"voucher signed by {signer}, not the channel's {role} {expected}")

    def _reserve(self, ch: _Channel, voucher: Voucher, price: int, balance: int) -> None:
        """Hold ``voucher`` for one call of ``price``; called under ``ch.lock``."""
        rec, ceiling = ch.record, voucher.max_claimable
        if ch.refunding:
            raise PaymentInvalid("channel busy: a refund is being settled; retry after it")
        need = rec.charged + ch.reserved + price
        if (ceiling == rec.voucher_max and rec.signature) or ceiling in ch.inflight:
            raise self._behind(ch, f"voucher already spent: {ceiling} was used; {need} is due now")
        top = max(rec.voucher_max, *ch.inflight) if ch.inflight else rec.voucher_max
        if ceiling < top:
            raise self._behind(ch, f"voucher lower than the last: {ceiling} < {top}")
        if ceiling < need:
            raise self._behind(
                ch,
                f"voucher of {ceiling} does not cover this call: {need} is due "
                f"({rec.charged} charged, {ch.reserved} in flight, {price} now)",
            )
        if ceiling > balance:
            raise PaymentInvalid(
                f"voucher over the deposit: {ceiling} > the channel's balance of {balance} "
                "(deposit more)"
            )
        ch.reserved += price
        ch.inflight.add(ceiling)

    def _behind(self, ch: _Channel, reason: str) -> ChannelRefusal:
        """A refusal with what the SDK client resyncs from (``channelState``, ``voucherState``)."""
        rec = ch.record
        extra: dict[str, Any] = {"channelState": self._state(rec)}
        if rec.signature:
            extra["voucherState"] = {
                "signedMaxClaimable": str(rec.voucher_max),
                "signature": _hex(rec.signature),
            }
        return ChannelRefusal(reason, MISMATCH, extra)

    @staticmethod
    def _state(rec: ChannelRecord) -> dict[str, Any]:
        return {
            "channelId": _hex(rec.channel_id),
            "balance": str(rec.balance),
            "totalClaimed": str(rec.claimed),
            "withdrawRequestedAt": rec.withdraw_requested_at,
            "refundNonce": str(rec.refund_nonce),
            "chargedCumulativeAmount": str(rec.charged),
        }

    def _learn(self, cid: bytes, config: ChannelConfig) -> _Channel:
        """A channel this node has not seen, from the chain (once); refused if unfunded."""
        rec = self._read(cid, config)
        if rec.balance == 0:
            raise PaymentInvalid(f"channel {_hex(cid)} holds no deposit: pay with a deposit first")
        with self._lock:
            return self._channels.setdefault(cid, _Channel(rec, False))

    def _read(self, cid: bytes, config: ChannelConfig) -> ChannelRecord:
        with self.chain_lock:
            state = self.settlement.channel(cid)
            pending = self.settlement.pending_withdrawal(cid)
            nonce = self.settlement.refund_nonce(cid)
            contract = config.payer_authorizer == ZERO_ADDRESS and self.chain.code_at(config.payer)
        if contract:
            raise PaymentInvalid(
                f"payer {config.payer} is a contract: its channel must name an EOA "
                "payerAuthorizer, since vouchers are verified offline"
            )
        claimed = state.total_claimed
        return ChannelRecord(
            cid, config, state.balance, claimed, claimed, b"", claimed, nonce, pending.initiated_at
        )

    def _admit_deposit(self, p: ChannelPayload, cid: bytes, price: int) -> _Channel:
        assert p.deposit is not None
        d = p.deposit
        now = int(self.clock())
        if d.valid_after > now:
            raise PaymentInvalid(
                f"deposit authorization not valid until {d.valid_after} (now {now})"
            )
        if d.valid_before <= now + SETTLE_MARGIN_S:
            raise PaymentInvalid(
                f"deposit authorization expired or expiring "
                f"(validBefore {d.valid_before}, now {now})"
            )
        nonce = deposit_nonce(cid, d.salt)
        self._check_deposit_signature(p, nonce)
        with self._lock:
            if nonce in self._deposits:
                raise PaymentInvalid("deposit authorization already used (replay)")
            self._deposits.add(nonce)
        try:
            return self._reserve_deposit(p, cid, price, nonce)
        except BaseException:
            with self._lock:
                self._deposits.discard(nonce)
            raise

    def _check_deposit_signature(self, p: ChannelPayload, nonce: bytes) -> None:
        assert p.deposit is not None
        d = p.deposit
        if len(d.signature) != 65:
            raise PaymentInvalid(
                f"deposit signature of {len(d.signature)} bytes: the token takes 65-byte "
                "EOA signatures (EIP-1271 wallets are not accepted)"
            )
        digest = authorization_digest(
            self.domain,
            kind="receive",
            from_=p.config.payer,
            to=ERC3009_COLLECTOR_ADDRESS,
            value=d.amount,
            valid_after=d.valid_after,
            valid_before=d.valid_before,
            nonce=nonce,
        )
        try:
            signer = recover_hash(digest, d.signature)
        except CairnError as exc:
            raise PaymentInvalid(f"deposit signature does not recover: {exc}") from None
        if signer != p.config.payer:
            raise PaymentInvalid(
                f"deposit authorization signed by {signer}, not the payer {p.config.payer} "
                "(or for another token, chain or collector)"
            )

    def _reserve_deposit(self, p: ChannelPayload, cid: bytes, price: int, nonce: bytes) -> _Channel:
        assert p.deposit is not None
        amount, payer = p.deposit.amount, p.config.payer
        with self.chain_lock:
            used = self.token.authorization_state(payer, nonce)
            holds = self.token.balance_of(payer)
        if used:
            raise PaymentInvalid("deposit authorization already used onchain (replay)")
        if holds < amount:
            raise PaymentInvalid(f"payer {payer} holds {holds}, less than the {amount} to deposit")
        fresh = self._read(cid, p.config)
        with self._lock:
            ch = self._channels.setdefault(cid, _Channel(fresh, False))
        with ch.lock:  # the record's balance moves when the deposit is mined (_commit)
            self._reserve(ch, p.voucher, price, fresh.balance + amount)
        return ch

    def _admit_refund(self, p: ChannelPayload, cid: bytes) -> _Channel:
        ch = self._channels.get(cid)
        if ch is None or not ch.durable:
            raise PaymentInvalid(f"channel {_hex(cid)} has not paid this node: nothing to refund")
        with ch.lock:
            if p.voucher.max_claimable < ch.record.charged:
                raise self._behind(
                    ch,
                    f"refund voucher of {p.voucher.max_claimable} is below the "
                    f"{ch.record.charged} charged",
                )
            if ch.reserved or ch.refunding:
                raise PaymentInvalid("channel busy: calls or a refund in flight; retry after them")
            ch.refunding = True
        return ch

    # -- settlement -----------------------------------------------------------------

    def settle(self, admitted: Admitted, then: Callable[[], object] | None = None) -> Settled:
        hold: _Hold = admitted.state
        kind = hold.payload.kind
        if kind == "refund":
            settled, durable = self._refund(hold), nothing_to_wait
        elif kind == "voucher":
            settled, durable = self._commit(hold, "", None)
        else:
            d = hold.payload.deposit
            assert d is not None
            data = erc3009_collector_data(d.valid_after, d.valid_before, d.salt, d.signature)
            try:
                with self.chain_lock:  # no claim reads the channel before its record is new
                    tx = self.settlement.deposit(
                        self.signer, hold.payload.config, d.amount, ERC3009_COLLECTOR_ADDRESS, data
                    )
                    state = self.settlement.channel(hold.channel_id)
                    settled, durable = self._commit(hold, tx.hash, state)
            except ChainError as exc:
                raise PaymentInvalid(f"deposit failed: {exc}") from None
        if then is not None:  # the caller's write (a receipt) shares the voucher's commit
            then()
        try:
            durable()
        except Exception as exc:  # sqlite3, a full disk: refuse rather than serve unrecorded
            raise _unrecorded(exc) from None
        return settled

    def _commit(
        self, hold: _Hold, tx: str, state: ChannelBalance | None
    ) -> tuple[Settled, Callable[[], None]]:
        """Record the call's charge and its voucher (staged in the store: durable once the
        function returned has returned); the ``PAYMENT-RESPONSE``."""
        ch, voucher = self._channels[hold.channel_id], hold.payload.voucher
        with ch.lock:
            rec = ch.record
            higher = voucher.max_claimable > rec.voucher_max
            new = replace(
                rec,
                charged=rec.charged + hold.price,
                voucher_max=voucher.max_claimable if higher else rec.voucher_max,
                signature=voucher.signature if higher else rec.signature,
                balance=rec.balance if state is None else state.balance,
                claimed=rec.claimed if state is None else state.total_claimed,
            )
            try:  # staged under the lock: a channel's records reach the store in order
                durable = self.store.stage([new])
            except Exception as exc:  # a closed store: refused, and nothing charged
                raise _unrecorded(exc) from None
            ch.record, ch.durable = new, True
            ch.reserved -= hold.price
            ch.inflight.discard(voucher.max_claimable)
        if hold.payload.deposit is not None:
            self._forget_deposit(hold)
        extra = {"chargedAmount": str(hold.price), "channelState": self._state(new)}
        settled = Settled(True, tx, self.network, new.config.payer, hold.price, extra=extra)
        return settled, durable

    def _store(self, *records: ChannelRecord) -> None:
        try:
            self.store.put(records)
        except Exception as exc:  # sqlite3, a full disk: refuse rather than serve unrecorded
            raise _unrecorded(exc) from None

    def release(self, admitted: Admitted) -> None:
        hold: _Hold = admitted.state
        ch = self._channels.get(hold.channel_id)
        if ch is not None:
            with ch.lock:
                if hold.payload.kind == "refund":
                    ch.refunding = False
                elif hold.payload.voucher.max_claimable in ch.inflight:  # not yet settled
                    ch.reserved -= hold.price
                    ch.inflight.discard(hold.payload.voucher.max_claimable)
                idle = not (ch.durable or ch.reserved or ch.refunding)
            if idle:
                with self._lock:
                    self._channels.pop(hold.channel_id, None)
        if hold.payload.deposit is not None:
            self._forget_deposit(hold)

    def _forget_deposit(self, hold: _Hold) -> None:
        assert hold.payload.deposit is not None
        with self._lock:
            self._deposits.discard(deposit_nonce(hold.channel_id, hold.payload.deposit.salt))

    def _refund(self, hold: _Hold) -> Settled:
        """Claim what was charged and return the rest (or the amount asked), in one
        transaction; the channel's refunding flag is cleared by this or :meth:`release`."""
        ch, cid = self._channels[hold.channel_id], hold.channel_id
        try:
            with self.chain_lock:
                state = self.settlement.channel(cid)
                rec = ch.record  # no call can change it while the refund is in flight
                target = min(rec.charged, state.balance)
                unclaimed = state.balance - max(target, state.total_claimed)
                amount = hold.payload.refund_amount or unclaimed
                if unclaimed <= 0 or amount > unclaimed:
                    raise ChannelRefusal(
                        f"nothing to refund: {amount} asked, {max(unclaimed, 0)} not yet claimed",
                        REFUND_NO_BALANCE,
                    )
                calls: list[tuple[str, tuple[Any, ...]]] = []
                if target > state.total_claimed:
                    row = VoucherClaim(rec.config, rec.voucher_max, rec.signature, target)
                    calls.append(("claim", ([row.as_tuple()],)))
                calls.append(("refund", (rec.config.as_tuple(), amount)))
                tx = self.settlement.multicall(self.signer, calls)
                after = self.settlement.channel(cid)
                nonce = self.settlement.refund_nonce(cid)
                with ch.lock:
                    new = replace(
                        ch.record,
                        balance=after.balance,
                        claimed=after.total_claimed,
                        refund_nonce=nonce,
                    )
                    self._store(new)
                    ch.record, ch.refunding = new, False
        except ChainError as exc:
            raise PaymentInvalid(f"refund failed: {exc}") from None
        extra = {"channelState": self._state(new), "refundedAmount": str(tx.value)}
        return Settled(True, tx.hash, self.network, new.config.payer, 0, extra=extra)

    # -- claiming -------------------------------------------------------------------

    def claim_and_settle(self) -> ClaimReport:
        """Claim every channel charged beyond what is claimed onchain, then pay the
        receiver everything claimed for it; safe to call at any time (calls run one at a time)."""
        with self._claiming:
            return self._claim_and_settle()

    def close(self) -> None:
        """Close the voucher store (after a last :meth:`claim_and_settle`, as the node does)."""
        self.store.close()

    def _claim_and_settle(self) -> ClaimReport:
        with self._lock:
            due = [ch for ch in self._channels.values() if ch.record.charged > ch.record.claimed]
        claims: list[tuple[Tx[Any], int]] = []
        claimed = settled = 0
        swept: Tx[int] | None = None
        with self.chain_lock:
            rows = [
                (ch, row)
                for ch in due
                if (row := self._claim_row(ch, self.settlement.channel(ch.record.channel_id)))
            ]
            if 0 < len(rows) <= CLAIMS_PER_TX:  # the common case: one transaction in all
                try:
                    both = self.settlement.claim_and_settle(
                        self.signer, [c for _, c in rows], self.pay_to, self.token.address
                    )
                except ContractRevert as exc:
                    log.info("one-transaction claim refused (%s): claiming channel by channel", exc)
                else:
                    self._claimed(rows)
                    claims.append((both, len(rows)))
                    claimed, settled = both.value
                    rows = []
            for at in range(0, len(rows), CLAIMS_PER_TX):
                for tx, n in self._claim(rows[at : at + CLAIMS_PER_TX]):
                    claims.append((tx, n))
                    claimed += tx.value
            if self.settlement.receiver_totals(self.pay_to, self.token.address).unsettled:
                swept = self.settlement.settle(self.signer, self.pay_to, self.token.address)
                settled += swept.value
            self._store(*(ch.record for ch in due))
        txs = [tx for tx, _ in claims] + ([swept] if swept is not None else [])
        return ClaimReport(
            channels=sum(n for _, n in claims),
            claimed=claimed,
            settled=settled,
            gas_used=sum(tx.gas_used for tx in txs),
            transactions=tuple(tx.hash for tx in txs),
        )

    def _claimed(self, rows: Sequence[tuple[_Channel, VoucherClaim]]) -> None:
        for ch, claim in rows:
            with ch.lock:
                ch.record = replace(ch.record, claimed=claim.total_claimed)

    def _claim_row(self, ch: _Channel, state: ChannelBalance) -> VoucherClaim | None:
        """The channel's claim row, after taking the chain's balance and totalClaimed
        (a finalized withdrawal caps what can still be claimed); ``None``: nothing new."""
        with ch.lock:
            ch.record = replace(ch.record, balance=state.balance, claimed=state.total_claimed)
            rec = ch.record
        target = min(rec.charged, state.balance)
        if target <= state.total_claimed:
            return None
        return VoucherClaim(rec.config, rec.voucher_max, rec.signature, target)

    def _claim(self, rows: Sequence[tuple[_Channel, VoucherClaim]]) -> list[tuple[Tx[int], int]]:
        """One claimWithSignature for ``rows``; a batch that would revert is split, so
        that one bad channel cannot hold the others' claims back."""
        claims = [c for _, c in rows]
        signature = sign_claim_batch(self.signer, claims, self.chain_id, self.settlement.address)
        try:
            tx = self.settlement.claim_with_signature(self.signer, claims, signature)
        except ContractRevert as exc:
            if len(rows) == 1:
                log.warning("cannot claim channel %s: %s", _hex(rows[0][0].record.channel_id), exc)
                return []
            half = len(rows) // 2
            return self._claim(rows[:half]) + self._claim(rows[half:])
        self._claimed(rows)
        return [(tx, len(rows))]
