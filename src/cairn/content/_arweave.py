"""Arweave as permanent storage: publish a DAG's CAR, fetch it back by CID, trust nothing.

Specs: Arweave HTTP API (``POST /tx``, ``GET /{id}``, ``/tx_anchor``, ``/price``),
the Arweave GraphQL gateway schema (``transactions(tags: ...)``), ANS-104 bundles
(:mod:`cairn.content._ans104`) and format-2 transactions (:mod:`cairn.content._arweave_tx`).

What goes on Arweave. The CAR (v1, as :func:`cairn.content.export_car` writes it) is
cut into parts of :data:`PART_SIZE`; each part is an ANS-104 data item signed by the
cairn Ethereum wallet and carried by its own native transaction (a one-item bundle,
data inline: under a gateway's 10 MiB inline limit, no chunk proofs needed). Last, an
index item — JSON naming every part's item id, size and sha256 — is tagged
``App-Name: cairn``, ``Cairn-Type: car-index``, ``Root-CID`` and ``Manifest-CID``.
Why parts: a part is the unit of resume (the upload records each accepted part in
a state file, atomically, and a re-run skips them) and of progress; why items:
the publisher's identity is the same wallet that signs manifests and receipts.

Fetching looks the index up by tag through GraphQL, checks the index's signature and
that it names the CID asked for, downloads the parts checking each size and sha256
against the signed index, and imports the CAR only if its root is that CID, every
block hashes to its CID and the DAG is complete. Nothing is stored otherwise.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from cairn._atomic import atomic_write_bytes
from cairn.content import ARWEAVE_SCHEMES
from cairn.content._ans104 import DataItem, EthereumItemSigner, b64url, bundle
from cairn.content._arweave_tx import ArweaveWallet, signed_transaction
from cairn.content._exporter import walk_blocks
from cairn.content.base import Blockstore
from cairn.content.car import write_car
from cairn.content.cid import Cid
from cairn.errors import ArweaveError, ConfigError, one_line

__all__ = ["ArweaveGateway", "ArweavePublished", "gateway_base", "publish_car"]

PART_SIZE = 4 << 20
CAR_TYPE = "application/vnd.ipld.car"
Progress = Callable[[int, int], None]  # (bytes just done, total bytes)
_LOCAL = {"localhost", "127.0.0.1", "::1"}


def gateway_base(url: str) -> str:
    """``arweave://HOST[:PORT]`` as an HTTP base URL: https, except http for a loopback
    host (arlocal); ``arweave+http://`` and ``arweave+https://`` say so explicitly."""
    parts = urlsplit(url)
    if parts.scheme not in ARWEAVE_SCHEMES or not parts.hostname:
        raise ConfigError(f"not an Arweave URL: {url!r} (arweave://HOST[:PORT])")
    scheme = parts.scheme.removeprefix("arweave+")
    if scheme == "arweave":
        scheme = "http" if parts.hostname in _LOCAL else "https"
    return f"{scheme}://{parts.netloc}"


class ArweaveGateway:
    """The few gateway calls cairn makes; every failure becomes one :class:`ArweaveError`."""

    def __init__(self, url: str, *, timeout: float = 120.0) -> None:
        self.base = gateway_base(url)
        self.client = httpx.Client(base_url=self.base, timeout=timeout, follow_redirects=True)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ArweaveError(f"Arweave gateway {self.base} unreachable: {exc}") from None
        if resp.status_code >= 300:
            said, code = one_line(resp.text, 120), resp.status_code
            raise ArweaveError(
                f"Arweave gateway {self.base} answered {code} to {method} {path}: {said}"
            )
        return resp

    def is_dev(self) -> bool:
        """Whether this is a local test gateway (arlocal), where minting is allowed."""
        info = self._call("GET", "/info").json()
        return str(info.get("network", "")).startswith("arlocal")

    def mint(self, address: str, winston: int) -> None:
        self._call("GET", f"/mint/{address}/{winston}")

    def post(self, tx: dict[str, Any]) -> None:
        self._call("POST", "/tx", json=tx)

    def price(self, size: int) -> int:
        return int(self._call("GET", f"/price/{size}").text)

    def anchor(self) -> str:
        return self._call("GET", "/tx_anchor").text.strip()

    def data(self, item_id: str) -> bytes:
        return self._call("GET", f"/{item_id}").content

    def find(self, tags: Mapping[str, str]) -> list[dict[str, Any]]:
        """Transactions and items carrying all of ``tags``, as GraphQL nodes."""
        query = (
            "query($tags: [TagFilter!]) { transactions(tags: $tags, first: 10) { edges { node "
            "{ id signature anchor owner { key } tags { name value } } } } }"
        )
        filters = [{"name": k, "values": [v]} for k, v in tags.items()]
        body = self._call("POST", "/graphql", json={"query": query, "variables": {"tags": filters}})
        try:
            return [e["node"] for e in body.json()["data"]["transactions"]["edges"]]
        except (ValueError, KeyError, TypeError):
            raise ArweaveError(
                f"Arweave gateway {self.base} sent a malformed GraphQL answer"
            ) from None


@dataclass(frozen=True)
class ArweavePublished:
    root: Cid
    index_id: str
    parts: int
    size: int
    sent: int  # parts posted by this run (a resumed run skips what was accepted)


def _car_bytes(root: Cid, store: Blockstore) -> bytes:
    out = io.BytesIO()
    write_car([root], walk_blocks(root, store), out)
    return out.getvalue()


def _load_state(path: Path, car_sha: str, base: str) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
        if state.get("car_sha256") == car_sha and state.get("gateway") == base:
            return state
    except (OSError, ValueError):
        pass
    return {"car_sha256": car_sha, "gateway": base, "parts": {}}


def _carry(gw: ArweaveGateway, wallet: ArweaveWallet, item: DataItem) -> None:
    data = bundle([item])
    tags = [("Bundle-Format", "binary"), ("Bundle-Version", "2.0.0"), ("App-Name", "cairn")]
    gw.post(signed_transaction(wallet, data, tags, last_tx=gw.anchor(), reward=gw.price(len(data))))


def _fund_dev(
    gw: ArweaveGateway, wallet: ArweaveWallet, signer: EthereumItemSigner, size: int
) -> None:
    # arlocal only: it charges the carrier, and indexes a bundled item only if its
    # owner has a wallet row there (a zero balance does); a real gateway is never minted on.
    gw.mint(wallet.address, gw.price(size) * 2 + 10**12)
    gw.mint(b64url(hashlib.sha256(signer.public_key).digest()), 0)


def publish_car(
    root: Cid,
    store: Blockstore,
    url: str,
    *,
    personal_sign: Callable[[bytes], bytes],
    wallet_file: Path,
    state_dir: Path,
    tags: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    part_size: int = PART_SIZE,
) -> ArweavePublished:
    """Post the CAR of ``root`` to an Arweave gateway, resuming a past attempt.

    ``personal_sign`` is the publisher's EIP-191 signature (65 bytes ``r||s||v``);
    ``wallet_file`` the JWK that carries and pays (created if absent). ``state_dir``
    keeps ``<root>.json``: which parts the gateway accepted. On a dev gateway
    (arlocal) the carrier wallet is funded; anywhere else it must hold AR.
    """
    gw = ArweaveGateway(url)
    signer = EthereumItemSigner.from_personal_sign(personal_sign)
    wallet = ArweaveWallet.at(wallet_file)
    car = _car_bytes(root, store)
    car_sha = hashlib.sha256(car).hexdigest()
    state_path = state_dir / f"{root}.json"
    state = _load_state(state_path, car_sha, gw.base)
    if gw.is_dev():
        _fund_dev(gw, wallet, signer, len(car))
    cuts = range(0, max(len(car), 1), part_size)
    common = [("App-Name", "cairn"), ("Root-CID", str(root))]
    parts, sent = [], 0
    for i, start in enumerate(cuts):
        chunk = car[start : start + part_size]
        chunk_sha = hashlib.sha256(chunk).hexdigest()
        done = state["parts"].get(str(i))
        if done is None or done["sha256"] != chunk_sha:
            part_tags = [
                *common,
                ("Cairn-Type", "car-part"),
                ("Part", f"{i + 1}/{len(cuts)}"),
                ("Content-Type", CAR_TYPE),
            ]
            item = DataItem.sign(chunk, part_tags, signer)
            _carry(gw, wallet, item)
            done = {"id": item.id, "size": len(chunk), "sha256": chunk_sha}
            state["parts"][str(i)] = done
            atomic_write_bytes(state_path, json.dumps(state).encode())
            sent += 1
        parts.append(done)
        if progress:
            progress(len(chunk), len(car))
    if sent == 0 and state.get("index"):
        return ArweavePublished(root, state["index"], len(parts), len(car), 0)
    index = {"root": str(root), "size": len(car), "sha256": car_sha, "parts": parts}
    index_tags = [*common, ("Cairn-Type", "car-index"), ("Content-Type", "application/json")]
    index_tags += [(k, v) for k, v in (tags or {}).items()]
    item = DataItem.sign(json.dumps(index, sort_keys=True).encode(), index_tags, signer)
    _carry(gw, wallet, item)
    state["index"] = item.id
    atomic_write_bytes(state_path, json.dumps(state).encode())
    return ArweavePublished(root, item.id, len(parts), len(car), sent)
