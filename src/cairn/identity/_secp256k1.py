"""libsecp256k1's sign and recover, called without letting go of the GIL.

coincurve calls libsecp256k1 through cffi, which releases the GIL around every C
call: signing is two calls, recovering a signer three, most of them a microsecond
of work. In a busy threaded server each release is a hand-off: the thread waits
for the GIL to come back, and the switches cost more CPU than the calls (a paid
call's voucher check took 1.1 ms of wall time and three times its own CPU under
``bench/payments.py``). This module calls the same library — the copy coincurve
ships, with the context coincurve's own functions use — through
:class:`ctypes.PyDLL`, which holds the GIL throughout: one 40-50 us call instead
of three hand-offs.

Same functions, same arguments as coincurve (RFC 6979 nonces, the library's
default); ``tests/identity/test_identity_signatures.py`` holds both paths to the
same bytes. Where the library's symbols cannot be found, :data:`AVAILABLE` is
False and :mod:`cairn.identity.keys` uses coincurve.
"""

from __future__ import annotations

import ctypes
from typing import Any

__all__ = ["AVAILABLE", "recover_uncompressed", "sign_recoverable"]

_UNCOMPRESSED = 2  # SECP256K1_EC_UNCOMPRESSED


def _load() -> tuple[Any, ctypes.c_void_p] | None:
    try:
        import coincurve._libsecp256k1 as bundled  # type: ignore[import-not-found]
        from coincurve._libsecp256k1 import ffi
        from coincurve.context import GLOBAL_CONTEXT

        lib = ctypes.PyDLL(bundled.__file__)
        context = ctypes.c_void_p(int(ffi.cast("uintptr_t", GLOBAL_CONTEXT.ctx)))
        pointers = [ctypes.c_void_p] * 3
        for name, argtypes in (
            ("secp256k1_ecdsa_recoverable_signature_parse_compact", [*pointers, ctypes.c_int]),
            ("secp256k1_ecdsa_recover", [ctypes.c_void_p] * 4),
            ("secp256k1_ec_pubkey_serialize", [ctypes.c_void_p] * 4 + [ctypes.c_uint]),
            ("secp256k1_ecdsa_sign_recoverable", [ctypes.c_void_p] * 6),
            (
                "secp256k1_ecdsa_recoverable_signature_serialize_compact",
                [*pointers, ctypes.c_void_p],
            ),
        ):
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = argtypes, ctypes.c_int
    except (ImportError, OSError, AttributeError):
        return None
    return lib, context


_LOADED = _load()
AVAILABLE = _LOADED is not None


def recover_uncompressed(digest: bytes, rs: bytes, recid: int) -> bytes | None:
    """The 64-byte public key (x ‖ y) that signed ``digest`` with ``rs`` (r ‖ s) and
    recovery id ``recid``; ``None`` if the signature does not parse or recover."""
    assert _LOADED is not None and len(digest) == 32 and len(rs) == 64
    lib, ctx = _LOADED
    signature = ctypes.create_string_buffer(65)  # secp256k1_ecdsa_recoverable_signature
    public = ctypes.create_string_buffer(64)  # secp256k1_pubkey
    out, size = ctypes.create_string_buffer(65), ctypes.c_size_t(65)
    if not lib.secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, signature, rs, recid):
        return None
    if not lib.secp256k1_ecdsa_recover(ctx, public, signature, digest):
        return None
    lib.secp256k1_ec_pubkey_serialize(ctx, out, ctypes.byref(size), public, _UNCOMPRESSED)
    return out.raw[1:65]


def sign_recoverable(digest: bytes, secret: bytes) -> bytes:
    """``r ‖ s ‖ recid`` of ``digest`` signed with ``secret`` (RFC 6979, low-s)."""
    assert _LOADED is not None and len(digest) == 32 and len(secret) == 32
    lib, ctx = _LOADED
    signature = ctypes.create_string_buffer(65)
    if not lib.secp256k1_ecdsa_sign_recoverable(ctx, signature, digest, secret, None, None):
        raise ValueError("libsecp256k1 could not sign")  # an invalid key: checked on load
    out, recid = ctypes.create_string_buffer(64), ctypes.c_int()
    lib.secp256k1_ecdsa_recoverable_signature_serialize_compact(
        ctx, out, ctypes.byref(recid), signature
    )
    return out.raw + bytes([recid.value])
