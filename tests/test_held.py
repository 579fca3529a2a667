"""cairn._held: random bytes from a fast-key-erasure generator, write(2) without a GIL
hand-off, and the write's fallback."""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import threading
from pathlib import Path

import pytest

from cairn import _held


def test_random_bytes_are_the_size_asked_and_never_repeat() -> None:
    seen = {_held.random_bytes(32) for _ in range(1000)}
    assert len(seen) == 1000 and {len(b) for b in seen} == {32}
    assert [len(_held.random_bytes(n)) for n in (1, 7, 33, 64, 65)] == [1, 7, 33, 64, 65]


def test_each_block_erases_the_key_that_made_it() -> None:
    """Fast key erasure: block = BLAKE2b(key=k); k' = block[:32]; output = block[32:]."""
    gen = _held._KeyErasing()
    key = gen._key
    block = hashlib.blake2b(key=key).digest()
    assert gen.draw(32) == block[32:]
    assert gen._key == block[:32] != key  # the key behind the output is gone
    nxt = hashlib.blake2b(key=block[:32]).digest()
    assert gen.draw(16) == nxt[32:48]


def test_fresh_kernel_bytes_are_mixed_in_every_reseed_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = _held._KeyErasing()
    calls: list[int] = []

    def urandom(n: int) -> bytes:
        calls.append(n)
        return bytes(n)

    monkeypatch.setattr(_held.os, "urandom", urandom)
    for _ in range(_held.RESEED_EVERY):
        gen.draw(32)
    assert calls == []
    key = gen._key
    gen.draw(32)
    assert calls == [32]
    reseeded = hashlib.blake2b(bytes(32), key=key, digest_size=32).digest()
    assert gen._key == hashlib.blake2b(key=reseeded).digest()[:32]


def test_threads_drawing_at_once_never_share_a_block() -> None:
    """Fails without the generator's lock: two threads read one key, output one block."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython will: races show
    got: list[bytes] = []

    def draw() -> None:
        got.extend(_held.random_bytes(32) for _ in range(2000))

    threads = [threading.Thread(target=draw) for _ in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert len(set(got)) == len(got) == 16_000


def test_a_forked_child_draws_from_a_stream_of_its_own() -> None:
    """Without the fork hook, the child's next draw would be the parent's next draw."""
    _held.random_bytes(32)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first draw, then leave without cleanup
        try:
            os.write(write, _held.random_bytes(32))
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 64)
    os.close(read)
    os.waitpid(pid, 0)
    parent = _held.random_bytes(32)
    assert len(child) == 32 and child != parent


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
