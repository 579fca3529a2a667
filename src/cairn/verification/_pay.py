"""A validator is paid from demand: it attests the batches it audited, then claims its share.

Every payment to a node lands in the node's revenue splitter, which sends
``ValidatorPool.SHARE`` of it to the pool (:mod:`cairn.chain.pool`). The pool
pays each epoch's pot to the validators that attested audits in that epoch, pro
rata. This module is the validator's side of it:

- :func:`attest_audited`: once every sampled leaf of a batch has a verdict
  (passed, disputed, challenged), the validator records the audit onchain with
  ``attest(node, batchId)``. The pool checks the stake, that the batch is
  anchored, one record per validator per batch and the cap of attesters.
- :func:`claim_earned`: every tick, it claims each ended epoch in which it
  attested and has not yet claimed.

What the pool cannot check is that the re-execution really happened. The
attestation is the validator's word, backed by its stake only where a wrong
audit can be proven: docs/threat-model.md says what that leaves open.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Protocol

from cairn.chain import Chain
from cairn.errors import ContractRevert, NotDeployed
from cairn.identity import Signer
from cairn.verification._state import ValidatorState

__all__ = ["attest_audited", "claim_earned"]

log = logging.getLogger(__name__)
_DONE = ("passed", "disputed", "challenged")


class _Validator(Protocol):
    account: Signer
    address: str
    state: ValidatorState

    def _chain(self) -> AbstractContextManager[Chain]: ...


def attest_audited(v: _Validator, node: str, batch_id: int) -> int | None:
    """Attest the batch if every sampled leaf of it has a verdict; the epoch, or None."""
    key = f"attested:{node.lower()}:{batch_id}"
    if v.state.get(key, 0):
        return None
    rows = [r for r in v.state.audits() if r.node == node and r.batch_id == batch_id]
    if not rows or any(r.status not in _DONE for r in rows):
        return None
    try:
        with v._chain() as c:
            epoch = c.pool.attest(v.account, node, batch_id).value
    except NotDeployed:
        return None  # a network without a pool pays from slashing alone
    except ContractRevert as exc:  # full, already attested, unstaked: not paid, not retried
        log.info("attest %s batch %d refused: %s", node, batch_id, exc.reason)
        v.state.put(key, 1)
        return None
    v.state.put(key, 1)
    v.state.put(f"attested-epoch:{epoch}", 1)
    return int(epoch)


def claim_earned(v: _Validator) -> int:
    """Claim every ended epoch this validator attested in; the total paid."""
    try:
        with v._chain() as c:
            pool = c.pool
            current = pool.current_epoch()
    except NotDeployed:
        return 0
    paid = 0
    first = v.state.get("pool-first-unclaimed", current)
    for epoch in range(first, current):
        if not v.state.get(f"attested-epoch:{epoch}", 0):
            continue
        try:
            with v._chain() as c:
                if c.pool.claimed(epoch, v.address) or not c.pool.audits(epoch, v.address):
                    continue
                paid += c.pool.claim(v.account, epoch).value
        except ContractRevert as exc:
            log.info("claim of epoch %d refused: %s", epoch, exc.reason)
    v.state.put("pool-first-unclaimed", current)
    return paid
