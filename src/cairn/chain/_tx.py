"""Sending transactions and reading contracts, with errors translated once.

Every write is estimated first (``eth_estimateGas``), so a transaction that would
revert is refused before it is signed or sent: a failed call changes nothing,
on the chain or in the data dir. The estimate's revert reason becomes
:class:`~cairn.errors.ContractRevert` naming the contract; a balance too small
for value plus gas becomes :class:`~cairn.errors.InsufficientFunds`; a dead
endpoint becomes :class:`~cairn.errors.ChainUnreachable`. Transactions are
signed locally (EIP-155 chain id, EIP-1559 fees) and sent raw, so the same code
runs on the embedded chain and on any JSON-RPC node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError

from cairn.chain.base import Backend
from cairn.errors import (
    CairnError,
    ChainError,
    ChainUnreachable,
    ContractRevert,
    InsufficientFunds,
)

__all__ = ["Signer", "Tx", "as_account", "translate"]

T = TypeVar("T")
# An eth-account LocalAccount, or a private key as hex or bytes.
Signer = Any

_GAS_MARGIN = 1.2  # the estimate is exact for today's state; leave room for a moved one
_RECEIPT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Tx(Generic[T]):
    """A mined, successful transaction and what it returned (``value``)."""

    hash: str
    gas_used: int
    block_number: int
    value: T
    fee: int = 0  # wei paid for gas: gas used × effective gas price


def as_account(signer: Signer) -> Any:
    """A LocalAccount from a LocalAccount, a cairn.identity LocalSigner, or a private key."""
    if hasattr(signer, "sign_transaction") and hasattr(signer, "address"):
        return signer
    if isinstance(getattr(signer, "private_key", None), bytes):  # cairn.identity.LocalSigner
        signer = signer.private_key
    try:
        return Account.from_key(signer)
    except (ValueError, TypeError) as exc:
        raise ChainError("not a private key (expected 32 bytes, hex)") from exc


def _reason(message: str) -> str:
    text = message.strip()
    for prefix in (
        "execution reverted:",
        "execution reverted",
        "VM Exception while processing transaction: revert",
    ):
        if text.startswith(prefix):
            return text[len(prefix) :].strip() or "reverted without a reason"
    return text or "reverted without a reason"


def translate(exc: BaseException, contract: str, url: str = "") -> CairnError:
    """One cairn error for a web3, eth-tester or transport failure."""
    if isinstance(exc, CairnError):
        return exc
    if isinstance(exc, ContractLogicError):
        return ContractRevert(contract, _reason(str(exc.message or exc)))
    if isinstance(exc, OSError):  # requests' errors are OSErrors too
        return ChainUnreachable(f"chain {url or '?'} is unreachable: {type(exc).__name__}")
    if isinstance(exc, TimeExhausted):
        return ChainError(f"{contract}: transaction not mined in {_RECEIPT_TIMEOUT:.0f}s")
    message = str(getattr(exc, "message", None) or exc)
    if "insufficient funds" in message.lower():
        return InsufficientFunds(f"{contract}: insufficient funds for value plus gas")
    if isinstance(exc, Web3RPCError) and "revert" in message.lower():
        return ContractRevert(contract, _reason(message))
    if isinstance(exc, Web3Exception | ValueError):
        return ChainError(f"{contract}: {message}")
    raise exc


def send(w3: Web3, backend: Backend, contract: str, call: Any, account: Any, value: int = 0) -> Any:
    """Estimate, sign, send and wait for ``call``; return its receipt."""
    try:
        tx = call.build_transaction(
            {
                "from": account.address,
                "value": value,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": w3.eth.chain_id,
            }
        )
        tx["gas"] = int(tx["gas"] * _GAS_MARGIN)
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=_RECEIPT_TIMEOUT)
    except Exception as exc:
        raise translate(exc, contract, backend.url) from exc
    if receipt["status"] != 1:
        raise ContractRevert(
            contract, "transaction failed when mined (state changed since estimate)"
        )
    backend.committed()
    return receipt


def call(contract: str, fn: Any, url: str = "") -> Any:
    """A read (``eth_call``), errors translated."""
    try:
        return fn.call()
    except Exception as exc:
        raise translate(exc, contract, url) from exc


def tx_of(receipt: Any, value: T) -> Tx[T]:
    return Tx(
        hash=Web3.to_hex(receipt["transactionHash"]),
        gas_used=int(receipt["gasUsed"]),
        block_number=int(receipt["blockNumber"]),
        value=value,
        fee=int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0)),
    )
