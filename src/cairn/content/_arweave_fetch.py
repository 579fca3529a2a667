"""Fetch a cairn artifact back from Arweave by its CID, and the read-only Arweave blockstore.

The gateway is an untrusted peer: it may answer GraphQL with an index tagged for
another CID, serve other bytes, or cut a part short. The chain of checks, each with
one line of refusal: the index item's Ethereum signature (ANS-104 type 3, rebuilt from
the GraphQL fields) → its ``Root-CID`` tag and its JSON both name the CID asked for →
the index is well formed (part ids are Arweave ids, sizes counts) → each part's size and
sha256 as the signed index lists them → the CAR's root is the CID
→ every block hashes to its CID and the DAG is complete. Only then is anything stored.
Verified parts are kept under ``cache_dir`` so an interrupted download resumes; they
are checked again before use and removed once the artifact is stored.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cairn._atomic import atomic_write_bytes
from cairn.content._ans104 import DataItem, from_b64url
from cairn.content._arweave import ArweaveGateway, Progress
from cairn.content._exporter import walk_blocks
from cairn.content._memory import MemoryBlockstore
from cairn.content.base import Blockstore
from cairn.content.car import iter_car
from cairn.content.cid import Cid
from cairn.errors import ArweaveError, BlockNotFound, CarError, ContentError, GatewayError

__all__ = ["ArweaveBlockstore", "ArweaveFetched", "fetch_car"]


@dataclass(frozen=True)
class ArweaveFetched:
    root: Cid
    blocks: int
    size: int
    index_id: str
    signer: str  # the 0x address that signed the index
    tags: dict[str, str]


def _index_item(node: dict[str, Any], data: bytes) -> DataItem:
    try:
        tags = tuple((t["name"], t["value"]) for t in node["tags"])
        anchor = from_b64url(node.get("anchor") or "")
        owner, signature = from_b64url(node["owner"]["key"]), from_b64url(node["signature"])
    except (KeyError, TypeError) as exc:
        raise ArweaveError(f"Arweave index {node.get('id')} lacks a field: {exc}") from None
    return DataItem(owner, tags, data, signature, anchor)


def _find_index(gw: ArweaveGateway, cid: Cid) -> tuple[DataItem, str, dict[str, Any]]:
    """The index item for ``cid``, its signer, and its JSON: signature checked first."""
    nodes = gw.find({"App-Name": "cairn", "Cairn-Type": "car-index", "Root-CID": str(cid)})
    if not nodes:
        raise BlockNotFound(f"Arweave gateway {gw.base} has no cairn artifact {cid}")
    node = nodes[0]
    item = _index_item(node, gw.data(str(node.get("id"))))
    if item.id != node.get("id"):
        raise ArweaveError(f"Arweave index {node.get('id')}: its signature does not hash to its id")
    signer = item.signer_address()
    tagged = dict(item.tags).get("Root-CID")
    if tagged != str(cid):
        raise ArweaveError(f"Arweave index {item.id} is tagged Root-CID {tagged}, not {cid}")
    try:
        index = json.loads(item.data)
    except ValueError:
        index = None
    if not _well_formed(index):  # anyone can sign an index: its fields are checked too
        raise ArweaveError(f"Arweave index {item.id} is not a cairn index")
    if index["root"] != str(cid):
        raise ArweaveError(f"Arweave index {item.id} describes {index['root']}, not {cid}")
    return item, signer, index


_ITEM_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # b64url of a sha256: an Arweave id


def _well_formed(index: Any) -> bool:
    """A cairn index: root, size and sha256 of the CAR, and parts whose ids are Arweave
    ids (so a part is fetched from the gateway asked, by id, never from a path it names)."""
    if not isinstance(index, dict) or not isinstance(index.get("parts"), list):
        return False
    if not (isinstance(index.get("root"), str) and isinstance(index.get("sha256"), str)):
        return False
    return _count(index.get("size")) and all(
        isinstance(p, dict)
        and isinstance(p.get("id"), str)
        and _ITEM_ID.fullmatch(p["id"]) is not None
        and _count(p.get("size"))
        and isinstance(p.get("sha256"), str)
        for p in index["parts"]
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _part(gw: ArweaveGateway, part: dict[str, Any], n: int, cache: Path | None) -> bytes:
    want_size, want_sha, item_id = part["size"], part["sha256"], part["id"]
    cached = cache / f"{n}.part" if cache else None
    if cached and cached.exists():
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == want_sha:
            return data
    data = gw.data(item_id)
    if len(data) != want_size:
        raise ArweaveError(
            f"Arweave part {n + 1} ({item_id}) is truncated: {len(data)} of {want_size} bytes"
        )
    if hashlib.sha256(data).hexdigest() != want_sha:
        raise ArweaveError(
            f"Arweave part {n + 1} ({item_id}) has wrong bytes: not the sha256 the index signs"
        )
    if cached:
        atomic_write_bytes(cached, data)
    return data


def _stage(cid: Cid, car: bytes) -> list[tuple[Cid, bytes]]:
    staging = MemoryBlockstore()
    try:
        header, blocks = iter_car(io.BytesIO(car))
        if cid not in header.roots:
            roots = ", ".join(map(str, header.roots)) or "none"
            raise ArweaveError(f"the CAR tagged {cid} on Arweave has root {roots}")
        for block_cid, block in blocks:
            staging.put(block_cid, block, verified=True)
        return list(walk_blocks(cid, staging))
    except ArweaveError:
        raise
    except BlockNotFound as exc:
        raise ArweaveError(f"the CAR of {cid} on Arweave is incomplete: {exc}") from None
    except (CarError, ContentError) as exc:
        raise ArweaveError(f"the CAR of {cid} on Arweave is bad: {exc}") from None


def fetch_car(
    cid: Cid,
    url: str,
    store: Blockstore,
    *,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> ArweaveFetched:
    """Find ``cid`` on an Arweave gateway by tag, verify all of it, then store it."""
    gw = ArweaveGateway(url)
    item, signer, index = _find_index(gw, cid)
    cache = cache_dir / str(cid) if cache_dir else None
    pieces = []
    for n, part in enumerate(index["parts"]):
        pieces.append(_part(gw, part, n, cache))
        if progress:
            progress(len(pieces[-1]), index["size"])
    car = b"".join(pieces)
    if len(car) != index["size"] or hashlib.sha256(car).hexdigest() != index["sha256"]:
        raise ArweaveError(f"the parts of {cid} on Arweave do not add up to the indexed CAR")
    dag = _stage(cid, car)
    for block_cid, block in dag:
        store.put(block_cid, block, verified=True)
    if cache:
        shutil.rmtree(cache, ignore_errors=True)
    return ArweaveFetched(cid, len(dag), len(car), item.id, signer, dict(item.tags))


class ArweaveBlockstore(Blockstore):
    """Read-only blocks of artifacts cairn published to Arweave (``arweave://HOST``).

    Asked for a block it does not hold, it fetches the artifact whose root that is
    (verified, as :func:`fetch_car`); blocks inside it are then served from memory.
    Writing is publishing, which takes a wallet: see :func:`publish_car`.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._held = MemoryBlockstore()

    def put(self, cid: Cid, data: bytes, *, verified: bool = False) -> None:
        self._write(cid, data)

    def _contains(self, cid: Cid) -> bool:
        return self._read(cid) is not None

    def _read(self, cid: Cid) -> bytes | None:
        if not self._held.has(cid):
            try:
                fetch_car(cid, self.url, self._held)
            except BlockNotFound:
                return None
        return self._held._read(cid)

    def _write(self, cid: Cid, data: bytes) -> None:
        raise GatewayError(f"{self.url} is read-only here: publish with `cairn publish --to`")
