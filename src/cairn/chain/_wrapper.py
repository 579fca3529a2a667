"""What every typed contract wrapper shares: its web3 contract, sends and reads."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.logs import DISCARD

from cairn.chain import _tx
from cairn.chain._artifacts import load_artifact
from cairn.chain.base import Backend

__all__ = ["ContractWrapper"]


class ContractWrapper:
    """A deployed contract; subclasses add typed methods."""

    name: str = ""

    def __init__(self, w3: Web3, backend: Backend, address: str) -> None:
        self.w3 = w3
        self.backend = backend
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact(self.name).abi)

    def _send(self, signer: _tx.Signer, fn: str, *args: Any, value: int = 0) -> Any:
        account = _tx.as_account(signer)
        call = getattr(self.contract.functions, fn)(*args)
        return _tx.send(self.w3, self.backend, self.name, call, account, value)

    def _call(self, fn: str, *args: Any) -> Any:
        return _tx.call(self.name, getattr(self.contract.functions, fn)(*args), self.backend.url)

    def _event(self, receipt: Any, event: str) -> Any:
        """The first ``event`` this contract emitted in ``receipt``'s transaction."""
        logs = getattr(self.contract.events, event)().process_receipt(receipt, errors=DISCARD)
        return logs[0]["args"]

    def _logs(self, event: str, **filters: Any) -> list[Any]:
        try:
            return list(
                getattr(self.contract.events, event).get_logs(
                    from_block=0, argument_filters=filters or None
                )
            )
        except Exception as exc:
            raise _tx.translate(exc, self.name, self.backend.url) from exc
