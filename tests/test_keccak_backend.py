"""cairn.identity points eth-hash's shared hasher at pysha3 (cairn._keccak): the same
keccak-256 digests as the reference, from the faster backend, with the environment
(and so child processes) untouched and a user's own choice kept."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = (
    "import os, cairn.identity, eth_hash.auto as a; a.keccak(b'');"
    "print(a.keccak.hasher.__module__, os.environ.get('ETH_HASH_BACKEND'))"
)


def test_keccak_is_pysha3_and_gives_the_standard_digests() -> None:
    from eth_hash.auto import keccak

    import cairn.identity  # noqa: F401

    # keccak-256 of "" and of "abc", the Keccak team's values (not SHA3-256's)
    assert keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert (
        keccak(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )
    env = {k: v for k, v in os.environ.items() if k != "ETH_HASH_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.split() == ["eth_hash.backends.pysha3", "None"]  # env untouched


def test_a_user_choice_of_backend_is_kept() -> None:
    env = {**os.environ, "ETH_HASH_BACKEND": "pycryptodome"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.split() == ["eth_hash.backends.pycryptodome", "pycryptodome"]
