"""CAR v1 against the IPLD and go-car fixtures (tests/vectors/car, see SOURCES.md)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from cairn import content
from cairn.content.cid import Cid
from cairn.errors import CarError

CAR = Path(__file__).resolve().parents[1] / "vectors" / "car"
EXPECT = json.loads((CAR / "expectations.json").read_text())["files"]


def _read_all(path: Path, **kw: bool) -> tuple[content.CarHeader, list[tuple[Cid, bytes]]]:
    with path.open("rb") as fh:
        header, blocks = content.iter_car(fh, **kw)
        return header, list(blocks)


def test_sample_v1_matches_go_car_section_table() -> None:
    exp = EXPECT["go-car/sample-v1.car"]
    path = CAR / "go-car" / "sample-v1.car"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == exp["sha256"]
    header, blocks = _read_all(path)
    assert [str(r) for r in header.roots] == exp["stated"]["roots"]
    assert len(blocks) == exp["stated"]["block_count"]
    columns = exp["derived"]["blocks_columns"]
    table = [dict(zip(columns, row, strict=True)) for row in exp["derived"]["blocks"]]
    assert [str(c) for c, _ in blocks] == [row["cid"] for row in table]
    assert [len(b) for _, b in blocks] == [row["blockLength"] for row in table]
    assert str(Cid.parse(exp["stated"]["contains_cid"])) in {str(c) for c, _ in blocks}


def test_carv1_basic_fixture_layout() -> None:
    spec = json.loads((CAR / "ipld-spec" / "carv1-basic.json").read_text())
    header, blocks = _read_all(CAR / "ipld-spec" / "carv1-basic.car")
    assert [str(r) for r in header.roots] == [r["/"] for r in spec["header"]["roots"]]
    assert [str(c) for c, _ in blocks] == [b["cid"]["/"] for b in spec["blocks"]]
    assert [len(b) for _, b in blocks] == [b["blockLength"] for b in spec["blocks"]]
    # writing the same header and blocks back gives the same bytes
    out = io.BytesIO()
    content.write_car(header.roots, blocks, out)
    assert out.getvalue() == (CAR / "ipld-spec" / "carv1-basic.car").read_bytes()


@pytest.mark.parametrize("name", ["ipld-spec/carv2-basic.car", "go-car/sample-wrapped-v2.car"])
def test_carv2_payload_is_read(name: str) -> None:
    header, blocks = _read_all(CAR / name)
    exp = EXPECT[name]
    stated = exp["stated"] if isinstance(exp["stated"], dict) else {}
    count = stated.get("block_count") or exp["derived"]["inner_carv1_block_count"]
    assert len(blocks) == count
    assert header.roots


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("go-car/sample-rootless-v42.car", "invalid car version: 42"),
        ("go-car/sample-corrupt-pragma.car", "unexpected EOF"),
        ("go-car/badheaderlength.car", "invalid header data"),
        ("go-car/badsectionlength.car", "invalid section data"),
        ("go-car/sample-v1-with-zero-len-section.car", "zero-length section"),
    ],
)
def test_bad_cars_fail_with_go_car_reasons(name: str, message: str) -> None:
    with pytest.raises(CarError, match=message):
        _read_all(CAR / name)


def test_truncated_last_section_yields_good_blocks_then_fails() -> None:
    with (CAR / "go-car" / "sample-v1-tailing-corrupt-section.car").open("rb") as fh:
        _, blocks = content.iter_car(fh)
        good = []
        with pytest.raises(CarError, match="unexpected EOF"):
            for item in blocks:
                good.append(item)
    assert len(good) == 1048


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("go-car/sample-v1-with-zero-len-section.car", 1049),
        ("go-car/sample-v1-with-zero-len-section2.car", 20),
    ],
)
def test_zero_length_section_as_eof_option(name: str, count: int) -> None:
    _, blocks = _read_all(CAR / name, zero_length_as_eof=True)
    assert len(blocks) == count


def test_import_is_all_or_nothing(tmp_path: Path) -> None:
    store = content.FilesystemBlockstore(tmp_path / "blocks")
    with pytest.raises(CarError):
        content.import_car(CAR / "go-car" / "sample-v1-tailing-corrupt-section.car", store)
    assert not (tmp_path / "blocks").exists() or not any((tmp_path / "blocks").rglob("*-*"))


def test_corrupt_block_is_named(tmp_path: Path) -> None:
    data = bytearray((CAR / "go-car" / "sample-v1.car").read_bytes())
    data[-1] ^= 0x01
    bad = tmp_path / "bad.car"
    bad.write_bytes(bytes(data))
    store = content.MemoryBlockstore()
    with pytest.raises(CarError, match="corrupt block 1048"):
        content.import_car(bad, store)
    assert store.blocks == {}


def test_export_is_depth_first_without_duplicates_and_matches_the_gateway_fixture(
    tmp_path: Path,
) -> None:
    fixture = Path(__file__).resolve().parents[1] / "vectors" / "unixfs" / "dir-with-files.car"
    store = content.MemoryBlockstore()
    header = content.import_car(fixture, store)
    out = tmp_path / "again.car"
    count = content.export_car(header.roots[0], store, out)
    assert count == 9  # ascii.txt and ascii-copy.txt share one block
    assert out.read_bytes() == fixture.read_bytes()


def test_export_of_missing_dag_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "x.car"
    with pytest.raises(Exception, match="not in the blockstore"):
        content.export_car(Cid.of(b"nothing"), content.MemoryBlockstore(), out)
    assert list(tmp_path.iterdir()) == []
