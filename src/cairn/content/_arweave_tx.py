"""Native Arweave transactions (format 2): the envelope that carries cairn's ANS-104 bundles.

Specs: Arweave HTTP API "Transaction format" (https://docs.arweave.org/developers/
arweave-node-server/http-api#transaction-format), arweave-js ``Transaction.getSignatureData``
and ``merkle.ts`` (the data root), and RFC 8017 §8.1 (RSASSA-PSS). A gateway accepts a
native transaction only from an RSA wallet (a JWK, modulus 4096 bits, e = 65537) that
pays its fee, so this wallet only carries and pays; the cairn Ethereum wallet signs the
data items inside (:mod:`cairn.content._ans104`).

What is signed is the deep hash of ``["2", owner, target, quantity, reward, last_tx,
[[name, value]...], data_size, data_root]``; the id is ``sha256(signature)``. The
data root is the Merkle root over 256 KiB chunks (the last two balanced when the
tail would be under 32 KiB), leaves ``H(H(sha256(chunk)) || H(end offset))`` and
branches ``H(H(left) || H(right) || H(left end))`` with 32-byte big-endian offsets.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cairn._atomic import atomic_write_bytes
from cairn.content._ans104 import DeepHashable, b64url, deep_hash, from_b64url
from cairn.errors import ArweaveError

__all__ = ["ArweaveWallet", "data_root", "signed_transaction"]

MAX_CHUNK = 256 * 1024
MIN_CHUNK = 32 * 1024
_JWK_INTS = ("n", "e", "d", "p", "q", "dp", "dq", "qi")


def _sha256(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def _note(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _chunk_ends(size: int) -> list[int]:
    ends, cursor, rest = [], 0, size
    while rest >= MAX_CHUNK:
        step = MAX_CHUNK
        if 0 < rest - MAX_CHUNK < MIN_CHUNK:
            step = -(-rest // 2)
        cursor += step
        rest -= step
        ends.append(cursor)
    ends.append(cursor + rest)  # arweave-js keeps a zero-length tail leaf in the root
    return ends


def data_root(data: bytes) -> bytes:
    """The Merkle data root of ``data``, as arweave-js and the nodes compute it."""
    nodes: list[tuple[bytes, int]] = []
    start = 0
    for end in _chunk_ends(len(data)):
        chunk_hash = _sha256(data[start:end])
        nodes.append((_sha256(_sha256(chunk_hash), _sha256(_note(end))), end))
        start = end
    while len(nodes) > 1:
        layer = []
        for i in range(0, len(nodes) - 1, 2):
            (left, left_end), (right, right_end) = nodes[i], nodes[i + 1]
            layer.append(
                (_sha256(_sha256(left), _sha256(right), _sha256(_note(left_end))), right_end)
            )
        if len(nodes) % 2:
            layer.append(nodes[-1])
        nodes = layer
    return nodes[0][0]


def _int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class ArweaveWallet:
    """An RSA wallet in the JWK form Arweave wallets are exported in (``arweave.wallets``)."""

    key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> ArweaveWallet:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=4096))

    @classmethod
    def load(cls, path: Path) -> ArweaveWallet:
        try:
            jwk = json.loads(path.read_text())
            ints = {k: int.from_bytes(from_b64url(jwk[k]), "big") for k in _JWK_INTS}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArweaveError(f"{path} is not an Arweave JWK wallet: {exc}") from None
        public = rsa.RSAPublicNumbers(ints["e"], ints["n"])
        numbers = rsa.RSAPrivateNumbers(
            ints["p"], ints["q"], ints["d"], ints["dp"], ints["dq"], ints["qi"], public
        )
        return cls(numbers.private_key())

    @classmethod
    def at(cls, path: Path) -> ArweaveWallet:
        """The wallet stored at ``path``, created (mode 0600) on first use."""
        if path.exists():
            return cls.load(path)
        wallet = cls.generate()
        atomic_write_bytes(path, json.dumps(wallet.jwk()).encode(), mode=0o600)
        return wallet

    def jwk(self) -> dict[str, str]:
        k = self.key.private_numbers()
        pub = k.public_numbers
        values = (pub.n, pub.e, k.d, k.p, k.q, k.dmp1, k.dmq1, k.iqmp)
        return {"kty": "RSA", **{n: _int(v) for n, v in zip(_JWK_INTS, values, strict=True)}}

    @property
    def owner(self) -> bytes:
        return self.key.public_key().public_numbers().n.to_bytes(512, "big")

    @property
    def address(self) -> str:
        """``b64url(sha256(modulus))``: the wallet's Arweave address."""
        return b64url(_sha256(self.owner))

    def sign(self, message: bytes) -> bytes:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return self.key.sign(message, pss, hashes.SHA256())


def signed_transaction(
    wallet: ArweaveWallet, data: bytes, tags: list[tuple[str, str]], *, last_tx: str, reward: int
) -> dict[str, Any]:
    """A format-2 transaction carrying ``data`` inline, signed, as ``POST /tx`` takes it."""
    root = data_root(data) if data else b""
    raw_tags = [[name.encode(), value.encode()] for name, value in tags]
    fields: list[DeepHashable] = [b"2", wallet.owner, b"", b"0", str(reward).encode()]
    fields += [from_b64url(last_tx), raw_tags, str(len(data)).encode(), root]
    message = deep_hash(fields)
    signature = wallet.sign(message)
    return {
        "format": 2,
        "id": b64url(_sha256(signature)),
        "last_tx": last_tx,
        "owner": b64url(wallet.owner),
        "tags": [{"name": b64url(n), "value": b64url(v)} for n, v in raw_tags],
        "target": "",
        "quantity": "0",
        "data": b64url(data),
        "data_size": str(len(data)),
        "data_root": b64url(root),
        "reward": str(reward),
        "signature": b64url(signature),
    }
