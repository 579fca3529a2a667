"""The paying side of x402: answer a node's ``402`` within a limit the user set.

Spec: x402 v2 HTTP transport (a ``402`` carries ``PAYMENT-REQUIRED``; the client
retries once with ``PAYMENT-SIGNATURE``), scheme ``exact`` on EVM (an EIP-3009
``TransferWithAuthorization`` signed for the token's EIP-712 domain, named by the
offer's ``extra``) and scheme ``batch-settlement`` (a deposit into a channel,
then one cumulative EIP-712 voucher per call: ``cairn.chain.batch``).
:class:`Payer` is what :class:`cairn.client.GatewayClient` and
:class:`cairn.client.FailoverClient` use when given one.

One-offs pay ``exact``; repeated calls open a channel: the first call to a payee
pays ``exact``, and from the second on, if the node offers ``batch-settlement``,
the payer deposits enough for :data:`DEPOSIT_CALLS` calls (within the limit) and
pays each call with a voucher, verified by the node in microseconds with no
transaction. A voucher is cumulative: the node can claim at most the highest one
signed, so a call that fails after its voucher was sent costs at most its price.

A node's offer is the node's word, so the payer decides, not the node:

- only the chain and token the user pinned (``network``, ``asset``), never
  what the offer names instead;
- only to the payee the caller expects (the node's staked address), so a node
  cannot route a client's money to a third party;
- never more in total than ``max_spend`` atomic units (reserved when signed,
  before the request is sent: the limit holds even if an answer never comes);
- each authorization valid for at most :data:`MAX_VALID_S`, with a fresh
  random nonce, so a captured header is worth one call for minutes at most;
- a channel's withdraw delay at most :data:`MAX_WITHDRAW_DELAY_S`, so that
  what is left in it comes back within a day.

A deposit counts as spent when it is signed (what the channel still holds is
the payer's to withdraw: ``cairn channel withdraw``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cairn.chain.batch import (
    ChannelConfig,
    channel_id,
    sign_deposit,
    sign_voucher,
)
from cairn.chain.token import TokenDomain, new_nonce, sign_authorization
from cairn.errors import PaymentInvalid
from cairn.identity import Signer, checksum_address
from cairn.payments.exact import Authorization
from cairn.payments.x402 import PAYMENT_SIGNATURE, Offer, Payment, Requirement, chain_id_of

__all__ = ["DEPOSIT_CALLS", "MAX_VALID_S", "MAX_WITHDRAW_DELAY_S", "Payer"]

#: the longest an authorization we sign stays valid
MAX_VALID_S = 300
#: how many calls one channel deposit pays for (less if the limit leaves less)
DEPOSIT_CALLS = 50
#: the longest withdraw delay a channel of ours may have
MAX_WITHDRAW_DELAY_S = 24 * 3600


@dataclass
class _Channel:
    """Our channel to one payee: its config, what we put in, the highest voucher signed."""

    config: ChannelConfig
    channel_id: bytes
    deposited: int
    signed: int

    def __post_init__(self) -> None:
        self.config_json = self.config.to_json()  # sent with every voucher
        self.id_hex = "0x" + self.channel_id.hex()


class Payer:
    """Pays offers with ``signer``'s tokens, up to ``max_spend`` in total; thread-safe."""

    def __init__(
        self,
        signer: Signer,
        max_spend: int,
        *,
        network: str,
        asset: str,
        batch: bool = True,
        deposit_calls: int = DEPOSIT_CALLS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_spend < 0:
            raise ValueError("max_spend must be 0 or more")
        self.signer = signer
        self.max_spend = max_spend
        self.network = network
        self.asset = checksum_address(asset)
        self.clock = clock
        self.spent = 0
        self.batch, self.deposit_calls = batch, deposit_calls
        self._lock = threading.Lock()
        self._paid_once: set[str] = set()  # payees paid before: the next call opens a channel
        self._channels: dict[str, _Channel] = {}  # payee -> our channel to it

    @property
    def left(self) -> int:
        return self.max_spend - self.spent

    def choose(self, offer: Offer, payee: str | None = None) -> Requirement:
        """The requirement we would pay, or :class:`PaymentInvalid` saying why none:
        ``batch-settlement`` for a payee paid before (repeated calls), else ``exact``."""
        offered = {r.scheme: r for r in offer.accepts}
        repeated = payee is not None and payee.lower() in self._paid_once
        if (
            self.batch
            and "batch-settlement" in offered
            and (repeated or (payee or "").lower() in self._channels)
        ):
            try:
                return self._acceptable(offered["batch-settlement"], payee)
            except PaymentInvalid:
                pass  # the channel's terms are not ours: pay this call exactly
        exact = [r for r in offer.accepts if r.scheme == "exact"]
        schemes = ", ".join(sorted(offered)) or "none"
        why = f"no scheme this client pays is offered (offered: {schemes})"
        for req in exact:
            if req.network != self.network:
                why = f"the offer asks for payment on {req.network}, not {self.network}"
            elif req.asset.lower() != self.asset.lower():
                why = f"the offer asks for token {req.asset}, not {self.asset}"
            elif payee is not None and req.pay_to.lower() != payee.lower():
                why = f"the offer pays {req.pay_to}, not {payee}, where this node is paid"
            else:
                return req
        raise PaymentInvalid(f"cannot pay: {why}")

    def _over_limit(self, price: int) -> PaymentInvalid:
        return PaymentInvalid(
            f"spending limit: a call costs {price}, {self.left} of {self.max_spend} is left "
            "(raise --max-spend)"
        )

    def in_session(self, offer: Offer) -> bool:
        """Whether we hold a channel to this offer's batch-settlement payee: then a call
        carries its voucher at once, without waiting for a 402."""
        with self._lock:
            return self.batch and any(
                r.scheme == "batch-settlement" and r.pay_to.lower() in self._channels
                for r in offer.accepts
            )

    def _acceptable(self, req: Requirement, payee: str | None) -> Requirement:
        if req.network != self.network or req.asset.lower() != self.asset.lower():
            raise PaymentInvalid("cannot pay: the channel is on another chain or token")
        if payee is not None and req.pay_to.lower() != payee.lower():
            raise PaymentInvalid(f"cannot pay: the channel pays {req.pay_to}, not {payee}")
        delay = req.extra.get("withdrawDelay")
        if not isinstance(delay, int) or not 0 < delay <= MAX_WITHDRAW_DELAY_S:
            raise PaymentInvalid(f"cannot pay: a withdraw delay of {delay!r} s is too long")
        return req

    def pay(self, offer: Offer, payee: str | None = None) -> tuple[str, str]:
        """The header (name, value) that pays ``offer``; reserves its amount."""
        req = self.choose(offer, payee)
        if req.scheme == "batch-settlement":
            return PAYMENT_SIGNATURE, self._voucher(req, offer.resource)
        with self._lock:
            if req.amount > self.left:
                raise self._over_limit(req.amount)
            self.spent += req.amount
        name, version = str(req.extra.get("name", "")), str(req.extra.get("version", ""))
        domain = TokenDomain(name, chain_id_of(req.network), self.asset, version)
        now = int(self.clock())
        valid_before = now + min(max(req.max_timeout_s, 30), MAX_VALID_S)
        nonce = new_nonce()
        signature = sign_authorization(
            self.signer,
            domain,
            from_=self.signer.address,
            to=req.pay_to,
            value=req.amount,
            valid_after=0,
            valid_before=valid_before,
            nonce=nonce,
        )
        auth = Authorization(
            self.signer.address,
            checksum_address(req.pay_to),
            req.amount,
            0,
            valid_before,
            nonce,
            signature.to_bytes(),
        )
        with self._lock:
            self._paid_once.add(req.pay_to.lower())
        return PAYMENT_SIGNATURE, Payment(req, auth.to_payload(), resource=offer.resource).header()

    def _voucher(self, req: Requirement, resource: str) -> str:
        """A voucher for one more call on our channel to ``req.pay_to``; the channel is
        opened (or topped up) with a deposit first when it holds too little."""
        chain_id = chain_id_of(req.network)
        payee = req.pay_to.lower()
        with self._lock:
            ch = self._channels.get(payee)
            ceiling = (ch.signed if ch else 0) + req.amount
            deposit = 0
            if ch is None or ceiling > ch.deposited:
                deposit = min(self.deposit_calls * req.amount, self.left)
                if deposit < req.amount:
                    raise self._over_limit(req.amount)
                self.spent += deposit
            if ch is None:
                config = ChannelConfig(
                    payer=self.signer.address,
                    receiver=req.pay_to,
                    receiver_authorizer=str(req.extra.get("receiverAuthorizer", "")),
                    token=self.asset,
                    withdraw_delay=int(req.extra["withdrawDelay"]),
                    salt=os.urandom(32),
                )
                ch = _Channel(config, channel_id(config, chain_id), 0, 0)
                self._channels[payee] = ch
            ch.signed = ceiling
            ch.deposited += deposit
            cid = ch.channel_id
            payload: dict[str, Any] = {
                "type": "deposit" if deposit else "voucher",
                "channelConfig": ch.config_json,
                "voucher": {
                    "channelId": ch.id_hex,
                    "maxClaimableAmount": str(ceiling),
                    "signature": "0x" + sign_voucher(self.signer, cid, ceiling, chain_id).hex(),
                },
            }
        if deposit:
            payload["deposit"] = self._deposit(req, cid, deposit)
        return Payment(req, payload, resource=resource).header()

    def _deposit(self, req: Requirement, cid: bytes, amount: int) -> dict[str, Any]:
        """The EIP-3009 ``ReceiveWithAuthorization`` to the deposit collector."""
        name, version = str(req.extra.get("name", "")), str(req.extra.get("version", ""))
        domain = TokenDomain(name, chain_id_of(req.network), self.asset, version)
        valid_before = int(self.clock()) + MAX_VALID_S
        salt, signature = sign_deposit(self.signer, cid, amount, domain, valid_before=valid_before)
        auth = {
            "validAfter": "0",
            "validBefore": str(valid_before),
            "salt": "0x" + salt.hex(),
            "signature": "0x" + signature.hex(),
        }
        return {"amount": str(amount), "authorization": {"erc3009Authorization": auth}}
