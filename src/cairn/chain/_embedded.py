"""An in-process development chain: eth-tester over py-evm, persisted to disk.

Nothing to install or start: ``embedded://`` is the default chain. Its state is
py-evm's key-value database (trie nodes, headers, receipts), which is written
whole to ``<data dir>/chain/embedded.db`` after every successful transaction —
atomically, so a crash leaves the previous state — and loaded back at start, so a
restart keeps registrations, stakes and channels. The chain id is eth-tester's
(131277322940537); the prefunded accounts are eth-tester's default keys.

eth-tester raises its own exceptions; they are turned into JSON-RPC error
responses here (EIP-1474 codes), so the client handles one family of errors.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils.exceptions import ValidationError
from web3 import EthereumTesterProvider

from cairn._atomic import atomic_write
from cairn.chain.base import Backend
from cairn.errors import ChainError

__all__ = ["EmbeddedBackend"]

_MAGIC = b"CAIRNEVM1\n"
_LEN = struct.Struct(">I")


class _Provider(EthereumTesterProvider):
    """eth-tester failures as JSON-RPC errors, the way a real node reports them."""

    def make_request(self, method: Any, params: Any) -> Any:
        try:
            return super().make_request(method, params)
        except TransactionFailed as exc:
            return _error(method, 3, str(exc.args[0]) if exc.args else "execution reverted")
        except ValidationError as exc:
            text = str(exc)
            if "balance" in text or "afford" in text:
                return _error(method, -32003, f"insufficient funds for gas * price + value: {text}")
            return _error(method, -32000, text)


def _error(method: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 0, "error": {"code": code, "message": message}}


def _dump(kv: dict[bytes, bytes]) -> bytes:
    parts = [_MAGIC]
    for key, value in kv.items():
        parts += [_LEN.pack(len(key)), key, _LEN.pack(len(value)), value]
    return b"".join(parts)


def _load(blob: bytes) -> dict[bytes, bytes]:
    if not blob.startswith(_MAGIC):
        raise ChainError("embedded chain state is not a cairn chain database")
    kv: dict[bytes, bytes] = {}
    view, pos = memoryview(blob), len(_MAGIC)
    try:
        while pos < len(blob):
            (n,) = _LEN.unpack_from(view, pos)
            key = bytes(view[pos + 4 : pos + 4 + n])
            pos += 4 + n
            (n,) = _LEN.unpack_from(view, pos)
            kv[key] = bytes(view[pos + 4 : pos + 4 + n])
            pos += 4 + n
    except struct.error as exc:
        raise ChainError("embedded chain state is truncated") from exc
    return kv


class EmbeddedBackend(Backend):
    """eth-tester + py-evm in this process; persisted under ``state_dir`` if given."""

    def __init__(self, state_dir: Path | None) -> None:
        self.url = "embedded://"
        self._path = None if state_dir is None else state_dir / "embedded.db"
        self._evm = PyEVMBackend()
        if self._path is not None and self._path.exists():
            kv = _load(self._path.read_bytes())
            self._evm.chain = type(self._evm.chain)(AtomicDB(MemoryDB(kv)))
        self._tester = EthereumTester(self._evm)
        self._provider = _Provider(self._tester)

    def provider(self) -> Any:
        return self._provider

    def dev_keys(self) -> list[str]:
        return [key.to_hex() for key in self._evm.account_keys]

    def increase_time(self, seconds: int) -> None:
        latest = self._tester.get_block_by_number("latest")["timestamp"]
        self._tester.time_travel(int(latest) + max(1, seconds))
        self.committed()

    def committed(self) -> None:
        if self._path is None:
            return
        kv = self._evm.chain.chaindb.db.wrapped_db.kv_store
        with atomic_write(self._path, 0o600) as fh:
            fh.write(_dump(kv))
