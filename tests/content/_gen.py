"""Kubo's deterministic test bytes (tests/vectors/unixfs/kubo-cid-profiles.json, "generator"):
the ChaCha20 keystream with key = SHA-256(seed) and a zero nonce, streamed."""

from __future__ import annotations

import hashlib
import io

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms


class DeterministicStream(io.RawIOBase):
    """``size`` bytes of Kubo's DeterministicRandomReader for ``seed``, without holding them."""

    def __init__(self, seed: str, size: int) -> None:
        key = hashlib.sha256(seed.encode()).digest()
        self._enc = Cipher(algorithms.ChaCha20(key, b"\0" * 16), mode=None).encryptor()
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        self._left -= n
        return self._enc.update(bytes(n))


def deterministic_bytes(seed: str, size: int) -> bytes:
    return DeterministicStream(seed, size).read()
