"""Interop with a real IPFS implementation: the npm package ipfs-car (installed by make test)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cairn import content

pytestmark = pytest.mark.integration


def _ipfs_car(node_bin: Path, *args: str | Path) -> str:
    done = subprocess.run(
        [str(node_bin / "ipfs-car"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("size", [0, 5, 1 << 20, (3 << 20) + 12345])
def test_a_car_packed_by_ipfs_car_imports_with_the_same_cid_and_bytes(
    node_bin: Path, tmp_path: Path, size: int
) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(size))
    car = tmp_path / "packed.car"
    _ipfs_car(node_bin, "pack", src, "--no-wrap", "--output", car)
    store = content.FilesystemBlockstore(tmp_path / "blocks")
    header = content.import_car(car, store)
    (root,) = header.roots
    assert root == content.add_path(src, content.NullBlockstore())  # unixfs-v1-2025
    assert content.read_bytes(root, store) == src.read_bytes()


def test_a_directory_packed_by_ipfs_car_matches(node_bin: Path, tmp_path: Path) -> None:
    src = tmp_path / "folder"
    (src / "nested").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "nested" / "b.bin").write_bytes(os.urandom(2 << 20))
    car = tmp_path / "dir.car"
    _ipfs_car(node_bin, "pack", src, "--no-wrap", "--output", car)
    store = content.MemoryBlockstore()
    (root,) = content.import_car(car, store).roots
    assert root == content.add_path(src, content.NullBlockstore())
    out = tmp_path / "back"
    content.write_to(root, store, out)
    assert (out / "nested" / "b.bin").read_bytes() == (src / "nested" / "b.bin").read_bytes()


@pytest.mark.parametrize("profile", sorted(content.PROFILES))
def test_a_car_exported_by_cairn_unpacks_with_ipfs_car(
    node_bin: Path, tmp_path: Path, profile: str
) -> None:
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom((2 << 20) + 333))
    store = content.MemoryBlockstore()
    root = content.add_path(src, store, profile)
    car = tmp_path / "out.car"
    content.export_car(root, store, car)
    assert _ipfs_car(node_bin, "roots", car).split() == [str(root)]
    out = tmp_path / "unpacked.bin"
    _ipfs_car(node_bin, "unpack", car, "--output", out)
    assert out.read_bytes() == src.read_bytes()
