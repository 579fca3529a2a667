"""Just enough DAG-CBOR for CAR headers.

Spec: RFC 8949 (CBOR) and the DAG-CBOR codec
(https://ipld.io/specs/codecs/dag-cbor/spec/): map keys sorted length-first,
CIDs as tag 42 over a byte string with a leading 0x00. The decoder handles the
major types a header can hold, bounds every length by the input, and limits
nesting, so garbage raises :class:`ContentValueError` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from cairn.errors import ContentValueError

__all__ = ["CidLink", "decode", "encode_car_header"]

_MAX_DEPTH = 16


@dataclass(frozen=True)
class CidLink:
    """A CID found under tag 42 (its binary form, without the 0x00 prefix)."""

    raw: bytes


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes([major << 5 | extra]) + n.to_bytes(width, "big")
    raise ContentValueError("integer too large for CBOR")


def encode_car_header(roots: list[bytes]) -> bytes:
    """``{roots: [CID...], version: 1}`` in canonical DAG-CBOR."""
    out = _head(5, 2) + _head(3, 5) + b"roots" + _head(4, len(roots))
    for raw in roots:
        out += _head(6, 42) + _head(2, len(raw) + 1) + b"\x00" + raw
    return out + _head(3, 7) + b"version" + _head(0, 1)


def decode(data: bytes) -> object:
    """Decode one CBOR item that must span ``data`` exactly."""
    value, pos = _item(data, 0, 0)
    if pos != len(data):
        raise ContentValueError(f"{len(data) - pos} trailing bytes after the CBOR item")
    return value


def _arg(data: bytes, pos: int) -> tuple[int, int, int]:
    if pos >= len(data):
        raise ContentValueError("unexpected end of CBOR data")
    major, info = data[pos] >> 5, data[pos] & 31
    pos += 1
    if info < 24:
        return major, info, pos
    if info > 27:
        raise ContentValueError(f"unsupported CBOR additional info {info}")
    width = 1 << (info - 24)
    if pos + width > len(data):
        raise ContentValueError("unexpected end of CBOR data")
    return major, int.from_bytes(data[pos : pos + width], "big"), pos + width


def _item(data: bytes, pos: int, depth: int) -> tuple[object, int]:
    if depth > _MAX_DEPTH:
        raise ContentValueError("CBOR nested too deeply")
    start = pos
    major, n, pos = _arg(data, pos)
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major in (2, 3):
        if pos + n > len(data):
            raise ContentValueError("CBOR string overruns the data")
        raw = data[pos : pos + n]
        if major == 2:
            return raw, pos + n
        try:
            return raw.decode(), pos + n
        except UnicodeDecodeError:
            raise ContentValueError("CBOR text is not UTF-8") from None
    if major == 4:
        items = []
        for _ in range(min(n, len(data))):
            item, pos = _item(data, pos, depth + 1)
            items.append(item)
        if len(items) != n:
            raise ContentValueError("CBOR array overruns the data")
        return items, pos
    if major == 5:
        out: dict[object, object] = {}
        for _ in range(n):
            key, pos = _item(data, pos, depth + 1)
            if not isinstance(key, str):
                raise ContentValueError("DAG-CBOR map keys must be strings")
            out[key], pos = _item(data, pos, depth + 1)
        return out, pos
    if major == 6:
        inner, pos = _item(data, pos, depth + 1)
        if n != 42 or not isinstance(inner, bytes) or inner[:1] != b"\x00":
            raise ContentValueError(f"unsupported CBOR tag {n} at byte {start}")
        return CidLink(inner[1:]), pos
    simple = {20: False, 21: True, 22: None}
    if n in simple and data[start] & 31 == n:
        return simple[n], pos
    raise ContentValueError(f"unsupported CBOR simple value at byte {start}")
