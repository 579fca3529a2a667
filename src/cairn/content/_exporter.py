"""The UnixFS exporter: read a file's bytes or a directory tree back from a DAG.

Spec: UnixFS (https://github.com/ipfs/specs/blob/main/UNIXFS.md), "Importing
and exporting" and "HAMTDirectory". Every block comes through
:meth:`Blockstore.get`, so it is verified against its CID. A DAG is untrusted
input: sizes must add up, names must be single safe path components, and a
directory is written to a temporary sibling and renamed into place only when
complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cairn.content import _pb
from cairn.content.base import Blockstore
from cairn.content.cid import DAG_PB, RAW, Cid
from cairn.errors import ContentValueError

__all__ = ["Entry", "iter_file", "list_directory", "read_bytes", "stat", "walk_blocks", "write_to"]


@dataclass(frozen=True, slots=True)
class Entry:
    """What a CID is: ``kind`` is file, directory or symlink; ``size`` in bytes for files."""

    cid: Cid
    kind: str
    size: int


def _decode(cid: Cid, store: Blockstore) -> tuple[_pb.PBNode, _pb.UnixFSData]:
    block = store.get(cid)
    node = _pb.decode_node(block)
    if node.data is None:
        raise ContentValueError(f"{cid} is a dag-pb node without UnixFS data")
    return node, _pb.decode_unixfs(node.data)


def stat(cid: Cid, store: Blockstore) -> Entry:
    """The kind and size of a UnixFS node."""
    if cid.codec == RAW:
        return Entry(cid, "file", len(store.get(cid)))
    if cid.codec != DAG_PB:
        raise ContentValueError(f"{cid} is {cid.codec_name}, not a UnixFS node")
    _node, fs = _decode(cid, store)
    if fs.type in (_pb.FILE, _pb.RAW):
        size = fs.filesize if fs.filesize is not None else len(fs.data)
        return Entry(cid, "file", size)
    if fs.type in (_pb.DIRECTORY, _pb.HAMT_SHARD):
        return Entry(cid, "directory", 0)
    if fs.type == _pb.SYMLINK:
        return Entry(cid, "symlink", len(fs.data))
    raise ContentValueError(f"{cid} has unsupported UnixFS type {fs.type}")


def iter_file(cid: Cid, store: Blockstore) -> Iterator[bytes]:
    """Yield a file's bytes in order, checking that the sizes in the DAG add up."""
    if cid.codec == RAW:
        yield store.get(cid)
        return
    node, fs = _decode(cid, store)
    if fs.type in (_pb.DIRECTORY, _pb.HAMT_SHARD):
        raise ContentValueError(f"{cid} is a directory, not a file")
    if fs.type not in (_pb.FILE, _pb.RAW):
        raise ContentValueError(f"{cid} is not a file (UnixFS type {fs.type})")
    produced = len(fs.data)
    if fs.data:
        yield fs.data
    for link in node.links:
        for piece in iter_file(Cid.parse(link.hash), store):
            produced += len(piece)
            yield piece
    if fs.filesize is not None and produced != fs.filesize:
        raise ContentValueError(f"{cid} claims {fs.filesize} bytes but holds {produced}")


def read_bytes(cid: Cid, store: Blockstore) -> bytes:
    """A whole file's bytes."""
    return b"".join(iter_file(cid, store))


def list_directory(cid: Cid, store: Blockstore) -> list[tuple[str, Cid]]:
    """A directory's entries (name, CID), sorted by name; HAMT shards are flattened."""
    node, fs = _decode(cid, store) if cid.codec == DAG_PB else (None, None)
    if node is None or fs is None or fs.type not in (_pb.DIRECTORY, _pb.HAMT_SHARD):
        raise ContentValueError(f"{cid} is not a directory")
    entries = (
        list(_shard_entries(node, fs, store))
        if fs.type == _pb.HAMT_SHARD
        else [(link.name, Cid.parse(link.hash)) for link in node.links]
    )
    for name, _ in entries:
        _check_name(name, cid)
    return sorted(entries, key=lambda e: e[0].encode())


def _shard_entries(
    node: _pb.PBNode, fs: _pb.UnixFSData, store: Blockstore
) -> Iterator[tuple[str, Cid]]:
    width = len(f"{(fs.fanout or 256) - 1:X}")
    for link in node.links:
        child = Cid.parse(link.hash)
        if len(link.name) > width:
            yield link.name[width:], child
            continue
        sub, sub_fs = _decode(child, store)
        if sub_fs.type != _pb.HAMT_SHARD:
            raise ContentValueError(f"HAMT link {link.name!r} points to a non-shard node")
        yield from _shard_entries(sub, sub_fs, store)


def _check_name(name: str, parent: Cid) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ContentValueError(f"directory {parent} has an unsafe entry name {name!r}")


def write_to(cid: Cid, store: Blockstore, dest: Path) -> None:
    """Write a file or directory tree to ``dest`` (which must not exist), atomically."""
    if dest.exists():
        raise ContentValueError(f"{dest} already exists")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        _write_entry(cid, store, tmp / "x")
        os.replace(tmp / "x", dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_entry(cid: Cid, store: Blockstore, path: Path) -> None:
    kind = stat(cid, store).kind
    if kind == "directory":
        path.mkdir()
        for name, child in list_directory(cid, store):
            _write_entry(child, store, path / name)
    elif kind == "symlink":
        _, fs = _decode(cid, store)
        os.symlink(fs.data.decode(errors="replace"), path)
    else:
        with path.open("wb") as fh:
            for piece in iter_file(cid, store):
                fh.write(piece)


def walk_blocks(root: Cid, store: Blockstore) -> Iterator[tuple[Cid, bytes]]:
    """Every block of a DAG, depth-first, each once (the order CAR export uses)."""
    seen: set[bytes] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        key = cid.multihash + bytes([cid.codec & 0xFF])
        if key in seen:
            continue
        seen.add(key)
        block = store.get(cid)
        yield cid, block
        if cid.codec == DAG_PB:
            links = _pb.decode_node(block).links
            stack.extend(Cid.parse(link.hash) for link in reversed(links))
