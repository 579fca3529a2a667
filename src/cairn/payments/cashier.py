"""The gateway's till: prices a call, reads the x402 header, admits, settles.

Spec: x402 v2 HTTP transport (``specs/transports-v2/http.md``). One
:class:`Cashier` per node holds the schemes it accepts (:mod:`cairn.payments.exact`,
:mod:`cairn.payments.batch`), all for one token on one chain, paid to the node.
The gateway asks it three things per priced call: :meth:`Cashier.admit` before the
work (no header, or a header that fails any check: :class:`~cairn.errors.PaymentInvalid`,
which the gateway answers ``402`` with :meth:`Cashier.offer` and the reason),
:meth:`Cashier.settle` after it (the answer leaves only if this succeeds) and
:meth:`Cashier.release` if the work failed. Free calls (price 0) never touch it.

Which requirement a payment is for is decided here once: the client's
``accepted`` block must name exactly the terms we offer for this call (scheme,
chain, token, amount, payee), and the scheme then checks that what was *signed*
says the same, since ``accepted`` is only the client's word.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cairn.errors import ConfigError, NotDeployed, PaymentInvalid
from cairn.identity import Signer
from cairn.payments.base import Admitted, Scheme
from cairn.payments.x402 import (
    PAYMENT_RESPONSE,
    PAYMENT_SIGNATURE,
    V1_PAYMENT,
    V1_PAYMENT_RESPONSE,
    Offer,
    Payment,
    Requirement,
    Settled,
)

if TYPE_CHECKING:
    from cairn.chain import Chain

__all__ = ["Cashier", "open_cashier"]


class Cashier:
    """The schemes a node accepts; see the module docstring."""

    def __init__(self, schemes: Sequence[Scheme], description: str = "") -> None:
        if not schemes:
            raise ValueError("a cashier needs at least one scheme")
        self.schemes = {s.name: s for s in schemes}
        self.description = description

    def requirements(self, price: int) -> tuple[Requirement, ...]:
        return tuple(s.requirement(price) for s in self.schemes.values())

    def offer(
        self, price: int, resource: str, error: str = "", extensions: Mapping[str, object] = {}
    ) -> Offer:
        return Offer(
            resource=resource,
            accepts=self.requirements(price),
            error=error,
            description=self.description,
            extensions=dict(extensions),
        )

    def admit(self, headers: Mapping[str, str], price: int) -> Admitted | None:
        """The admitted payment for a call of ``price``, ``None`` when it is free; raises
        :class:`PaymentInvalid` when the payment is missing or wrong."""
        if price == 0:
            return None
        value, name = headers.get(PAYMENT_SIGNATURE), PAYMENT_SIGNATURE
        if value is None:
            value, name = headers.get(V1_PAYMENT), V1_PAYMENT
        if value is None:
            raise PaymentInvalid(f"payment required: send {PAYMENT_SIGNATURE} (x402 v2)")
        payment = Payment.from_header(value, name)
        offered = self._offered(payment, price)
        admitted = self.schemes[offered.scheme].admit(payment, offered)
        return admitted

    def _offered(self, payment: Payment, price: int) -> Requirement:
        scheme = payment.accepted.scheme
        if scheme not in self.schemes:
            raise PaymentInvalid(
                f"scheme {scheme[:32]!r} not accepted here; accepted: {', '.join(self.schemes)}"
            )
        ours = self.schemes[scheme].requirement(price)
        if payment.matches(ours):
            return ours
        theirs = payment.accepted
        if theirs.network != ours.network:
            raise PaymentInvalid(
                f"wrong chain: payment is for {theirs.network[:32]}, not {ours.network}"
            )
        if theirs.asset.lower() != ours.asset.lower():
            raise PaymentInvalid(
                f"wrong token: payment is in {theirs.asset[:42]}, not {ours.asset}"
            )
        if theirs.pay_to.lower() != ours.pay_to.lower():
            raise PaymentInvalid(
                f"wrong recipient: payment is to {theirs.pay_to[:42]}, not {ours.pay_to}"
            )
        raise PaymentInvalid(f"payment of {theirs.amount} for a call that costs {ours.amount}")

    def settle(self, admitted: Admitted) -> Settled:
        return self.schemes[admitted.scheme].settle(admitted)

    def release(self, admitted: Admitted) -> None:
        self.schemes[admitted.scheme].release(admitted)

    @staticmethod
    def response_header(request_headers: Mapping[str, str]) -> str:
        """``PAYMENT-RESPONSE``, or v1's name when the client paid with ``X-PAYMENT``."""
        v2 = request_headers.get(PAYMENT_SIGNATURE) is not None
        return PAYMENT_RESPONSE if v2 else V1_PAYMENT_RESPONSE


def open_cashier(
    chain: Chain, signer: Signer, chain_lock: threading.Lock, schemes: Sequence[str] = ("exact",)
) -> Cashier:
    """The cashier of a node paid in ``chain``'s payment token, to ``signer``'s address
    (which also submits settlements and pays their gas)."""
    from cairn.payments.exact import ExactScheme

    try:
        token = chain.token
    except NotDeployed as exc:
        raise ConfigError(f"priced models need the network's payment token: {exc}") from None
    with chain_lock:
        domain = token.domain()
    built: list[Scheme] = []
    for name in schemes:
        if name == "exact":
            built.append(ExactScheme(token, domain, signer.address, signer, chain_lock))
        else:
            raise ConfigError(f"payment scheme {name!r} is not available on this node yet")
    return Cashier(built, description="cairn inference: one call, one signed receipt")
