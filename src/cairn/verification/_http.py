"""A node over HTTP: its gateway's batch, retained-I/O and trustless-IPFS routes.

Routes: ``GET /v1/batches/{id}``, ``GET /v1/receipts/{id}/input`` and
``/output``, ``/zk`` (a proof, if attached), ``GET /ipfs/{cid}`` (CAR, verified by
:func:`cairn.content.fetch`).
A refusal (4xx), a 5xx, a timeout or a dead socket is the node failing to
hand over what the audit needs: :class:`~cairn.errors.NodeUnavailable`.
This is the only module of the layer that imports httpx.
"""

from __future__ import annotations

from typing import Any

import httpx

from cairn import content
from cairn.content import Blockstore, Cid
from cairn.errors import CairnError, NodeUnavailable
from cairn.receipts import Receipt
from cairn.verification.base import NodeSource, RetainedIO

__all__ = ["HttpNodeSource"]


class HttpNodeSource(NodeSource):
    """The node whose gateway is at ``url``."""

    def __init__(self, url: str, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._client = client or httpx.Client(timeout=timeout)

    def _get(self, path: str) -> httpx.Response:
        try:
            resp = self._client.get(self.url + path)
        except httpx.HTTPError as exc:
            raise NodeUnavailable(f"{self.url}{path}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise NodeUnavailable(f"{self.url}{path} answered {resp.status_code}")
        return resp

    def batch(self, batch_id: int) -> list[Receipt]:
        body: Any = self._get(f"/v1/batches/{batch_id}").json()
        try:
            return [Receipt.from_json(r) for r in body["receipts"]]
        except (KeyError, TypeError) as exc:
            raise NodeUnavailable(f"{self.url}: malformed batch {batch_id}: {exc}") from None

    def retained(self, request_id: bytes) -> RetainedIO:
        rid = "0x" + request_id.hex()
        return RetainedIO(
            self._get(f"/v1/receipts/{rid}/input").content,
            self._get(f"/v1/receipts/{rid}/output").content,
        )

    def zk_proof(self, request_id: bytes) -> bytes | None:
        path = f"/v1/receipts/0x{request_id.hex()}/zk"
        try:
            resp = self._client.get(self.url + path)
        except httpx.HTTPError as exc:
            raise NodeUnavailable(f"{self.url}{path}: {type(exc).__name__}") from None
        return resp.content if resp.status_code == 200 else None

    def fetch_model(self, cid: Cid, store: Blockstore) -> None:
        try:
            content.fetch(cid, self.url, store, timeout=max(self.timeout, 60.0))
        except CairnError as exc:
            raise NodeUnavailable(f"model {cid} from {self.url}: {exc}") from None

    def close(self) -> None:
        self._client.close()
