"""A node over HTTP, as a validator reads it: :class:`~cairn.verification.NodeSource` on top of
:class:`~cairn.client.GatewayClient`.

Routes: ``GET /v1/batches/{id}``, ``GET /v1/receipts/{id}/input`` and ``/output``,
``/zk``, and ``GET /ipfs/{cid}`` (a CAR, every block verified by
:func:`cairn.content.fetch`). A refusal, a 5xx, a timeout or a dead socket is
the node failing to hand over what the audit needs:
:class:`~cairn.errors.NodeUnavailable`.
"""

from __future__ import annotations

from cairn import content
from cairn.client.gateway import GatewayClient
from cairn.content import Blockstore, Cid
from cairn.errors import CairnError, ClientError, NodeUnavailable
from cairn.receipts import Receipt
from cairn.verification import NodeSource, RetainedIO

__all__ = ["GatewayNodeSource"]


class GatewayNodeSource(NodeSource):
    """The node whose gateway is at ``url``."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.client = GatewayClient(self.url, timeout=timeout)

    def batch(self, batch_id: int) -> list[Receipt]:
        try:
            return self.client.batch(batch_id)
        except ClientError as exc:
            raise NodeUnavailable(f"batch {batch_id}: {exc}") from None

    def retained(self, request_id: bytes) -> RetainedIO:
        try:
            return self.client.retained(request_id)
        except ClientError as exc:
            raise NodeUnavailable(f"retained I/O of 0x{request_id.hex()}: {exc}") from None

    def zk_proof(self, request_id: bytes) -> bytes | None:
        try:
            return self.client.zk_proof(request_id)
        except ClientError as exc:
            raise NodeUnavailable(f"zk proof of 0x{request_id.hex()}: {exc}") from None

    def fetch_model(self, cid: Cid, store: Blockstore) -> None:
        try:
            content.fetch(cid, self.url, store, timeout=max(self.timeout, 60.0))
        except CairnError as exc:
            raise NodeUnavailable(f"model {cid} from {self.url}: {exc}") from None

    def close(self) -> None:
        self.client.close()
