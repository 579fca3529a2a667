"""CAR (Content Addressable aRchive) v1 export and import; v2 read.

Specs: CARv1 (https://ipld.io/specs/transport/car/carv1/) and CARv2
(https://ipld.io/specs/transport/car/carv2/). A CARv1 is
``varint(len) || dag-cbor {roots, version: 1}`` then sections
``varint(len(cid) + len(block)) || cid || block``. This is cairn's interchange
with Kubo (``ipfs dag import``), ipfs-car and pinning services.

Export is depth-first from the root with no duplicate blocks (what
``ipfs dag export`` writes). Import is all-or-nothing: every block is read and
verified before the first one is stored, so a truncated or corrupt CAR leaves the
blockstore untouched. Limits follow go-car: a section over 8 MiB or a header
that claims more than the file holds is rejected.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cairn._atomic import atomic_write
from cairn.content import _cbor
from cairn.content._exporter import walk_blocks
from cairn.content._pb import read_varint, varint
from cairn.content.base import Blockstore
from cairn.content.cid import Cid
from cairn.errors import BlockVerificationError, CarError, ContentValueError

__all__ = ["CarHeader", "export_car", "import_car", "iter_car", "write_car"]

MAX_SECTION = 8 << 20
MAX_HEADER = 1 << 20
_V2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")


@dataclass(frozen=True)
class CarHeader:
    version: int
    roots: tuple[Cid, ...]


def write_car(roots: Iterable[Cid], blocks: Iterable[tuple[Cid, bytes]], out: BinaryIO) -> int:
    """Write a CARv1; return the number of blocks written."""
    header = _cbor.encode_car_header([bytes(r) for r in roots])
    out.write(varint(len(header)) + header)
    count = 0
    for cid, block in blocks:
        raw = bytes(cid)
        out.write(varint(len(raw) + len(block)))
        out.write(raw)
        out.write(block)
        count += 1
    return count


def export_car(root: Cid, store: Blockstore, path: Path) -> int:
    """Export the DAG under ``root`` to a CARv1 file (written atomically)."""
    with atomic_write(path) as fh:
        return write_car([root], walk_blocks(root, store), fh)


def _read_varint(stream: BinaryIO, what: str) -> int | None:
    value = shift = 0
    first = True
    while True:
        byte = stream.read(1)
        if not byte:
            if first:
                return None
            raise CarError(f"truncated CAR: unexpected EOF in {what} length")
        first = False
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            raise CarError(f"invalid {what} data: length varint too long")


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise CarError(f"truncated CAR: unexpected EOF in {what} ({len(data)} of {size} bytes)")
    return data


def _read_header(stream: BinaryIO) -> CarHeader:
    size = _read_varint(stream, "header")
    if size is None:
        raise CarError("not a CAR: the file is empty")
    if size == 0 or size > MAX_HEADER:
        raise CarError(f"invalid header data: length {size} is out of range")
    raw = _read_exact(stream, size, "header")
    try:
        doc = _cbor.decode(raw)
    except ContentValueError as exc:
        raise CarError(f"invalid header data: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), int):
        raise CarError("invalid header data: no version")
    version = doc["version"]
    if version == 2:
        return CarHeader(2, ())
    if version != 1:
        raise CarError(f"invalid car version: {version}")
    roots = doc.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, _cbor.CidLink) for r in roots):
        raise CarError("invalid header data: roots must be a list of CIDs")
    try:
        return CarHeader(1, tuple(Cid.parse(r.raw) for r in roots))
    except ContentValueError as exc:
        raise CarError(f"invalid header data: {exc}") from None


def _split_cid(section: bytes) -> tuple[Cid, bytes]:
    """Split a section into its CID and block (CIDv0 is a bare sha2-256 multihash)."""
    try:
        if section[:2] == b"\x12\x20":
            end = 34
        else:
            pos = 0
            for _ in range(3):  # version, codec, hash code
                _, pos = read_varint(section, pos)
            length, pos = read_varint(section, pos)
            end = pos + length
        if end > len(section):
            raise ContentValueError("CID overruns its section")
        return Cid.parse(section[:end]), section[end:]
    except ContentValueError as exc:
        raise CarError(f"invalid section data: bad CID ({exc})") from None


def iter_car(
    stream: BinaryIO, *, zero_length_as_eof: bool = False
) -> tuple[CarHeader, Iterator[tuple[Cid, bytes]]]:
    """Read a CAR's header, and an iterator of its verified blocks (v1, or v2's payload)."""
    header = _read_header(stream)
    if header.version == 2:
        stream.seek(0)
        if _read_exact(stream, 11, "CARv2 pragma") != _V2_PRAGMA:
            raise CarError("invalid CARv2 pragma")
        fixed = _read_exact(stream, 40, "CARv2 header")
        offset = int.from_bytes(fixed[16:24], "little")
        size = int.from_bytes(fixed[24:32], "little")
        stream.seek(offset)
        inner = io.BytesIO(_read_exact(stream, size, "CARv2 data payload"))
        return iter_car(inner, zero_length_as_eof=zero_length_as_eof)
    return header, _sections(stream, zero_length_as_eof)


def _sections(stream: BinaryIO, zero_length_as_eof: bool) -> Iterator[tuple[Cid, bytes]]:
    index = 0
    while True:
        size = _read_varint(stream, "section")
        if size is None:
            return
        if size == 0:
            if zero_length_as_eof:
                return
            raise CarError(f"invalid section data: zero-length section after block {index}")
        if size > MAX_SECTION:
            raise CarError(f"invalid section data: length {size} is beyond the allowed maximum")
        cid, block = _split_cid(_read_exact(stream, size, f"section {index}"))
        try:
            cid.verify(block)
        except BlockVerificationError as exc:
            raise CarError(f"corrupt block {index} in CAR: {exc}") from None
        index += 1
        yield cid, block


def import_car(path: Path, store: Blockstore, *, zero_length_as_eof: bool = False) -> CarHeader:
    """Import every block of a CAR file; nothing is stored unless all of it verifies."""
    try:
        with path.open("rb") as fh:
            header, blocks = iter_car(fh, zero_length_as_eof=zero_length_as_eof)
            for _ in blocks:  # first pass: verify everything
                pass
        with path.open("rb") as fh:
            header, blocks = iter_car(fh, zero_length_as_eof=zero_length_as_eof)
            for cid, block in blocks:
                store.put(cid, block, verified=True)
    except OSError as exc:
        raise CarError(f"cannot read {path}: {exc.strerror}") from None
    return header
