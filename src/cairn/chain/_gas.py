"""Gas estimation for the embedded chain in three EVM runs instead of about thirteen.

py-evm estimates gas (``eth_estimateGas``) by binary search: it runs the
transaction at the intrinsic gas, at the block gas limit, then at the midpoints
of that 30-million-wide range until it is narrower than 21 000 — about thirteen
full executions, in Python, for every transaction cairn sends. On a node serving
on ``embedded://``, the receipt anchor it sends every few seconds spent more time
being estimated than being mined.

:func:`estimate_gas` runs it at the intrinsic gas (a plain transfer stops there)
and at the block gas limit, as py-evm does; the second run says how much gas the
execution consumed before refunds. A limit of that plus 1/63 of it (what a
``CALL`` may withhold from its callee, EIP-150) plus a stipend of 2 300 is then
run once more, and returned if it succeeds. Otherwise — deep call chains can
need more than one 63/64 allowance — py-evm's own search answers. Either way the
answer is a limit the transaction was seen to succeed with, as py-evm's is; it is
at most about 1.6 % above the least such limit where py-evm's may be 21 000 above.
A transaction that fails even at the block limit raises the same error as
before (py-evm's search raises it from the same run), so revert reasons still
reach the caller.
"""

from __future__ import annotations

from typing import Any, cast

from eth.abc import SignedTransactionAPI, StateAPI
from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.vm.spoof import SpoofTransaction

__all__ = ["estimate_gas"]

CALL_STIPEND = 2300  # the gas a value-carrying CALL adds for its callee (EIP-150 era)


def _run(state: StateAPI, transaction: SignedTransactionAPI, gas: int) -> Any:
    """The computation of ``transaction`` with a limit of ``gas``, state left unchanged."""
    spoof = cast(SignedTransactionAPI, SpoofTransaction(transaction, gas=gas, gas_price=0))
    snapshot = state.snapshot()
    try:
        return state.apply_transaction(spoof)
    finally:
        state.revert(snapshot)


def estimate_gas(state: StateAPI, transaction: SignedTransactionAPI) -> int:
    """A gas limit ``transaction`` succeeds with (py-evm's ``gas_estimator`` signature)."""
    intrinsic = transaction.intrinsic_gas
    if not _run(state, transaction, intrinsic).is_error:
        return intrinsic
    at_limit = _run(state, transaction, state.gas_limit)
    if at_limit.is_error:
        raise at_limit.error
    used = intrinsic + int(at_limit.get_gas_used())  # before refunds: what must be available
    candidate = min(state.gas_limit, used + -(-used // 63) + CALL_STIPEND)
    if not _run(state, transaction, candidate).is_error:
        return candidate
    return int(binary_gas_search_intrinsic_tolerance(state, transaction))
