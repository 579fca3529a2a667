"""A node over HTTP, as a validator reads it: :class:`~cairn.verification.NodeSource` on top of
:class:`~cairn.client.GatewayClient`.

Routes: ``GET /v1/batches/{id}``, ``GET /v1/receipts/{id}/input`` and ``/output``,
``/zk``, and ``GET /ipfs/{cid}`` (a CAR, every block verified by
:func:`cairn.content.fetch`). A refusal, a 5xx, a timeout or a dead socket is
the node failing to hand over what the audit needs:
:class:`~cairn.errors.NodeUnavailable`. Retained I/O is read as a staked
validator: ``signer`` signs a fresh nonce of the node for each read.

A node is an adversary to its validators too, so every read is bounded: each
request has an overall deadline and a body cap (:class:`~cairn.client.Bounds`;
a slow drip or a flood is cut), a listed batch holds at most
:data:`MAX_BATCH_RECEIPTS` receipts, anything malformed (non-JSON, a receipt the
parser refuses) is :class:`~cairn.errors.NodeUnavailable`, and a model is
fetched only after its root block's *declared* size (UnixFS ``filesize``, or the
sum of a directory's link sizes) is under ``max_model_bytes`` — the CAR is then
read within that cap, every block verified and the DAG checked complete.
"""

from __future__ import annotations

import io

from cairn import content
from cairn.client._http import Bounds, request
from cairn.client.gateway import GatewayClient
from cairn.content import Blockstore, Cid, MemoryBlockstore
from cairn.content._pb import decode_node, decode_unixfs  # the root's declared sizes
from cairn.content.cid import DAG_PB, RAW
from cairn.errors import CairnError, NodeUnavailable
from cairn.identity import Signer
from cairn.receipts import Receipt
from cairn.verification import NodeSource, RetainedIO

__all__ = ["DEFAULT_MAX_MODEL_BYTES", "MAX_BATCH_RECEIPTS", "GatewayNodeSource"]

DEFAULT_MAX_MODEL_BYTES = 4 << 30  # 4 GiB
MAX_BATCH_RECEIPTS = 100_000
_ROOT_CAP = 2 << 20  # a root block is at most a chunk (1 MiB) or a directory node
_CAR_OVERHEAD = 1.1  # CAR framing and dag-pb nodes around the declared bytes


class GatewayNodeSource(NodeSource):
    """The node whose gateway is at ``url``, read by the validator ``signer``."""

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        *,
        signer: Signer | None = None,
        max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES,
        model_deadline_s: float = 600.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_model_bytes = max_model_bytes
        self.model_deadline_s = model_deadline_s
        self.client = GatewayClient(
            self.url, timeout=timeout, signer=signer, bounds=Bounds(timeout, 64 << 20)
        )

    def batch(self, batch_id: int) -> list[Receipt]:
        try:
            receipts = self.client.batch(batch_id)
        except CairnError as exc:  # unreachable, slow, huge, non-JSON, a malformed receipt
            raise NodeUnavailable(f"batch {batch_id}: {exc}") from None
        if len(receipts) > MAX_BATCH_RECEIPTS:
            raise NodeUnavailable(
                f"batch {batch_id} lists {len(receipts)} receipts (max {MAX_BATCH_RECEIPTS})"
            )
        return receipts

    def retained(self, request_id: bytes) -> RetainedIO:
        try:
            return self.client.retained(request_id)
        except CairnError as exc:
            raise NodeUnavailable(f"retained I/O of 0x{request_id.hex()}: {exc}") from None

    def zk_proof(self, request_id: bytes) -> bytes | None:
        try:
            return self.client.zk_proof(request_id)
        except CairnError as exc:
            raise NodeUnavailable(f"zk proof of 0x{request_id.hex()}: {exc}") from None

    def fetch_model(self, cid: Cid, store: Blockstore) -> None:
        try:
            declared = self._declared_size(cid)
            if declared > self.max_model_bytes:
                raise NodeUnavailable(
                    f"model {cid} declares {declared:,} bytes, over the "
                    f"{self.max_model_bytes:,}-byte limit"
                )
            self._fetch_car(cid, store, int(declared * _CAR_OVERHEAD) + _ROOT_CAP)
        except NodeUnavailable:
            raise
        except (CairnError, ValueError) as exc:
            raise NodeUnavailable(f"model {cid} from {self.url}: {exc}") from None

    def _get_block(self, cid: Cid, accept: str, bounds: Bounds) -> bytes:
        status, _headers, body = request(
            self.client._http, "GET", f"{self.url}/ipfs/{cid}", bounds, headers={"Accept": accept}
        )
        if status != 200:
            raise NodeUnavailable(f"model {cid} from {self.url}: gateway answered {status}")
        return body

    def _declared_size(self, cid: Cid) -> int:
        """What the DAG says it holds, from its root block alone (verified against the CID)."""
        root = cid.verify(
            self._get_block(cid, "application/vnd.ipld.raw", Bounds(self.timeout, _ROOT_CAP))
        )
        if cid.codec == RAW:
            return len(root)
        if cid.codec != DAG_PB:
            raise NodeUnavailable(f"model {cid} is {cid.codec_name}, not UnixFS")
        node = decode_node(root)
        fs = decode_unixfs(node.data) if node.data is not None else None
        if fs is not None and fs.filesize is not None:
            return max(fs.filesize, sum(link.tsize for link in node.links))
        return len(root) + sum(link.tsize for link in node.links)

    def _fetch_car(self, cid: Cid, store: Blockstore, max_bytes: int) -> None:
        body = self._get_block(
            cid, "application/vnd.ipld.car", Bounds(self.model_deadline_s, max_bytes)
        )
        staging = MemoryBlockstore()
        _header, blocks = content.iter_car(io.BytesIO(body))
        for block_cid, block in blocks:  # each block is checked against its CID
            staging.put(block_cid, block, verified=True)
        dag = list(content.walk_blocks(cid, staging))  # complete, or BlockNotFound
        for block_cid, block in dag:
            store.put(block_cid, block, verified=True)

    def close(self) -> None:
        self.client.close()
