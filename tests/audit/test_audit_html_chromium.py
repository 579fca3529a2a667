"""The HTML report opens in headless Chromium and draws the rosette's six petals.

Chromium (Debian's ``chromium``, installed by ``make test``) takes a screenshot;
a small PNG decoder (zlib and the five PNG filters, RFC 2083 / PNG spec
section 9) reads the pixel at each petal's known position and checks its colour
matches the petal's rating. A missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.audit import LAYERS, Report, render
from cairn.audit._svg import CENTER, COLORS, petal_point

Pixel = tuple[int, int, int]

MIXED = {  # two petals of each colour
    "layers.inference.operators": 1,  # bad
    "layers.governance.control": {"by": "admin"},  # bad
    "layers.training.contributions_signed": False,  # warning
    "layers.verification.slashing": False,  # warning
}
EXPECTED = {
    "storage": "good",
    "inference": "bad",
    "training": "warning",
    "identity_payments": "good",
    "governance": "bad",
    "verification": "warning",
}


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed: run `make test` (it apt-get installs chromium)")
    return exe


def _screenshot(html: Path, png: Path, profile: Path) -> None:
    args = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
        f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=800,800",
        html.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, timeout=120, check=False)
    assert png.exists(), done.stderr.decode(errors="replace")[-2000:]


def decode_png(data: bytes) -> tuple[int, int, Callable[[int, int], Pixel]]:
    """Width, height and a pixel getter for an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    height = depth = colour = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert (depth, interlace) == (8, 0) and colour in (2, 6), (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line

    def pixel(x: int, y: int) -> Pixel:
        r, g, b = rows[y][x * bpp : x * bpp + 3]
        return r, g, b

    return width, height, pixel


def _hex(colour: str) -> Pixel:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _close(a: Pixel, b: Pixel, tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def shot(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Report], Callable[[int, int], Pixel]]:
    def take(report: Report) -> Callable[[int, int], Pixel]:
        tmp = tmp_path_factory.mktemp("shot")
        html = tmp / "report.html"
        html.write_text(render(report, "html"), encoding="utf-8")
        png = tmp / "shot.png"
        _screenshot(html, png, tmp / "profile")
        width, height, pixel = decode_png(png.read_bytes())
        assert (width, height) == (800, 800)
        return pixel

    return take


def test_six_petals_drawn_in_their_colours(
    report: Callable[..., Report], shot: Callable[[Report], Callable[[int, int], Pixel]]
) -> None:
    r = report(MIXED)
    assert {k: p.rating for k, p in r.rosette.items()} == EXPECTED
    pixel = shot(r)
    for layer in LAYERS:
        x, y = petal_point(layer)
        got = pixel(x, y)
        assert _close(got, _hex(COLORS[EXPECTED[layer]])), (layer, (x, y), got)
    # the stage disc in the middle, and white paper between the petals' tips
    assert _close(pixel(round(CENTER[0]), round(CENTER[1]) - 20), _hex("#1f2937"))
    assert _close(pixel(5, 5), (255, 255, 255))


def test_the_picture_follows_the_ratings(
    report: Callable[..., Report], shot: Callable[[Report], Callable[[int, int], Pixel]]
) -> None:
    pixel = shot(report())  # the good stack: six green petals
    green = _hex(COLORS["good"])
    assert all(_close(pixel(*petal_point(layer)), green) for layer in LAYERS)


def test_png_decoder_reads_all_five_filters() -> None:
    width, height = 3, 5
    rgb = [
        [((x * 40 + y * 7) % 256, (y * 50) % 256, (x * y * 9) % 256) for x in range(width)]
        for y in range(height)
    ]
    raw = b"".join(bytes([f]) + _filter(f, rgb, y) for y, f in enumerate(range(5)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw))
    png += _chunk(b"IEND", b"")
    _, _, pixel = decode_png(png)
    assert [[pixel(x, y) for x in range(width)] for y in range(height)] == rgb


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _filter(kind: int, rgb: list[list[Pixel]], y: int) -> bytes:
    line = bytes(v for px in rgb[y] for v in px)
    prev = bytes(v for px in rgb[y - 1] for v in px) if y else bytes(len(line))
    out = bytearray()
    for i, v in enumerate(line):
        a = line[i - 3] if i >= 3 else 0
        b, c = prev[i], prev[i - 3] if i >= 3 else 0
        p = a + b - c
        paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
        pred = [0, a, b, (a + b) // 2, paeth][kind]
        out.append((v - pred) & 0xFF)
    return bytes(out)
