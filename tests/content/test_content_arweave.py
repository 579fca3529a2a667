"""Arweave as permanent storage, against npm arlocal, read back by npm arweave + arbundles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from _arweave_peers import Proxy, mine
from typer.testing import CliRunner

from cairn import content
from cairn.cli.main import app
from cairn.content._arweave import gateway_base
from cairn.errors import ConfigError
from cairn.identity import LocalSigner
from cairn.identity.eip191 import sign_message

KEY = "0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4"
ADDRESS = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
READBACK = Path(__file__).with_name("arweave_readback.mjs")
SIGNER = LocalSigner.from_hex(KEY)


def personal_sign(message: bytes) -> bytes:
    return sign_message(SIGNER, message).to_bytes()


@pytest.fixture(scope="session")
def carrier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RSA-4096 carrier wallet for the session (generating one takes a second)."""
    return tmp_path_factory.mktemp("arweave-wallet") / "wallet.json"


def arweave_url(http_url: str) -> str:
    return http_url.replace("http://", "arweave://")


def publish(
    root: content.Cid, store: content.Blockstore, url: str, carrier: Path, state: Path, **kw: Any
) -> content.ArweavePublished:
    return content.publish_car(
        root, store, url, personal_sign=personal_sign, wallet_file=carrier, state_dir=state, **kw
    )


def artifact(tmp_path: Path, size: int, seed: int = 0) -> tuple[content.Cid, content.Blockstore]:
    store = content.MemoryBlockstore()
    return content.add_bytes(os.urandom(size) if seed == 0 else bytes([seed]) * size, store), store


def test_url_rule_is_https_except_loopback() -> None:
    assert gateway_base("arweave://arweave.net") == "https://arweave.net"
    assert gateway_base("arweave://127.0.0.1:1984") == "http://127.0.0.1:1984"
    assert gateway_base("arweave://localhost:1984") == "http://localhost:1984"
    assert gateway_base("arweave+http://devbox:1984") == "http://devbox:1984"
    assert gateway_base("arweave+https://127.0.0.1") == "https://127.0.0.1"
    for bad in ("https://arweave.net", "arweave://", "arweave:///x"):
        with pytest.raises(ConfigError):
            gateway_base(bad)
    assert isinstance(content.open_blockstore("arweave://arweave.net"), content.ArweaveBlockstore)


def test_publish_then_fetch_into_a_fresh_store(arlocal: str, carrier: Path, tmp_path: Path) -> None:
    root, store = artifact(tmp_path, 2_500_000)
    url = arweave_url(arlocal)
    sent = publish(root, store, url, carrier, tmp_path / "state", tags={"Manifest-CID": str(root)})
    assert (sent.parts, sent.sent) == (1, 1)
    mine(arlocal)
    fresh = content.FilesystemBlockstore(tmp_path / "fresh")
    got = content.fetch_car(root, url, fresh)
    assert got.signer == ADDRESS.lower()
    assert got.tags["Manifest-CID"] == str(root) and got.tags["Root-CID"] == str(root)
    assert content.read_bytes(root, fresh) == content.read_bytes(root, store)
    again = publish(root, store, url, carrier, tmp_path / "state")
    assert again.sent == 0 and again.index_id == sent.index_id  # nothing re-sent


def test_npm_arweave_and_arbundles_verify_what_cairn_posted(
    arlocal: str, carrier: Path, tmp_path: Path, node_exe: str
) -> None:
    root, store = artifact(tmp_path, 700_000)
    tags = {"Manifest-CID": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"}
    sent = publish(
        root, store, arweave_url(arlocal), carrier, tmp_path, tags=tags, part_size=300_000
    )
    mine(arlocal)
    out = subprocess.run(
        [node_exe, str(READBACK), arlocal, str(root)], capture_output=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    doc = json.loads(out.stdout)
    assert doc["verified"] and doc["index"] == sent.index_id and doc["signatureType"] == 3
    assert [p["signatureType"] for p in doc["parts"]] == [3, 3, 3]
    tags_seen = {t["name"]: t["value"] for t in doc["tags"]}
    assert tags_seen["Root-CID"] == str(root) and tags_seen["App-Name"] == "cairn"
    assert tags_seen["Manifest-CID"] == tags["Manifest-CID"]
    owner = bytes.fromhex(doc["owner"])
    from cairn.content._ans104 import ethereum_address

    assert ethereum_address(owner) == ADDRESS.lower()  # the cairn wallet signed the items


def test_the_blockstore_port_reads_a_published_dag(
    arlocal: str, carrier: Path, tmp_path: Path
) -> None:
    root, store = artifact(tmp_path, 300_000, seed=7)
    publish(root, store, arweave_url(arlocal), carrier, tmp_path)
    mine(arlocal)
    remote = content.open_blockstore(arweave_url(arlocal))
    assert content.read_bytes(root, remote) == bytes([7]) * 300_000
    missing = content.add_bytes(os.urandom(64), content.MemoryBlockstore())
    assert not remote.has(missing)


def test_an_interrupted_upload_resumes_without_resending(
    arlocal: str, proxy: Proxy, carrier: Path, tmp_path: Path
) -> None:
    root, store = artifact(tmp_path, 600_000)
    done: list[int] = []

    def stop_after_three(n: int, total: int) -> None:
        done.append(n)
        if len(done) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        publish(
            root, store, proxy.url, carrier, tmp_path, part_size=100_000, progress=stop_after_three
        )
    assert proxy.count("POST /tx") == 3
    state = json.loads((tmp_path / f"{root}.json").read_text())
    assert sorted(state["parts"]) == ["0", "1", "2"] and "index" not in state
    resumed = publish(root, store, proxy.url, carrier, tmp_path, part_size=100_000)
    assert resumed.parts == 7 and resumed.sent == 4
    assert proxy.count("POST /tx") == 3 + 4 + 1  # the four parts left, then the index
    mine(arlocal)
    fresh = content.MemoryBlockstore()
    content.fetch_car(root, arweave_url(arlocal), fresh)
    assert content.read_bytes(root, fresh) == content.read_bytes(root, store)


def test_an_interrupted_download_resumes_from_verified_parts(
    arlocal: str, proxy: Proxy, carrier: Path, tmp_path: Path
) -> None:
    root, store = artifact(tmp_path, 500_000)
    sent = publish(root, store, arweave_url(arlocal), carrier, tmp_path, part_size=100_000)
    mine(arlocal)
    cache = tmp_path / "downloads"
    seen: list[int] = []

    def stop_after_two(n: int, total: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    fresh = content.MemoryBlockstore()
    with pytest.raises(KeyboardInterrupt):
        content.fetch_car(root, proxy.url, fresh, cache_dir=cache, progress=stop_after_two)
    assert len(list((cache / str(root)).iterdir())) == 2 and not fresh.has(root)
    before = proxy.count("GET /")
    content.fetch_car(root, proxy.url, fresh, cache_dir=cache)
    # the index, then only the parts not already verified on disk
    assert proxy.count("GET /") - before == 1 + sent.parts - 2
    assert content.read_bytes(root, fresh) == content.read_bytes(root, store)
    assert not (cache / str(root)).exists()


def cli(data_dir: Path, *args: str) -> object:
    return CliRunner().invoke(
        app, ["--data-dir", str(data_dir), *args], env={"CAIRN_PASSPHRASE": "pw"}
    )


def test_cli_publish_to_and_fetch_from_arweave(arlocal: str, tmp_path: Path) -> None:
    pub_dir, fetch_dir = tmp_path / "pub", tmp_path / "fetch"
    r = cli(
        pub_dir, "wallet", "import", "pub", "--key", KEY, "--kdf", "pbkdf2", "--iterations", "16"
    )
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(200_000))
    url = arweave_url(arlocal)
    r = cli(pub_dir, "publish", str(model), "--name", "m", "--version", "1", "--license", "MIT",
            "--to", url, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    doc = json.loads(r.output)  # type: ignore[attr-defined]
    assert set(doc["arweave"]["index"]) == {doc["artifact"], doc["manifest"]}
    mine(arlocal)
    for cid in (doc["artifact"], doc["manifest"]):
        r = cli(fetch_dir, "fetch", cid, "--from", url, "--json")
        assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
        assert json.loads(r.output)["signer"] == ADDRESS.lower()  # type: ignore[attr-defined]
    fetched = content.open_blockstore(f"file://{fetch_dir / 'blocks'}")
    assert content.read_bytes(content.Cid.parse(doc["artifact"]), fetched) == model.read_bytes()
    r = cli(fetch_dir, "fetch", doc["artifact"], "--from", "https://arweave.net")
    assert isinstance(r.exception, ConfigError)  # type: ignore[attr-defined]
    assert "arweave://" in str(r.exception)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_the_minilm_folder_round_trips_with_progress(
    arlocal: str, carrier: Path, tmp_path: Path
) -> None:
    from cairn.inference import build_minilm

    folder = build_minilm(tmp_path / "minilm")
    store = content.FilesystemBlockstore(tmp_path / "blocks")
    root = content.add_path(folder, store)
    moved: list[int] = []
    start = time.monotonic()
    sent = publish(root, store, arweave_url(arlocal), carrier, tmp_path / "state",
                   progress=lambda n, total: moved.append(n))  # fmt: skip
    mine(arlocal)
    fresh = content.FilesystemBlockstore(tmp_path / "fresh")
    got = content.fetch_car(root, arweave_url(arlocal), fresh, cache_dir=tmp_path / "dl")
    elapsed = time.monotonic() - start
    assert sum(moved) == sent.size > 80_000_000 and sent.parts == len(moved) > 20
    assert got.blocks == sum(1 for _ in content.walk_blocks(root, store))
    out = tmp_path / "out"
    content.write_to(root, fresh, out)
    for f in folder.rglob("*"):
        if f.is_file():
            assert (out / f.relative_to(folder)).read_bytes() == f.read_bytes()
    shutil.rmtree(tmp_path / "blocks")
    print(f"MiniLM folder: {sent.size} bytes published and fetched in {elapsed:.1f} s")
