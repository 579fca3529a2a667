"""dag-pb and UnixFS protobuf encoding, by hand, byte-identical to Kubo.

Specs: IPLD dag-pb (https://ipld.io/specs/codecs/dag-pb/spec/, "Canonical
form": Links before Data, links sorted by name when they are names, every
field present as written) and UnixFS (https://github.com/ipfs/specs/blob/main/UNIXFS.md,
"Data Format"). Kubo always writes a link's Name, even the empty one, and
writes UnixFS ``blocksizes`` unpacked. The decoder is strict: any malformed
input raises :class:`ContentValueError`, never an IndexError.
"""

from __future__ import annotations

from dataclasses import dataclass

from cairn.errors import ContentValueError

__all__ = [
    "PBLink",
    "PBNode",
    "UnixFSData",
    "decode_node",
    "decode_unixfs",
    "encode_node",
    "encode_unixfs",
    "read_varint",
    "varint",
]

# UnixFS Data.Type
RAW, DIRECTORY, FILE, METADATA, SYMLINK, HAMT_SHARD = 0, 1, 2, 3, 4, 5
MURMUR3_X64_64 = 0x22

_VARINT_CACHE = [bytes([i]) for i in range(128)]


def varint(n: int) -> bytes:
    """Unsigned LEB128, as protobuf and multiformats use."""
    if n < 128:
        return _VARINT_CACHE[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(buf: bytes | memoryview, pos: int, what: str = "varint") -> tuple[int, int]:
    """Decode a varint at ``pos``; return (value, new position)."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ContentValueError(f"truncated {what}")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ContentValueError(f"{what} longer than 64 bits")


def _field(tag: int, wire: int) -> bytes:
    return varint(tag << 3 | wire)


def _bytes_field(tag: int, data: bytes) -> bytes:
    return _field(tag, 2) + varint(len(data)) + data


@dataclass(frozen=True, slots=True)
class PBLink:
    """A dag-pb link: the child's CID bytes, its name, its cumulative size."""

    hash: bytes
    name: str = ""
    tsize: int = 0


@dataclass(frozen=True, slots=True)
class PBNode:
    links: tuple[PBLink, ...] = ()
    data: bytes | None = None


def encode_node(node: PBNode) -> bytes:
    """Encode a dag-pb node; links are written in the given order."""
    parts: list[bytes] = []
    for link in node.links:
        body = (
            _bytes_field(1, link.hash)
            + _bytes_field(2, link.name.encode())
            + _field(3, 0)
            + varint(link.tsize)
        )
        parts.append(_bytes_field(2, body))
    if node.data is not None:
        parts.append(_bytes_field(1, node.data))
    return b"".join(parts)


def _fields(buf: bytes | memoryview, what: str) -> list[tuple[int, int, int | bytes]]:
    """Split a protobuf message into (tag, wire type, value) triples."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos, what)
        tag, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos, what)
            out.append((tag, wire, value))
        elif wire == 2:
            size, pos = read_varint(buf, pos, what)
            if pos + size > len(buf):
                raise ContentValueError(f"truncated {what}: field {tag} overruns the block")
            out.append((tag, wire, bytes(buf[pos : pos + size])))
            pos += size
        else:
            raise ContentValueError(f"malformed {what}: unsupported wire type {wire}")
    return out


def _expect_bytes(value: int | bytes, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise ContentValueError(f"malformed {what}: expected bytes")
    return value


def _expect_int(value: int | bytes, what: str) -> int:
    if not isinstance(value, int):
        raise ContentValueError(f"malformed {what}: expected an integer")
    return value


def decode_node(block: bytes) -> PBNode:
    """Decode a dag-pb block."""
    links: list[PBLink] = []
    data: bytes | None = None
    for tag, _wire, value in _fields(block, "dag-pb node"):
        if tag == 2:
            links.append(_decode_link(_expect_bytes(value, "dag-pb link")))
        elif tag == 1:
            data = _expect_bytes(value, "dag-pb data")
        else:
            raise ContentValueError(f"malformed dag-pb node: unknown field {tag}")
    return PBNode(tuple(links), data)


def _decode_link(buf: bytes) -> PBLink:
    hash_: bytes | None = None
    name, tsize = "", 0
    for tag, _wire, value in _fields(buf, "dag-pb link"):
        if tag == 1:
            hash_ = _expect_bytes(value, "link hash")
        elif tag == 2:
            try:
                name = _expect_bytes(value, "link name").decode()
            except UnicodeDecodeError:
                raise ContentValueError("malformed dag-pb link: name is not UTF-8") from None
        elif tag == 3:
            tsize = _expect_int(value, "link tsize")
        else:
            raise ContentValueError(f"malformed dag-pb link: unknown field {tag}")
    if hash_ is None:
        raise ContentValueError("malformed dag-pb link: no hash")
    return PBLink(hash_, name, tsize)


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """The UnixFS ``Data`` message carried in a dag-pb node's Data field."""

    type: int
    data: bytes = b""
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()
    hash_type: int | None = None
    fanout: int | None = None


def encode_unixfs(msg: UnixFSData) -> bytes:
    out = _field(1, 0) + varint(msg.type)
    if msg.data:
        out += _bytes_field(2, msg.data)
    if msg.filesize is not None:
        out += _field(3, 0) + varint(msg.filesize)
    for size in msg.blocksizes:
        out += _field(4, 0) + varint(size)
    if msg.hash_type is not None:
        out += _field(5, 0) + varint(msg.hash_type)
    if msg.fanout is not None:
        out += _field(6, 0) + varint(msg.fanout)
    return out


def decode_unixfs(buf: bytes) -> UnixFSData:
    """Decode a UnixFS Data message (mode and mtime are accepted and ignored)."""
    type_: int | None = None
    data, filesize, sizes = b"", None, []
    hash_type = fanout = None
    for tag, _wire, value in _fields(buf, "UnixFS data"):
        if tag == 1:
            type_ = _expect_int(value, "UnixFS type")
        elif tag == 2:
            data = _expect_bytes(value, "UnixFS data")
        elif tag == 3:
            filesize = _expect_int(value, "UnixFS filesize")
        elif tag == 4 and isinstance(value, bytes):  # packed, as some writers do
            pos = 0
            while pos < len(value):
                size, pos = read_varint(value, pos, "UnixFS blocksizes")
                sizes.append(size)
        elif tag == 4:
            sizes.append(_expect_int(value, "UnixFS blocksize"))
        elif tag == 5:
            hash_type = _expect_int(value, "UnixFS hashType")
        elif tag == 6:
            fanout = _expect_int(value, "UnixFS fanout")
    if type_ is None or type_ > HAMT_SHARD:
        raise ContentValueError(f"malformed UnixFS data: bad or missing type {type_}")
    return UnixFSData(type_, data, filesize, tuple(sizes), hash_type, fanout)
