"""Import, export and the blockstore port: conformance across backends, bad DAGs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn import content
from cairn.content import _pb
from cairn.content.cid import DAG_PB, Cid
from cairn.errors import BlockNotFound, BlockVerificationError, ContentValueError

BACKENDS: dict[str, Callable[[Path], content.Blockstore]] = {
    "memory": lambda _tmp: content.MemoryBlockstore(),
    "filesystem": lambda tmp: content.FilesystemBlockstore(tmp / "blocks"),
}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> content.Blockstore:
    return BACKENDS[request.param](tmp_path)


class TestBlockstoreConformance:
    """One suite, every backend (the web3.py habit)."""

    def test_put_get_has(self, store: content.Blockstore) -> None:
        cid = Cid.of(b"block")
        assert not store.has(cid)
        store.put(cid, b"block")
        assert store.has(cid) and store.get(cid) == b"block"
        store.put(cid, b"block")  # idempotent

    def test_missing_block(self, store: content.Blockstore) -> None:
        with pytest.raises(BlockNotFound, match="not in the blockstore"):
            store.get(Cid.of(b"absent"))

    def test_put_rejects_wrong_bytes(self, store: content.Blockstore) -> None:
        with pytest.raises(BlockVerificationError):
            store.put(Cid.of(b"right"), b"wrong")
        assert not store.has(Cid.of(b"right"))

    def test_v0_and_v1_share_a_block(self, store: content.Blockstore) -> None:
        v0 = content.add_bytes(b"x" * 10, store, "unixfs-v0-2015")
        assert store.get(v0.to_v1()) == store.get(v0)


def test_filesystem_store_detects_corruption_on_disk(tmp_path: Path) -> None:
    store = content.FilesystemBlockstore(tmp_path / "blocks")
    cid = content.add_bytes(b"precious bytes", store)
    (path,) = [p for p in (tmp_path / "blocks").rglob("*") if p.is_file()]
    path.write_bytes(b"precious bytez")
    with pytest.raises(BlockVerificationError, match=str(cid)):
        content.read_bytes(cid, store)


@pytest.mark.parametrize("profile", sorted(content.PROFILES))
@pytest.mark.parametrize("size", [0, 1, 262143, 262144, 262145, 3 * 1048576 + 7])
def test_file_roundtrip(profile: str, size: int, store: content.Blockstore) -> None:
    data = os.urandom(size)
    cid = content.add_bytes(data, store, profile)
    assert content.read_bytes(cid, store) == data
    assert content.stat(cid, store).size == size


def test_directory_roundtrip_with_symlink_and_nesting(tmp_path: Path) -> None:
    src = tmp_path / "model"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "weights.bin").write_bytes(os.urandom(3 << 20))
    (src / "sub" / "config.json").write_text('{"a": 1}')
    (src / "sub" / "deeper" / "é.txt").write_text("unicode name")
    (src / "link").symlink_to("weights.bin")
    store = content.MemoryBlockstore()
    cid = content.add_path(src, store)
    out = tmp_path / "out"
    content.write_to(cid, store, out)
    assert (out / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()
    assert (out / "sub" / "deeper" / "é.txt").read_text() == "unicode name"
    assert os.readlink(out / "link") == "weights.bin"
    assert content.add_path(out, content.NullBlockstore()) == cid


def test_directory_links_sorted_bytewise(tmp_path: Path) -> None:
    for name in ["b", "B", "a", "_", "aa"]:
        (tmp_path / name).write_text(name)
    store = content.MemoryBlockstore()
    cid = content.add_path(tmp_path, store)
    names = [link.name for link in _pb.decode_node(store.get(cid)).links]
    assert names == sorted(names, key=str.encode) == ["B", "_", "a", "aa", "b"]


def test_write_to_refuses_existing_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    store = content.MemoryBlockstore()
    inner = content.add_bytes(b"a" * 2_000_000, store)
    with pytest.raises(ContentValueError, match="already exists"):
        content.write_to(inner, store, tmp_path)
    # a directory whose second file is missing a block: nothing may be left behind
    good = content.add_bytes(b"good", store)
    missing = Cid.of(b"never stored")
    block = _pb.encode_node(
        _pb.PBNode(
            (_pb.PBLink(bytes(good), "a", 4), _pb.PBLink(bytes(missing), "b", 12)),
            _pb.encode_unixfs(_pb.UnixFSData(_pb.DIRECTORY)),
        )
    )
    dir_cid = Cid.of(block, codec=DAG_PB)
    store.put(dir_cid, block)
    with pytest.raises(BlockNotFound):
        content.write_to(dir_cid, store, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["..", ".", "a/b", ""])
def test_unsafe_names_in_a_dag_are_refused(name: str, tmp_path: Path) -> None:
    store = content.MemoryBlockstore()
    child = content.add_bytes(b"evil", store)
    block = _pb.encode_node(
        _pb.PBNode(
            (_pb.PBLink(bytes(child), name, 4),), _pb.encode_unixfs(_pb.UnixFSData(_pb.DIRECTORY))
        )
    )
    cid = Cid.of(block, codec=DAG_PB)
    store.put(cid, block)
    with pytest.raises(ContentValueError, match="unsafe entry name"):
        content.write_to(cid, store, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_file_that_lies_about_its_size_is_refused() -> None:
    store = content.MemoryBlockstore()
    leaf = content.add_bytes(b"12345", store)
    data = _pb.encode_unixfs(_pb.UnixFSData(_pb.FILE, b"", 99, (99,)))
    block = _pb.encode_node(_pb.PBNode((_pb.PBLink(bytes(leaf), "", 5),), data))
    cid = Cid.of(block, codec=DAG_PB)
    store.put(cid, block)
    with pytest.raises(ContentValueError, match="claims 99 bytes"):
        content.read_bytes(cid, store)


def test_cat_of_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    store = content.MemoryBlockstore()
    cid = content.add_path(tmp_path, store)
    with pytest.raises(ContentValueError, match="is a directory"):
        content.read_bytes(cid, store)


def test_cid_forms() -> None:
    v0 = Cid.parse("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
    assert str(v0.to_v1()) == "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y"
    assert Cid.parse(bytes(v0)) == v0 and Cid.parse(bytes(v0.to_v1())) == v0.to_v1()
    assert v0 != v0.to_v1()
    with pytest.raises(ContentValueError, match="not a valid CID"):
        Cid.parse("Qmnot-a-cid")
    with pytest.raises(ContentValueError, match="CIDv0 is only dag-pb"):
        Cid.of(b"x", version=0)


def test_unknown_profile_suggests() -> None:
    with pytest.raises(ContentValueError, match="did you mean 'unixfs-v1-2025'"):
        content.get_profile("unixfs-v1-2024")
