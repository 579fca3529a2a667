"""The UnixFS importer: bytes, files and folders to a DAG, byte-identical to Kubo.

Specs: UnixFS (https://github.com/ipfs/specs/blob/main/UNIXFS.md), IPIP-499
profiles, and the behaviour of boxo's ``importer/balanced`` and ``ipld/unixfs/hamt``
as pinned by Kubo's tests (vectors in tests/vectors/unixfs).

Balanced layout: leaves are grouped ``max_links`` to a node; a tree of depth
``d`` holds ``max_links**d`` leaves; a file of one chunk is its leaf. The last,
partial subtree at every level is still wrapped down to full depth, so a file
one chunk over ``max_links`` chunks has a root of two links: a full node and a
node with one leaf. :class:`_Balanced` builds that shape while streaming, keeping
one open node per level.

Leaves hash independently, so they are hashed on a thread pool (hashlib
releases the GIL); the tree above them is built in order on the caller's thread.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

import mmh3

from cairn.content import _pb
from cairn.content.base import Blockstore
from cairn.content.cid import DAG_PB, RAW, SHA2_256, Cid
from cairn.content.profiles import Profile, get_profile
from cairn.errors import ContentValueError

__all__ = ["Node", "add_bytes", "add_path", "add_stream"]

Progress = Callable[[int], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Node:
    """An imported DAG node: its CID, cumulative DAG size, and UnixFS file size."""

    cid: Cid
    tsize: int
    filesize: int = 0


class _Builder:
    """Turns chunks and children into blocks for one profile and one store."""

    def __init__(self, profile: Profile, store: Blockstore) -> None:
        self.p = profile
        self.store = store

    def emit(self, block: bytes, codec: int) -> Cid:
        version = self.p.cid_version if codec == DAG_PB else 1
        cid = Cid(version, codec, SHA2_256, hashlib.sha256(block).digest())
        self.store.put(cid, block, verified=True)
        return cid

    def leaf(self, chunk: bytes) -> Node:
        if self.p.raw_leaves:
            return Node(self.emit(chunk, RAW), len(chunk), len(chunk))
        data = _pb.encode_unixfs(_pb.UnixFSData(_pb.FILE, chunk, len(chunk)))
        block = _pb.encode_node(_pb.PBNode((), data))
        return Node(self.emit(block, DAG_PB), len(block), len(chunk))

    def file_node(self, children: list[Node]) -> Node:
        sizes = tuple(c.filesize for c in children)
        data = _pb.encode_unixfs(_pb.UnixFSData(_pb.FILE, b"", sum(sizes), sizes))
        links = tuple(_pb.PBLink(bytes(c.cid), "", c.tsize) for c in children)
        block = _pb.encode_node(_pb.PBNode(links, data))
        tsize = len(block) + sum(c.tsize for c in children)
        return Node(self.emit(block, DAG_PB), tsize, sum(sizes))

    def node(self, links: list[tuple[str, Node]], unixfs: _pb.UnixFSData) -> Node:
        pb_links = tuple(_pb.PBLink(bytes(n.cid), name, n.tsize) for name, n in links)
        block = _pb.encode_node(_pb.PBNode(pb_links, _pb.encode_unixfs(unixfs)))
        return Node(self.emit(block, DAG_PB), len(block) + sum(n.tsize for _, n in links))


class _Balanced:
    """Streams leaves into boxo's balanced layout, one open node per level."""

    def __init__(self, builder: _Builder) -> None:
        self.b = builder
        self.levels: list[list[Node]] = [[]]
        self.count = 0

    def add(self, leaf: Node) -> None:
        self.count += 1
        self._push(0, leaf)

    def _push(self, level: int, node: Node) -> None:
        if level == len(self.levels):
            self.levels.append([])
        if len(self.levels[level]) == self.b.p.max_links:
            full, self.levels[level] = self.levels[level], []
            self._push(level + 1, self.b.file_node(full))
        self.levels[level].append(node)

    def finish(self) -> Node:
        if self.count == 0:
            return self.b.leaf(b"")
        if self.count == 1:
            return self.levels[0][0]
        depth, capacity = 1, self.b.p.max_links
        while capacity < self.count:
            depth, capacity = depth + 1, capacity * self.b.p.max_links
        for level in range(depth - 1):
            partial, self.levels[level] = self.levels[level], []
            self._push(level + 1, self.b.file_node(partial))
        return self.b.file_node(self.levels[depth - 1])


def _ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map`` on a thread pool, in order, with a bounded number of items in flight."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chunks(stream: BinaryIO, size: int, progress: Progress | None) -> Iterator[bytes]:
    """Fixed-size chunks (Kubo's ``size-N`` splitter: full chunks, a short last one)."""
    while True:
        chunk = stream.read(size)
        while chunk and len(chunk) < size:  # a pipe may return short reads
            more = stream.read(size - len(chunk))
            if not more:
                break
            chunk += more
        if not chunk:
            return
        if progress:
            progress(len(chunk))
        yield chunk


def add_stream(
    stream: BinaryIO,
    store: Blockstore,
    profile: str | Profile = "unixfs-v1-2025",
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> Node:
    """Import one file's bytes from a binary stream."""
    builder = _Builder(get_profile(profile), store)
    tree = _Balanced(builder)
    chunks = _chunks(stream, builder.p.chunk_size, progress)
    for leaf in _ordered_map(builder.leaf, chunks, workers):
        tree.add(leaf)
    return tree.finish()


def add_bytes(data: bytes, store: Blockstore, profile: str | Profile = "unixfs-v1-2025") -> Cid:
    """Import ``data`` as one UnixFS file; return its root CID."""
    import io

    return add_stream(io.BytesIO(data), store, profile).cid


def add_path(
    path: Path,
    store: Blockstore,
    profile: str | Profile = "unixfs-v1-2025",
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> Cid:
    """Import a file or a directory tree (no wrapping directory); return the root CID."""
    builder = _Builder(get_profile(profile), store)
    return _add_any(path, builder, workers, progress).cid


def _add_any(path: Path, b: _Builder, workers: int, progress: Progress | None) -> Node:
    if path.is_symlink():
        target = os.readlink(path).encode()
        return b.node([], _pb.UnixFSData(_pb.SYMLINK, target))
    if path.is_dir():
        children = [(p.name, _add_any(p, b, workers, progress)) for p in path.iterdir()]
        return _directory(children, b)
    if not path.is_file():
        raise ContentValueError(f"cannot import {path}: not a file, directory or symlink")
    with path.open("rb") as fh:
        return add_stream(fh, b.store, b.p, workers=workers, progress=progress)


def _directory(children: list[tuple[str, Node]], b: _Builder) -> Node:
    """A basic directory, or a HAMT shard when it would exceed the profile's threshold."""
    links = sorted(children, key=lambda item: item[0].encode())
    if b.p.hamt_estimation == "links":
        estimate = sum(len(name.encode()) + len(bytes(n.cid)) for name, n in links)
    else:
        pb_links = tuple(_pb.PBLink(bytes(n.cid), name, n.tsize) for name, n in links)
        dir_data = _pb.encode_unixfs(_pb.UnixFSData(_pb.DIRECTORY))
        estimate = len(_pb.encode_node(_pb.PBNode(pb_links, dir_data)))
    if estimate <= b.p.hamt_threshold:
        return b.node(links, _pb.UnixFSData(_pb.DIRECTORY))
    hashed = [
        (mmh3.hash64(name.encode(), 0, signed=False)[0].to_bytes(8, "big"), name, n)
        for name, n in links
    ]
    return _shard(hashed, 0, b)


def _shard(entries: list[tuple[bytes, str, Node]], depth: int, b: _Builder) -> Node:
    """One HAMT shard level: bucket = byte ``depth`` of the name's murmur3-x64-64 hash."""
    if b.p.hamt_fanout != 256:
        raise ContentValueError("only HAMT fanout 256 is supported")
    if depth >= 8:
        raise ContentValueError("HAMT hash exhausted: names collide in all 64 bits")
    buckets: dict[int, list[tuple[bytes, str, Node]]] = {}
    for entry in entries:
        buckets.setdefault(entry[0][depth], []).append(entry)
    links: list[tuple[str, Node]] = []
    bitfield = 0
    for index in sorted(buckets):
        bitfield |= 1 << index
        items = buckets[index]
        if len(items) == 1:
            links.append((f"{index:02X}{items[0][1]}", items[0][2]))
        else:
            links.append((f"{index:02X}", _shard(items, depth + 1, b)))
    bits = bitfield.to_bytes((bitfield.bit_length() + 7) // 8, "big")
    shard = _pb.UnixFSData(_pb.HAMT_SHARD, bits, hash_type=_pb.MURMUR3_X64_64, fanout=256)
    return b.node(links, shard)
