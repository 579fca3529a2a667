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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
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
    from cairn._journal import Journal
    from cairn.chain import Chain

__all__ = ["Cashier", "open_cashier"]


@dataclass(frozen=True)
class Collected:
    """What one :meth:`Cashier.collect` moved: vouchers claimed, revenue released."""

    claimed: int = 0  # batch-settlement: newly claimed from channels
    settled: int = 0  # ... and paid to the node's revenue address
    to_node: int = 0  # the splitter's release: the node's part
    to_pool: int = 0  # ... and the validators' (ValidatorPool.SHARE)
    gas_used: int = 0


class Cashier:
    """The schemes a node accepts; see the module docstring.

    ``revenue`` is where every scheme is paid (``payTo``): the node's revenue
    splitter when the network has a validator pool, else the node's address;
    ``release`` moves what the splitter holds (the node's part to the node, the
    validators' to the pool), ``None`` without a splitter.
    """

    def __init__(
        self,
        schemes: Sequence[Scheme],
        description: str = "",
        *,
        release: Callable[[], tuple[int, int, int]] | None = None,
    ) -> None:
        if not schemes:
            raise ValueError("a cashier needs at least one scheme")
        self.schemes = {s.name: s for s in schemes}
        self.description = description
        self._release = release

    def collect(self) -> Collected:
        """Claim batch-settlement vouchers, then release the splitter's balance: what the
        node's background collector runs every ``claim_interval_s`` and at shutdown."""
        from cairn.payments.batch import BatchScheme

        claimed = settled = to_node = to_pool = gas = 0
        batch = self.schemes.get("batch-settlement")
        if isinstance(batch, BatchScheme):
            report = batch.claim_and_settle()
            claimed, settled, gas = report.claimed, report.settled, report.gas_used
        if self._release is not None:
            to_node, to_pool, used = self._release()
            gas += used
        return Collected(claimed, settled, to_node, to_pool, gas)

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

    def settle(self, admitted: Admitted, then: Callable[[], object] | None = None) -> Settled:
        """Collect the payment, then run ``then`` (the call's receipt, stored durably),
        sharing a commit with the payment's record when both use one journal."""
        return self.schemes[admitted.scheme].settle(admitted, then)

    def release(self, admitted: Admitted) -> None:
        self.schemes[admitted.scheme].release(admitted)

    @staticmethod
    def response_header(request_headers: Mapping[str, str]) -> str:
        """``PAYMENT-RESPONSE``, or v1's name when the client paid with ``X-PAYMENT``."""
        v2 = request_headers.get(PAYMENT_SIGNATURE) is not None
        return PAYMENT_RESPONSE if v2 else V1_PAYMENT_RESPONSE


def open_cashier(
    chain: Chain,
    signer: Signer,
    chain_lock: threading.Lock,
    schemes: Sequence[str] = ("exact",),
    *,
    vouchers: Path | None = None,
    journal: Journal | None = None,
) -> Cashier:
    """The cashier of a node paid in ``chain``'s payment token, to ``signer``'s address
    (which also submits settlements and pays their gas, and authorizes batch-settlement
    claims). ``vouchers`` is where batch-settlement keeps its vouchers (SQLite; ``None``:
    in memory, lost with the process), written through ``journal`` when given (the
    receipt store's: a voucher and its call's receipt then share one commit)."""
    from cairn.payments.exact import ExactScheme

    try:
        token = chain.token
    except NotDeployed as exc:
        raise ConfigError(f"priced models need the network's payment token: {exc}") from None
    with chain_lock:
        domain = token.domain()
        pay_to, release = _revenue(chain, signer, chain_lock)
    built: list[Scheme] = []
    for name in schemes:
        if name == "exact":
            built.append(ExactScheme(token, domain, pay_to, signer, chain_lock))
        elif name == "batch-settlement":
            from cairn.chain.batch import canonical
            from cairn.payments._vouchers import MemoryVoucherStore, SqliteVoucherStore
            from cairn.payments.batch import BatchScheme

            try:
                with chain_lock:
                    settlement = canonical(chain)
            except NotDeployed as exc:
                raise ConfigError(f"payment scheme batch-settlement: {exc}") from None
            store = SqliteVoucherStore(vouchers, journal) if vouchers else MemoryVoucherStore()
            built.append(BatchScheme(chain, settlement, domain, pay_to, signer, chain_lock, store))
        else:
            raise ConfigError(f"payment scheme {name!r} is not available on this node yet")
    description = "cairn inference: one call, one signed receipt"
    return Cashier(built, description, release=release)


def _revenue(
    chain: Chain, signer: Signer, chain_lock: threading.Lock
) -> tuple[str, Callable[[], tuple[int, int, int]] | None]:
    """Where the node is paid, and how its revenue is released: its splitter, created
    here if need be, when the network has a validator pool (``ValidatorPool.SHARE`` of
    every payment funds validators: :mod:`cairn.chain.pool`), else its own address."""
    try:
        pool = chain.pool
    except NotDeployed:
        return signer.address, None
    node = signer.address
    if not chain.code_at(pool.splitter_of(node)):
        pool.create_splitter(signer, node)
    splitter = pool.splitter(node)
    token = chain.token

    def release() -> tuple[int, int, int]:
        with chain_lock:
            if not token.balance_of(splitter.address):
                return 0, 0, 0
            tx = splitter.release(signer)
        return tx.value.to_node, tx.value.to_pool, tx.gas_used

    return splitter.address, release
