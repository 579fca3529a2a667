"""Random bytes and a write on the request path, without letting go of the GIL.

``os.urandom`` and ``os.write`` release the GIL around their system call, as every
blocking call in CPython does. In a threaded server whose other threads want the
GIL (eight calls at once on two cores, each running Python between inferences),
every release is a hand-off: the caller waits for the GIL to come back, often for
the rest of another thread's switch interval, and the switches cost more than the
call. py-spy on ``bench/payments.py`` showed the gateway's worker threads waiting
at the two ``os.urandom(32)`` of each call (a receipt's ``requestId``, the client's
access secret) longer than at signing the receipt. :mod:`cairn.identity._secp256k1`
avoids the same hand-off for signatures.

**Random bytes** come from a generator in this process, seeded by the kernel's
CSPRNG: BLAKE2b keyed with a 32-byte secret, in *fast-key-erasure* mode (D. J.
Bernstein, "Fast-key-erasure random-number generators", 2017; the Linux kernel's
own CRNG works this way with ChaCha20). Each block is keyed BLAKE2b of the empty
message, 64 bytes: the first 32 replace the key at once, the last 32 are output.
Keyed BLAKE2b is a PRF (its keyed mode is the MAC of RFC 7693), so the output
cannot be told from random by anyone who does not hold the key; and the key that
made an output is dropped before the output leaves, so the generator's state, read
later, does not lead back to an earlier output (a receipt id, a client's access
secret). Python cannot wipe the dropped key's bytes; the allocator reuses them,
soon under load. Every :data:`RESEED_EVERY` blocks, fresh bytes from
``os.urandom`` are hashed into the key, so a state that leaked stops predicting
after that many. A forked child draws a new key before it returns from ``fork``
(``os.register_at_fork``): parent and child never share a stream. A draw is one
hash and no system call: 1.2 us alone, against 1.5 us for ``getrandom(2)`` through
ctypes. In the loaded gateway, timed by the worker thread's CPU clock (whose reads
count in both), the request id's ``getrandom(2)`` took 21 us and its draw 14 us on
a busier machine: a system call there runs cold, after an inference.

**A write** goes through libc's ``write(2)`` by :class:`ctypes.PyDLL`, which holds
the GIL: a few kilobytes copied into the page cache. Only for short writes on the
request path: a long write holding the GIL would stall every other thread. Where
libc or ``write`` is missing, ``os.write`` is used.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import threading
from typing import Any

__all__ = ["RESEED_EVERY", "random_bytes", "write_all"]

#: blocks drawn between two reseeds from the kernel's CSPRNG
RESEED_EVERY = 4096


def _load() -> Any | None:
    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        write = libc.write
    except (OSError, AttributeError):
        return None
    write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    write.restype = ctypes.c_ssize_t
    return libc


_LIBC = _load()


class _KeyErasing:
    """The generator of the module docstring: a key, and blocks left before a reseed."""

    def __init__(self) -> None:
        self._fresh()

    def _fresh(self) -> None:
        """A new key and lock (at start, and in a forked child, whose lock may be held)."""
        self._lock = threading.Lock()
        self._key = os.urandom(32)
        self._left = RESEED_EVERY

    def draw(self, n: int) -> bytes:
        blocks = []
        with self._lock:
            if self._left <= 0:
                self._key = hashlib.blake2b(os.urandom(32), key=self._key, digest_size=32).digest()
                self._left = RESEED_EVERY
            for _ in range(-(-n // 32)):
                block = hashlib.blake2b(key=self._key).digest()
                self._key = block[:32]  # the old key is gone before any output leaves
                blocks.append(block[32:])
            self._left -= len(blocks)
        return b"".join(blocks)[:n]


_GENERATOR = _KeyErasing()
os.register_at_fork(after_in_child=_GENERATOR._fresh)


def random_bytes(n: int) -> bytes:
    """``n`` unpredictable bytes (the generator of the module docstring)."""
    return _GENERATOR.draw(n)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (a regular file); :class:`OSError` as ``os.write``."""
    if _LIBC is None:
        _write_all_released(fd, data)
        return
    while data:  # the whole record at once, but for a short write (copied only then)
        n = _LIBC.write(fd, data, len(data))
        if n < 0:
            code = ctypes.get_errno()
            if code == errno.EINTR:
                continue
            raise OSError(code, os.strerror(code))
        if n == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        data = data[n:]


def _write_all_released(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
