"""The content commands as a user runs them: a real `cairn` process, exit codes, stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cairn import content


def cairn(
    data_dir: Path, *args: str | Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CAIRN_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "cairn", *map(str, args)],
        capture_output=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def test_add_quiet_prints_only_the_kubo_cid(data_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "hello"
    f.write_text("hello world\n")
    v1 = cairn(data_dir, "add", "-q", f)
    v0 = cairn(data_dir, "add", "-q", "--profile", "unixfs-v0-2015", f)
    assert v1.stdout.decode() == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4\n"
    assert v0.stdout.decode() == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n"
    assert cairn(data_dir, "cat", v0.stdout.decode().strip()).stdout == b"hello world\n"


def test_only_hash_stores_nothing(data_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(os.urandom(5000))
    out = cairn(data_dir, "add", "-q", "--only-hash", f)
    assert out.returncode == 0
    missing = cairn(data_dir, "cat", out.stdout.decode().strip())
    assert missing.returncode == 1 and b"not in the blockstore" in missing.stderr


def test_get_and_car_roundtrip_between_two_data_dirs(tmp_path: Path) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "w.bin").write_bytes(os.urandom(3 << 20))
    (src / "c.json").write_text("{}")
    a, b = tmp_path / "a", tmp_path / "b"
    cid = cairn(a, "add", "-q", src).stdout.decode().strip()
    assert cid == str(content.add_path(src, content.NullBlockstore()))
    car = tmp_path / "m.car"
    assert cairn(a, "car", "export", cid, "-o", car).returncode == 0
    imported = cairn(b, "car", "import", car)
    assert imported.stdout.decode().split() == [cid]
    out = tmp_path / "out"
    assert cairn(b, "get", cid, "-o", out).returncode == 0
    assert (out / "w.bin").read_bytes() == (src / "w.bin").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cat", "not-a-cid"), b"not a valid CID"),
        (("add", "--profile", "unixfs-v9", "."), b"unknown profile"),
        (
            ("fetch", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "--gateway", "ftp://x"),
            b"gateway must be an http(s) URL",
        ),
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    data_dir: Path, args: tuple[str, ...], message: bytes
) -> None:
    done = cairn(data_dir, *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert b"Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_truncated_car_is_refused_and_nothing_stored(data_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(3 << 20))
    other = tmp_path / "other"
    cid = cairn(other, "add", "-q", src).stdout.decode().strip()
    car = tmp_path / "f.car"
    cairn(other, "car", "export", cid, "-o", car)
    car.write_bytes(car.read_bytes()[:-100])
    done = cairn(data_dir, "car", "import", car)
    assert done.returncode == 1 and b"truncated CAR" in done.stderr
    assert (
        not any(p.is_file() for p in (data_dir / "blocks").rglob("*"))
        if (data_dir / "blocks").exists()
        else True
    )
