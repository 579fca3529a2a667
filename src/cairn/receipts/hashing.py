"""How inputs and outputs become the hashes a receipt binds.

Tensors use the canonical tensor encoding of :mod:`cairn.inference.tensors`
(dtype, shape, little-endian bytes; named tensors sorted by name), hashed
with sha256. Text requests (``/v1/embeddings``) bind what the client sent, not
the tokens, so a client can check the hash with nothing but sha256: the texts
are encoded as ``b"cairn-text/v1\\n"`` followed by the JSON array of the
strings, UTF-8, no spaces, non-ASCII kept as is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from cairn.inference import Tensor, encode_tensors

__all__ = ["tensors_hash", "texts_hash"]


def texts_hash(texts: Sequence[str]) -> bytes:
    body = json.dumps(list(texts), ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(b"cairn-text/v1\n" + body).digest()


def tensors_hash(tensors: Mapping[str, Tensor]) -> bytes:
    return hashlib.sha256(encode_tensors(tensors)).digest()
