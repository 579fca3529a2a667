"""The client: call a gateway, or a whole network; check every receipt; hand validators
what a node retained.

Public surface:

- :class:`GatewayClient` — one gateway by URL: embed, infer, models, receipt, proof,
  batch, retained I/O, zk proof, :meth:`~GatewayClient.verify` (offline) and
  :meth:`~GatewayClient.verify_online` (anchored onchain)
- :class:`FailoverClient` — a pinned network: finds the nodes serving a model onchain
  (:func:`discover`, ranked by :func:`rank`), verifies every receipt and fails over;
  :class:`Served` (an answer, its receipt, the node), :class:`Attempt`,
  :class:`Failure`, :class:`Stats`
- :class:`AgentCard` — a node's ERC-8004 registration file (``/.well-known/agent-card.json``)
- :class:`Answer` — one answer with its request, receipt and ``Cairn-Access`` secret;
  :func:`verify_answer`; :func:`retained_access_message` (what a validator signs to
  read a node's retained I/O)
- :class:`GatewayNodeSource` — the HTTP backend of the validator's
  :class:`~cairn.verification.NodeSource` port

How a call becomes bytes and hashes is not defined here but in
:mod:`cairn.receipts.wire`, which the gateway signs with.
"""

from cairn.client._http import Bounds
from cairn.client._node_source import GatewayNodeSource
from cairn.client.card import AgentCard, CardModel, Registration
from cairn.client.discovery import Candidate, Discovery, Skipped, discover, rank
from cairn.client.failover import Attempt, FailoverClient, Failure, Served, Stats
from cairn.client.gateway import Answer, GatewayClient, retained_access_message, verify_answer

__all__ = [
    "AgentCard",
    "Answer",
    "Attempt",
    "Bounds",
    "Candidate",
    "CardModel",
    "Discovery",
    "FailoverClient",
    "Failure",
    "GatewayClient",
    "GatewayNodeSource",
    "Registration",
    "Served",
    "Skipped",
    "Stats",
    "discover",
    "rank",
    "retained_access_message",
    "verify_answer",
]
