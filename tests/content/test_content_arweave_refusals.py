"""A lying Arweave gateway: every lie is refused with one line, and nothing is stored.

The liar is a proxy in front of arlocal, which holds honest uploads; the proxy
rewrites what it serves. Each case trips one guard of ``cairn.content._arweave_fetch``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _arweave_peers import Proxy, mine

from cairn import content
from cairn.content._ans104 import DataItem, EthereumItemSigner
from cairn.content._arweave import ArweaveGateway, _carry
from cairn.content._arweave_tx import ArweaveWallet
from cairn.errors import ArweaveError, BlockNotFound
from cairn.identity import LocalSigner
from cairn.identity.eip191 import sign_message

SIGNER = LocalSigner.generate()


def personal_sign(message: bytes) -> bytes:
    return sign_message(SIGNER, message).to_bytes()


class Uploads:
    def __init__(self, state_dir: Path, a: content.ArweavePublished, b: content.ArweavePublished):
        self.state_dir, self.a, self.b = state_dir, a, b

    def parts(self, p: content.ArweavePublished) -> list[dict[str, object]]:
        state = json.loads((self.state_dir / f"{p.root}.json").read_text())
        return [state["parts"][str(i)] for i in range(len(state["parts"]))]


@pytest.fixture(scope="module")
def uploads(arlocal: str, tmp_path_factory: pytest.TempPathFactory) -> Uploads:
    """Two honest artifacts on arlocal: A (two parts) and B (one)."""
    tmp = tmp_path_factory.mktemp("arweave-refusals")
    done = []
    for size in (150_000, 40_000):
        store = content.MemoryBlockstore()
        root = content.add_bytes(os.urandom(size), store)
        url = arlocal.replace("http://", "arweave://")
        done.append(
            content.publish_car(root, store, url, personal_sign=personal_sign,
                                wallet_file=tmp / "wallet.json", state_dir=tmp, part_size=100_000)
        )  # fmt: skip
    mine(arlocal)
    return Uploads(tmp, *done)


def refused(proxy: Proxy, cid: content.Cid, tmp_path: Path) -> str:
    """Fetch through the liar: the one-line refusal; the store and the part cache stay empty."""
    store = content.FilesystemBlockstore(tmp_path / "blocks")
    with pytest.raises((ArweaveError, BlockNotFound)) as info:
        content.fetch_car(cid, proxy.url, store, cache_dir=tmp_path / "dl")
    assert not [p for p in (tmp_path / "blocks").rglob("*") if p.is_file()]
    message = str(info.value)
    assert "\n" not in message
    return message


def is_part(path: str, uploads: Uploads) -> bool:
    ids = {str(p["id"]) for p in uploads.parts(uploads.a) + uploads.parts(uploads.b)}
    return path.lstrip("/") in ids


def test_wrong_bytes_in_a_part(proxy: Proxy, uploads: Uploads, tmp_path: Path) -> None:
    proxy.tamper = lambda m, path, body: (
        body[:-1] + bytes([body[-1] ^ 1]) if is_part(path, uploads) else body
    )
    assert "has wrong bytes" in refused(proxy, uploads.a.root, tmp_path)


def test_a_truncated_part(proxy: Proxy, uploads: Uploads, tmp_path: Path) -> None:
    proxy.tamper = lambda m, path, body: body[:-10] if is_part(path, uploads) else body
    assert "is truncated" in refused(proxy, uploads.a.root, tmp_path)


def test_a_truncated_index(proxy: Proxy, uploads: Uploads, tmp_path: Path) -> None:
    index = f"/{uploads.a.index_id}"
    proxy.tamper = lambda m, path, body: body[:-5] if path == index else body
    assert "bad signature" in refused(proxy, uploads.a.root, tmp_path)


def test_an_index_tagged_for_another_cid(proxy: Proxy, uploads: Uploads, tmp_path: Path) -> None:
    proxy.rewrite_query = {str(uploads.a.root): str(uploads.b.root)}
    message = refused(proxy, uploads.a.root, tmp_path)
    assert f"tagged Root-CID {uploads.b.root}, not {uploads.a.root}" in message


def test_a_forged_tag_breaks_the_signature(proxy: Proxy, uploads: Uploads, tmp_path: Path) -> None:
    a, b = str(uploads.a.root), str(uploads.b.root)
    proxy.rewrite_query = {a: b}
    proxy.tamper = lambda m, path, body: (
        body.replace(b.encode(), a.encode()) if path == "/graphql" else body
    )
    assert "bad signature" in refused(proxy, uploads.a.root, tmp_path)


def test_a_signed_index_whose_car_has_another_root(
    arlocal: str, proxy: Proxy, uploads: Uploads, tmp_path: Path
) -> None:
    claimed = content.add_bytes(b"never published", content.MemoryBlockstore())
    state = json.loads((uploads.state_dir / f"{uploads.b.root}.json").read_text())
    parts = uploads.parts(uploads.b)
    index = {
        "root": str(claimed),
        "size": uploads.b.size,
        "sha256": state["car_sha256"],
        "parts": parts,
    }
    tags = [("App-Name", "cairn"), ("Root-CID", str(claimed)), ("Cairn-Type", "car-index")]
    item = DataItem.sign(
        json.dumps(index).encode(), tags, EthereumItemSigner.from_personal_sign(personal_sign)
    )
    _carry(ArweaveGateway(proxy.url), ArweaveWallet.load(uploads.state_dir / "wallet.json"), item)
    mine(arlocal)
    assert f"has root {uploads.b.root}" in refused(proxy, claimed, tmp_path)


@pytest.mark.parametrize(
    "part",
    [
        {"id": "../graphql", "size": 1, "sha256": "00"},  # a path on the gateway, not an id
        {"id": "A" * 43, "size": "all of it", "sha256": "00"},
        {"id": "A" * 43, "size": -1, "sha256": "00"},
        "not a part",
    ],
)
def test_a_signed_index_with_malformed_parts(
    arlocal: str, proxy: Proxy, uploads: Uploads, tmp_path: Path, part: object
) -> None:
    """Anyone can sign an index for a CID: its fields are checked, one line, no traceback."""
    claimed = content.add_bytes(os.urandom(16), content.MemoryBlockstore())
    index = {"root": str(claimed), "size": 1, "sha256": "00", "parts": [part]}
    tags = [("App-Name", "cairn"), ("Root-CID", str(claimed)), ("Cairn-Type", "car-index")]
    item = DataItem.sign(
        json.dumps(index).encode(), tags, EthereumItemSigner.from_personal_sign(personal_sign)
    )
    _carry(ArweaveGateway(proxy.url), ArweaveWallet.load(uploads.state_dir / "wallet.json"), item)
    mine(arlocal)
    assert "is not a cairn index" in refused(proxy, claimed, tmp_path)


def test_nothing_published_under_that_cid(proxy: Proxy, tmp_path: Path) -> None:
    missing = content.add_bytes(b"no such artifact", content.MemoryBlockstore())
    assert "has no cairn artifact" in refused(proxy, missing, tmp_path)


def test_the_cli_prints_one_line_and_stores_nothing(
    proxy: Proxy, uploads: Uploads, tmp_path: Path
) -> None:
    proxy.tamper = lambda m, path, body: body[:-10] if is_part(path, uploads) else body
    data_dir = tmp_path / "data"
    env = {**os.environ, "CAIRN_DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "-m", "cairn", "fetch", str(uploads.a.root), "--from", proxy.url],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode != 0
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "is truncated" in lines[0], out.stderr
    assert not [p for p in (data_dir / "blocks").rglob("*") if p.is_file()]
