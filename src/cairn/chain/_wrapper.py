"""What every typed contract wrapper shares: its web3 contract, sends, reads and logs.

The web3 objects stay private: callers see typed methods, cairn values and
cairn errors only.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.logs import DISCARD

from cairn.chain import _tx
from cairn.chain._artifacts import load_artifact
from cairn.chain.base import Backend
from cairn.identity import Signer

__all__ = ["ContractWrapper"]


class ContractWrapper:
    """A deployed contract; subclasses add typed methods."""

    name: str = ""

    def __init__(self, w3: Web3, backend: Backend, address: str) -> None:
        self._w3 = w3
        self.backend = backend
        self.address: str = Web3.to_checksum_address(address)
        self._contract = w3.eth.contract(address=self.address, abi=load_artifact(self.name).abi)

    def _send(self, signer: Signer, fn: str, *args: Any, value: int = 0) -> Any:
        call = getattr(self._contract.functions, fn)(*args)
        return _tx.send(self._w3, self.backend, self.name, call, signer, value)

    def _call(self, fn: str, *args: Any) -> Any:
        return _tx.call(self.name, getattr(self._contract.functions, fn)(*args), self.backend.url)

    def _read(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            raise _tx.translate(exc, f"{self.name} ({what})", self.backend.url) from exc

    def _event(self, receipt: Any, event: str) -> Any:
        """The first ``event`` this contract emitted in ``receipt``'s transaction."""
        logs = getattr(self._contract.events, event)().process_receipt(receipt, errors=DISCARD)
        return logs[0]["args"]

    def _logs(
        self, event: str, from_block: int = 0, to_block: int | None = None, **filters: Any
    ) -> list[Any]:
        """``event`` logs of this contract in blocks ``from_block..to_block`` (latest if None);
        none for an empty range (Anvil refuses a range that starts past its head)."""
        if to_block is not None and from_block > to_block:
            return []
        return list(
            self._read(
                event,
                lambda: getattr(self._contract.events, event).get_logs(
                    from_block=from_block,
                    to_block=to_block,
                    argument_filters=filters or None,
                ),
            )
        )
