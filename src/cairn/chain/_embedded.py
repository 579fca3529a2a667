"""An in-process development chain: eth-tester over py-evm, persisted to disk.

Nothing to install or start: ``embedded://`` is the default chain. Its state is
py-evm's key-value database (trie nodes, headers, receipts), kept in
``<data dir>/chain/`` as a snapshot plus a log to which every successful
transaction appends the keys it changed (:mod:`cairn.chain._statefile`: a crash
leaves the last whole transaction's state), and loaded back at start, so a
restart keeps registrations, stakes and channels. The prefunded accounts are
eth-tester's default keys.

Each embedded network has its own chain id (EIP-155), drawn from random bytes
when the chain is created and persisted with its state: ``2**31`` plus 24 random
bits, inside the range wallets handle and clear of public chains' ids, 1 and
31337. Receipts and vouchers are EIP-712 under that id, so one user's
``embedded://`` network never accepts another's (eth-tester's fixed id would
make every embedded network the same one). State written before ids were
drawn (``CAIRNEVM1``) keeps eth-tester's id, :data:`LEGACY_CHAIN_ID`.

eth-tester raises its own exceptions; they are turned into JSON-RPC error
responses here (EIP-1474 codes), so the client handles one family of errors.
Transactions by hash and logs are found through py-evm's index and the block
headers' blooms (:mod:`cairn.chain._index`), not by eth-tester's reading of
every block, whose cost grew with the chain's length.

**Time.** A block's timestamp is the only clock contracts see, and eth-tester
mines only when asked, so a chain left alone would keep the time of its last
transaction: a timelocked registry version would never become current and an
unbonding delay would never end. A persisted chain (a user's network) therefore
follows the wall clock: before it answers any request it mines an empty block
at the present time if a second or more has passed since the last one (at most
one block a second; not written to disk until the next transaction). Moving
time forward (:meth:`EmbeddedBackend.increase_time`, ``cairn chain advance``)
adds to an offset the clock keeps; a chain loaded with a last block ahead of
the wall clock keeps that lead. An in-memory chain (tests, no data dir) moves
only when told, so tests can do exact time arithmetic.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from eth_utils.exceptions import ValidationError
from web3 import EthereumTesterProvider

from cairn.chain._gas import estimate_gas
from cairn.chain._index import IndexedBackend, IndexedTester
from cairn.chain._statefile import LEGACY_CHAIN_ID, StateFile, Tracked
from cairn.chain.base import Backend

__all__ = ["LEGACY_CHAIN_ID", "EmbeddedBackend", "new_chain_id"]

CHAIN_ID_BASE = 1 << 31
CHAIN_ID_BITS = 24


def new_chain_id() -> int:
    """A fresh embedded chain id: ``2**31 + 24`` random bits."""
    return CHAIN_ID_BASE + int.from_bytes(os.urandom(CHAIN_ID_BITS // 8), "big")


class _Provider(EthereumTesterProvider):
    """eth-tester failures as JSON-RPC errors, the way a real node reports them; this
    network's own chain id (web3's tester provider answers a fixed one)."""

    def __init__(self, tester: EthereumTester, chain_id: int, before: Callable[[], None]) -> None:
        super().__init__(tester)
        self.chain_id = chain_id
        self.before = before

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_chainId":
            return {"jsonrpc": "2.0", "id": 0, "result": hex(self.chain_id)}
        if method == "net_version":
            return {"jsonrpc": "2.0", "id": 0, "result": str(self.chain_id)}
        try:
            self.before()
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


class EmbeddedBackend(Backend):
    """eth-tester + py-evm in this process; persisted under ``state_dir`` if given.

    ``follow_clock`` (default: when persisted) keeps the chain's time at the wall
    clock plus the offset :meth:`increase_time` added.
    """

    def __init__(self, state_dir: Path | None, *, follow_clock: bool | None = None) -> None:
        self.url = "embedded://"
        self._file = None if state_dir is None else StateFile(state_dir / "embedded.db")
        self._evm = IndexedBackend()
        fresh = self._file is None or not self._file.exists()
        if fresh:
            self.chain_id = new_chain_id()
            db: Any = self._evm.chain.chaindb.db
            db.wrapped_db.kv_store = Tracked(db.wrapped_db.kv_store)
        else:
            assert self._file is not None
            self.chain_id, kv = self._file.load()
            db = AtomicDB(MemoryDB(kv))
        # py-evm reads the chain id from the chain class (it signs and checks EIP-155 with
        # it), and its gas estimator too (cairn.chain._gas: 3 runs, not about 13)
        cls = type(self._evm.chain)
        attrs = {"chain_id": self.chain_id, "gas_estimator": staticmethod(estimate_gas)}
        self._evm.chain = type(cls.__name__, (cls,), attrs)(db)
        self._tester = IndexedTester(self._evm)
        self.follow_clock = self._file is not None if follow_clock is None else follow_clock
        self._offset = max(0, self._latest() - int(time.time()))  # a lead it was given
        self._checked = 0  # the last second catch_up looked at the chain's clock
        self._provider = _Provider(self._tester, self.chain_id, self.catch_up)
        if fresh:
            self.committed()  # the id is fixed from the first moment, not the first tx

    def provider(self) -> Any:
        return self._provider

    def dev_keys(self) -> list[str]:
        return [key.to_hex() for key in self._evm.account_keys]

    def _latest(self) -> int:
        return int(self._tester.get_block_by_number("latest")["timestamp"])

    def catch_up(self) -> None:
        """Mine an empty block at the present if the clock has moved a second or more."""
        if not self.follow_clock:
            return
        target = int(time.time()) + self._offset
        if target <= self._checked:  # looked this second already: no block lookup per request
            return
        self._checked = target
        if target > self._latest():
            self._tester.time_travel(target + 1)  # mines a block at target - 1 + 1

    def increase_time(self, seconds: int) -> None:
        # time_travel(t) mines a block stamped t - 1 and stamps the next one t
        present = max(self._latest(), int(time.time()) + self._offset)
        if self.follow_clock:  # reads see the moved time at once
            self._tester.time_travel(present + max(1, seconds) + 1)
            self._offset = self._latest() - int(time.time())
        else:  # the next transaction is stamped `seconds` later (tests count on it)
            self._tester.time_travel(present + max(1, seconds))
        self.committed()

    def set_code(self, address: str, code: bytes) -> None:
        """Put ``code`` at ``address`` (what Anvil's ``anvil_setCode`` does), in a new block.

        For contracts that live at fixed addresses on every chain (x402's
        batch-settlement contracts): their runtime code is copied there. The change
        is mined, so snapshots, reverts and the saved state all include it.
        """
        chain = self._evm.chain
        vm = chain.get_vm(chain.header)
        vm.state.set_code(bytes.fromhex(address.removeprefix("0x")), code)
        vm.state.persist()
        chain.header = chain.header.copy(state_root=vm.state.state_root)
        self._tester.mine_blocks()
        self.committed()

    def committed(self) -> None:
        """Persist what the last transaction changed (a chain with a state dir)."""
        if self._file is not None:
            self._file.commit(self._evm.chain.chaindb.db.wrapped_db.kv_store, self.chain_id)
