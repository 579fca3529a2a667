"""A trustless-gateway client: fetch from any HTTP gateway, trust nothing it says.

Spec: IPFS Trustless Gateway (https://specs.ipfs.tech/http-gateways/trustless-gateway/):
``GET /ipfs/{cid}`` with ``Accept: application/vnd.ipld.raw`` returns one block,
with ``application/vnd.ipld.car`` a CAR of the DAG. Every block is verified
against its CID before cairn keeps it, and a DAG is stored only once it is
complete, so a lying or half-broken gateway changes nothing locally.
"""

from __future__ import annotations

import io

import httpx

from cairn.content._exporter import walk_blocks
from cairn.content._memory import MemoryBlockstore
from cairn.content.base import Blockstore
from cairn.content.car import iter_car
from cairn.content.cid import Cid
from cairn.errors import BlockNotFound, CarError, ContentError, GatewayError

__all__ = ["GatewayBlockstore", "fetch"]

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"


def _get(client: httpx.Client, url: str, cid: Cid, accept: str) -> bytes:
    try:
        resp = client.get(f"{url.rstrip('/')}/ipfs/{cid}", headers={"Accept": accept})
    except httpx.HTTPError as exc:
        raise GatewayError(f"gateway {url} unreachable: {exc}") from None
    if resp.status_code == 404:
        raise BlockNotFound(f"gateway {url} does not have {cid}")
    if resp.status_code != 200:
        raise GatewayError(f"gateway {url} answered {resp.status_code} for {cid}")
    return resp.content


class GatewayBlockstore(Blockstore):
    """A read-only blockstore over a gateway's raw-block endpoint (verified by the port)."""

    def __init__(self, url: str, timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        self.url = url
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=True)

    def put(self, cid: Cid, data: bytes, *, verified: bool = False) -> None:
        raise GatewayError(f"gateway {self.url} is read-only")

    def _contains(self, cid: Cid) -> bool:
        return self._read(cid) is not None

    def _read(self, cid: Cid) -> bytes | None:
        try:
            return _get(self.client, self.url, cid, RAW_TYPE)
        except BlockNotFound:
            return None

    def _write(self, cid: Cid, data: bytes) -> None:
        raise GatewayError(f"gateway {self.url} is read-only")


def fetch(cid: Cid, url: str, store: Blockstore, *, car: bool = True, timeout: float = 60.0) -> int:
    """Fetch the DAG under ``cid`` from a gateway into ``store``; return the block count.

    With ``car`` the DAG comes as one CAR; otherwise block by block. Either way
    the whole DAG is verified and checked complete before anything is stored.
    """
    staging = MemoryBlockstore()
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        if car:
            body = _get(client, url, cid, CAR_TYPE)
            try:
                _header, blocks = iter_car(io.BytesIO(body))
                for block_cid, block in blocks:
                    staging.put(block_cid, block, verified=True)
            except CarError as exc:
                raise GatewayError(f"gateway {url} sent a bad CAR for {cid}: {exc}") from None
            source: Blockstore = staging
        else:
            source = GatewayBlockstore(url, client=client)
        try:
            dag = list(walk_blocks(cid, source))
        except BlockNotFound as exc:
            raise GatewayError(f"gateway {url} sent an incomplete DAG for {cid}: {exc}") from None
        except ContentError as exc:
            raise GatewayError(f"gateway {url} sent bad data for {cid}: {exc}") from None
    for block_cid, block in dag:
        store.put(block_cid, block, verified=True)
    return len(dag)
