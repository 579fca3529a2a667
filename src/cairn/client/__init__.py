"""The client: call a gateway, check every receipt, hand validators what a node retained.

Public surface:

- :class:`GatewayClient` — embed, infer, models, receipt, proof, batch, retained
  I/O, zk proof, :meth:`~GatewayClient.verify` (offline) and
  :meth:`~GatewayClient.verify_online` (anchored onchain)
- :class:`Answer` — one answer with its request and receipt; :func:`verify_answer`
- :class:`GatewayNodeSource` — the HTTP backend of the validator's
  :class:`~cairn.verification.NodeSource` port

How a call becomes bytes and hashes is not defined here but in
:mod:`cairn.receipts.wire`, which the gateway signs with.
"""

from cairn.client._node_source import GatewayNodeSource
from cairn.client.gateway import Answer, GatewayClient, verify_answer

__all__ = ["Answer", "GatewayClient", "GatewayNodeSource", "verify_answer"]
