"""The payment port: a scheme admits a payment before the work and settles it after.

Spec: x402 v2 (``specs/x402-specification-v2.md``, "Scheme" and "Facilitator"
sections): a scheme's server side *verifies* a payload against the requirement
it offered and later *settles* it. Cairn splits verification into
:meth:`Scheme.admit` (every check that can be made without spending, plus a
reservation so that the same authorization or voucher cannot be admitted twice
while the first is in flight) and :meth:`Scheme.settle`; a request whose work
fails gives its reservation back with :meth:`Scheme.release`. Nothing is served
unless admission passed, and an answer leaves only after settlement (``exact``)
or after the voucher was durably recorded (``batch-settlement``). The caller's
own durable write for the call (the node's receipt) is handed to
:meth:`Scheme.settle` as ``then``, so that a scheme whose record goes to the same
journal (:mod:`cairn._journal`) commits both at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cairn.payments.x402 import Payment, Requirement, Settled

__all__ = ["Admitted", "Scheme"]


@dataclass(frozen=True)
class Admitted:
    """A payment that passed every check and holds its reservation until settled."""

    scheme: str
    payer: str
    amount: int
    requirement: Requirement
    state: Any = field(default=None, compare=False)  # the scheme's own (authorization, voucher)


class Scheme(Protocol):
    """One x402 scheme, server side, for one token on one chain, paying one payee."""

    @property
    def name(self) -> str: ...

    def requirement(self, price: int) -> Requirement:
        """The ``accepts`` entry for a call of ``price`` atomic units."""
        ...

    def admit(self, payment: Payment, offered: Requirement) -> Admitted:
        """Check ``payment`` against ``offered`` and reserve it, or raise
        :class:`~cairn.errors.PaymentInvalid` with the one-line reason."""
        ...

    def settle(self, admitted: Admitted, then: Callable[[], object] | None = None) -> Settled:
        """Collect the payment, then run ``then``; return once the payment's record is
        durable. Raises :class:`~cairn.errors.PaymentInvalid` if it cannot collect."""
        ...

    def release(self, admitted: Admitted) -> None:
        """Give back a reservation whose work was not delivered."""
        ...
