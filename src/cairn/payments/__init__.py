"""Payments: x402 v2 over HTTP, so that agents pay nodes per request.

Spec: x402 v2 (``PAYMENT-REQUIRED``, ``PAYMENT-SIGNATURE``, ``PAYMENT-RESPONSE``).
:mod:`cairn.payments.x402` is the wire (both sides); :class:`Cashier` is the
node's side, holding the schemes it accepts (:class:`ExactScheme`: one EIP-3009
transfer per call; :class:`BatchScheme`: one deposit, then a cumulative voucher per
call, claimed in batches by :meth:`BatchScheme.claim_and_settle`), built for a
network's payment token by :func:`open_cashier`;
:class:`Payer` is the client's side, paying within a limit the user set. The port
every scheme implements is :class:`cairn.payments.base.Scheme`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn._lazy import lazy_attributes

if TYPE_CHECKING:
    from cairn.payments.base import Admitted, Scheme
    from cairn.payments.batch import BatchScheme, ChannelRefusal, ClaimReport
    from cairn.payments.cashier import Cashier, open_cashier
    from cairn.payments.exact import ExactScheme
    from cairn.payments.payer import Payer
    from cairn.payments.x402 import Offer, Payment, Requirement, Settled

__all__ = [
    "Admitted",
    "BatchScheme",
    "Cashier",
    "ChannelRefusal",
    "ClaimReport",
    "ExactScheme",
    "Offer",
    "Payer",
    "Payment",
    "Requirement",
    "Scheme",
    "Settled",
    "open_cashier",
]

# PEP 562: the wire codec is stdlib only; the schemes pull in the chain layer (web3)
_LAZY = {
    "Admitted": "cairn.payments.base",
    "Scheme": "cairn.payments.base",
    "BatchScheme": "cairn.payments.batch",
    "ChannelRefusal": "cairn.payments.batch",
    "ClaimReport": "cairn.payments.batch",
    "Cashier": "cairn.payments.cashier",
    "open_cashier": "cairn.payments.cashier",
    "ExactScheme": "cairn.payments.exact",
    "Payer": "cairn.payments.payer",
    "Offer": "cairn.payments.x402",
    "Payment": "cairn.payments.x402",
    "Requirement": "cairn.payments.x402",
    "Settled": "cairn.payments.x402",
}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
