"""cairn._held: getrandom(2) and write(2) without a GIL hand-off, and their fallbacks."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cairn import _held


@pytest.mark.parametrize("libc", ["loaded", "missing"])
def test_random_bytes_are_the_size_asked_and_never_repeat(
    libc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if libc == "missing":
        monkeypatch.setattr(_held, "_LIBC", None)
    else:
        assert _held._LIBC is not None  # this machine's libc has both symbols
    seen = {_held.random_bytes(32) for _ in range(1000)}
    assert len(seen) == 1000 and {len(b) for b in seen} == {32}
    assert len(_held.random_bytes(7)) == 7


@pytest.mark.parametrize("libc", ["loaded", "missing"])
def test_write_all_writes_everything_or_raises_oserror(
    libc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if libc == "missing":
        monkeypatch.setattr(_held, "_LIBC", None)
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    data = os.urandom(300_000)  # more than one page, less than a pipe would take at once
    _held.write_all(fd, data)
    _held.write_all(fd, b"tail")
    os.close(fd)
    assert path.read_bytes() == data + b"tail"
    with pytest.raises(OSError) as info:
        _held.write_all(fd, b"x")  # closed
    assert info.value.errno == errno.EBADF
