"""Keccak-256 at the speed of C: eth-hash's pysha3 backend, when the user did not choose.

Keccak-256 is on every request's path (receipt digests, x402 vouchers, Merkle
leaves). Everything here hashes through eth-hash (``eth_hash.auto.keccak``, which
eth-utils, eth-account and web3 share), and eth-hash tries pycryptodome first,
whose per-call overhead is about 6 us; safe-pysha3, a dependency, gives the same
digests in under 1 us. :func:`prefer_pysha3` points the shared hasher at it, in
place, unless ``ETH_HASH_BACKEND`` says otherwise. It is called by
:mod:`cairn.identity`, which every signing and hashing path imports; nothing
changes in the environment, so child processes (other venvs) are unaffected.
"""

from __future__ import annotations

import os

__all__ = ["prefer_pysha3"]


def prefer_pysha3() -> bool:
    """Make ``eth_hash.auto.keccak`` use pysha3; whether it now does."""
    if os.environ.get("ETH_HASH_BACKEND"):
        return False
    try:
        from eth_hash.backends.pysha3 import PySha3Backend
    except ImportError:
        return False
    import eth_hash.auto

    backend = PySha3Backend()
    shared = eth_hash.auto.keccak
    shared._backend = backend
    shared.hasher = backend.keccak256  # type: ignore[assignment]
    shared.preimage = backend.preimage  # type: ignore[assignment]
    return True
