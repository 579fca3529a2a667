"""The paying side of x402: answer a node's ``402`` within a limit the user set.

Spec: x402 v2 HTTP transport (a ``402`` carries ``PAYMENT-REQUIRED``; the client
retries once with ``PAYMENT-SIGNATURE``) and scheme ``exact`` on EVM (an EIP-3009
``TransferWithAuthorization`` signed for the token's EIP-712 domain, named by the
offer's ``extra``). :class:`Payer` is what :class:`cairn.client.GatewayClient`
and :class:`cairn.client.FailoverClient` use when given one.

A node's offer is the node's word, so the payer decides, not the node:

- only the chain and token the user pinned (``network``, ``asset``), never
  what the offer names instead;
- only to the payee the caller expects (the node's staked address), so a node
  cannot route a client's money to a third party;
- never more in total than ``max_spend`` atomic units (reserved when signed,
  before the request is sent: the limit holds even if an answer never comes);
- each authorization valid for at most :data:`MAX_VALID_S`, with a fresh
  random nonce, so a captured header is worth one call for minutes at most.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cairn.chain.token import TokenDomain, new_nonce, sign_authorization
from cairn.errors import PaymentInvalid
from cairn.identity import Signer, checksum_address
from cairn.payments.exact import Authorization
from cairn.payments.x402 import PAYMENT_SIGNATURE, Offer, Payment, Requirement, chain_id_of

__all__ = ["MAX_VALID_S", "Payer"]

#: the longest an authorization we sign stays valid
MAX_VALID_S = 300


class Payer:
    """Pays offers with ``signer``'s tokens, up to ``max_spend`` in total; thread-safe."""

    def __init__(
        self,
        signer: Signer,
        max_spend: int,
        *,
        network: str,
        asset: str,
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
        self._lock = threading.Lock()

    @property
    def left(self) -> int:
        return self.max_spend - self.spent

    def choose(self, offer: Offer, payee: str | None = None) -> Requirement:
        """The requirement we would pay, or :class:`PaymentInvalid` saying why none."""
        why = "the offer lists no way to pay"
        for req in offer.accepts:
            if req.scheme != "exact":
                why = f"scheme {req.scheme!r} is not one this client pays"
            elif req.network != self.network:
                why = f"the offer asks for payment on {req.network}, not {self.network}"
            elif req.asset.lower() != self.asset.lower():
                why = f"the offer asks for token {req.asset}, not {self.asset}"
            elif payee is not None and req.pay_to.lower() != payee.lower():
                why = f"the offer pays {req.pay_to}, not the node asked ({payee})"
            else:
                return req
        raise PaymentInvalid(f"cannot pay: {why}")

    def pay(self, offer: Offer, payee: str | None = None) -> tuple[str, str]:
        """The header (name, value) that pays ``offer``; reserves its amount."""
        req = self.choose(offer, payee)
        with self._lock:
            if req.amount > self.left:
                raise PaymentInvalid(
                    f"spending limit: a call costs {req.amount}, {self.left} of "
                    f"{self.max_spend} is left (raise --max-spend)"
                )
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
        return PAYMENT_SIGNATURE, Payment(req, auth.to_payload(), resource=offer.resource).header()
