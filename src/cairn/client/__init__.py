"""The client: call a gateway, check every receipt, hand validators what a node retained.

Public surface:

- :class:`GatewayClient` — embed, infer, models, receipt, proof, batch, retained
  I/O, zk proof, :meth:`~GatewayClient.verify` (offline) and
  :meth:`~GatewayClient.verify_online` (anchored onchain)
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
from cairn.client.gateway import Answer, GatewayClient, retained_access_message, verify_answer

__all__ = [
    "Answer",
    "Bounds",
    "GatewayClient",
    "GatewayNodeSource",
    "retained_access_message",
    "verify_answer",
]
