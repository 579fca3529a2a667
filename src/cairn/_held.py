"""Two system calls a request makes, called without letting go of the GIL.

``os.urandom`` and ``os.write`` release the GIL around their system call, as every
blocking call in CPython does. In a threaded server whose other threads want the
GIL (eight calls at once on two cores, each running Python between inferences),
every release is a hand-off: the caller waits for the GIL to come back, often for
the rest of another thread's switch interval, and the switches cost more than the
call. py-spy on ``bench/payments.py`` showed the gateway's worker threads waiting
at the two ``os.urandom(32)`` of each call (a receipt's ``requestId``, the client's
access secret) longer than at signing the receipt. :mod:`cairn.identity._secp256k1`
avoids the same hand-off for signatures.

So these call libc's ``getrandom(2)`` (``GRND_NONBLOCK``: the kernel's CSPRNG, as
``os.urandom``; a pool not yet initialised at boot falls back to ``os.urandom``,
which waits for it) and ``write(2)`` through :class:`ctypes.PyDLL`, which holds the
GIL: a microsecond or two of kernel time for 32 random bytes, or a few kilobytes
copied into the page cache. Only for short calls on the request path: a long write
holding the GIL would stall every other thread. Where libc or either symbol is
missing, the ``os`` functions are used.
"""

from __future__ import annotations

import ctypes
import errno
import os
from typing import Any

__all__ = ["random_bytes", "write_all"]

_GRND_NONBLOCK = 0x0001


def _load() -> Any | None:
    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        getrandom, write = libc.getrandom, libc.write
    except (OSError, AttributeError):
        return None
    getrandom.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint]
    getrandom.restype = ctypes.c_ssize_t
    write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    write.restype = ctypes.c_ssize_t
    return libc


_LIBC = _load()


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the kernel's CSPRNG (as :func:`os.urandom`)."""
    if _LIBC is None:
        return os.urandom(n)
    buf = ctypes.create_string_buffer(n)
    got = _LIBC.getrandom(buf, n, _GRND_NONBLOCK)
    if got != n:  # not initialised yet (EAGAIN), interrupted, or short: the kernel's own way
        return os.urandom(n)
    return buf.raw


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
