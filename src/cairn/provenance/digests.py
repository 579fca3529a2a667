"""The sha256 digest of an artifact, as a manifest's subject records it.

in-toto subjects carry a ``DigestSet``; cairn records ``sha256``:

* a **file**: sha256 of its bytes;
* a **directory**: sha256 of its listing, one line per regular file,
  ``"<sha256 hex of the file>  <path relative to the directory>\\n"``, paths
  with ``/`` separators, sorted by their UTF-8 bytes. This is exactly the output
  of ``sha256sum`` over ``LC_ALL=C sort``-ed relative paths, so anyone can
  recompute it with coreutils. Empty directories do not contribute.

Symlinks and special files are refused: a published artifact must be
self-contained bytes. The same definition is computed from a local path
(:func:`path_sha256`) and from files read back out of the blockstore
(:func:`listing_sha256`), so verification compares like with like.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from cairn.content import Blockstore, Cid, iter_file, list_directory, stat
from cairn.errors import ManifestError

__all__ = ["file_sha256", "listing_sha256", "path_sha256", "stored_sha256"]

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def listing_sha256(entries: Iterable[tuple[str, str]]) -> str:
    """Hex sha256 of the listing of ``(relative path, sha256 hex)`` pairs.

    >>> listing_sha256([("b", "00" * 32), ("a", "11" * 32)])[:12]
    'fabf5fb920fd'
    """
    rows = sorted(entries, key=lambda e: e[0].encode())
    h = hashlib.sha256()
    for rel, digest in rows:
        if "\n" in rel or "\\" in rel:
            raise ManifestError(f"file name {rel!r} cannot be listed (newline or backslash)")
        h.update(f"{digest}  {rel}\n".encode())
    return h.hexdigest()


def _walk(root: Path, rel: str = "") -> Iterable[tuple[str, str]]:
    for child in root.iterdir():
        name = f"{rel}{child.name}"
        if child.is_symlink():
            raise ManifestError(f"cannot publish {root}: {name} is a symlink")
        if child.is_dir():
            yield from _walk(child, name + "/")
        elif child.is_file():
            yield name, file_sha256(child)
        else:
            raise ManifestError(f"cannot publish {root}: {name} is not a regular file")


def path_sha256(path: Path) -> tuple[str, str]:
    """``(sha256 hex, "file" | "directory")`` of a local file or directory."""
    if path.is_symlink():
        raise ManifestError(f"cannot publish {path}: it is a symlink")
    if path.is_dir():
        return listing_sha256(_walk(path)), "directory"
    if path.is_file():
        return file_sha256(path), "file"
    raise ManifestError(f"cannot publish {path}: no such file or directory")


def _stored_file(cid: Cid, store: Blockstore) -> str:
    h = hashlib.sha256()
    for piece in iter_file(cid, store):
        h.update(piece)
    return h.hexdigest()


def _stored_walk(cid: Cid, store: Blockstore, rel: str = "") -> Iterable[tuple[str, str]]:
    for name, child in list_directory(cid, store):
        kind = stat(child, store).kind
        if kind == "directory":
            yield from _stored_walk(child, store, f"{rel}{name}/")
        elif kind == "file":
            yield f"{rel}{name}", _stored_file(child, store)
        else:
            raise ManifestError(f"{cid}: {rel}{name} is a {kind}, not a regular file")


def stored_sha256(cid: Cid, store: Blockstore) -> tuple[str, str]:
    """``(sha256 hex, "file" | "directory")`` of a UnixFS DAG read from ``store``.

    Every block is verified against its CID on the way (the blockstore does it);
    a missing block raises :class:`~cairn.errors.BlockNotFound`.
    """
    kind = stat(cid, store).kind
    if kind == "directory":
        return listing_sha256(_stored_walk(cid, store)), "directory"
    if kind == "file":
        return _stored_file(cid, store), "file"
    raise ManifestError(f"{cid} is a {kind}, not a file or directory")
