"""Decentralized verification: sampled re-execution, disputes that slash, reputation, zk.

Validators re-execute a sample of every node's anchored receipts — drawn from a
block hash after the anchor, so the node cannot know it in advance — under the
model's declared comparison policy, and challenge a wrong or withheld answer
in the Disputes contract, where a committee of staked validators votes with
commit-reveal and the loser pays (DESIGN.md, "Verification"; docs/verification.md).

Public surface:

- :func:`plan_for_anchor` (the one sampling rule for an anchor), :func:`plan_batch`,
  :class:`AuditPlan`, :func:`detection_probability`,
  :func:`requests_to_detect`, :func:`simulate_detection` — the sample
- :class:`NodeSource` (the port; its HTTP backend is :class:`cairn.client.GatewayNodeSource`),
  :class:`MemoryNodeSource`,
  :class:`RetainedIO` — what a validator reads from a node
- :class:`Reexecutor`, :class:`Finding`, :func:`evidence_for` — one audit
- :class:`Validator` (one :meth:`~Validator.tick`; the service loop and its settings are
  :mod:`cairn.node.validator`), :class:`ValidatorState`, :class:`TickReport`
  — the service
- :class:`Reputation`, :func:`reputation`, :func:`rank_nodes` — the score clients use
- zk tier (needs the ``zk`` extra, so imported by module, not re-exported here):
  :mod:`cairn.verification.zk` (artifacts, setup, :func:`~cairn.verification.zk.verify_proof`),
  :mod:`~cairn.verification.zk.prover` (:class:`ZkProver`, the node's ``ProvingQueue``),
  :mod:`~cairn.verification.zk.verifier` (:class:`ZkVerifier`, for ``Reexecutor(zk=...)``)
"""

from cairn.verification._state import ValidatorState
from cairn.verification.base import MemoryNodeSource, NodeSource, RetainedIO
from cairn.verification.reexecute import Finding, Reexecutor, evidence_for
from cairn.verification.reputation import Reputation, rank_nodes, reputation
from cairn.verification.sampling import (
    AuditPlan,
    audit_seed,
    detection_probability,
    is_sampled,
    plan_batch,
    plan_for_anchor,
    requests_to_detect,
    simulate_detection,
)
from cairn.verification.validator import TickReport, Validator

__all__ = [
    "AuditPlan",
    "Finding",
    "MemoryNodeSource",
    "NodeSource",
    "Reexecutor",
    "Reputation",
    "RetainedIO",
    "TickReport",
    "Validator",
    "ValidatorState",
    "audit_seed",
    "detection_probability",
    "evidence_for",
    "is_sampled",
    "plan_batch",
    "plan_for_anchor",
    "rank_nodes",
    "reputation",
    "requests_to_detect",
    "simulate_detection",
]
