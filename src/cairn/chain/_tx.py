"""Sending transactions and reading contracts, with errors translated once.

Every write is estimated first (``eth_estimateGas``), so a transaction that would
revert is refused before it is signed or sent: a failed call changes nothing,
on the chain or in the data dir. The estimate's revert reason becomes
:class:`~cairn.errors.ContractRevert` naming the contract; a balance too small
for value plus gas becomes :class:`~cairn.errors.InsufficientFunds`; a dead
endpoint becomes :class:`~cairn.errors.ChainUnreachable`; anything else the
chain or web3 raises becomes :class:`~cairn.errors.ChainError` — nothing raw
escapes this package.

Transactions are EIP-1559 (type 2, EIP-2718 envelope) with the EIP-155 chain id.
They are signed through the :class:`cairn.identity.Signer` port: the signing
hash ``keccak256(0x02 || rlp([chainId, nonce, ..., accessList]))`` (EIP-1559,
"Specification") is computed here and handed to ``signer.sign_hash``, so a key
never leaves its signer (a keystore, a KMS or a hardware wallet signs the same
way), and the raw transaction is assembled from the returned (y-parity, r, s). A
wallet that keeps its key (EIP-1193) is asked for ``eth_signTransaction`` instead,
and its answer is sent only if it signs that very hash, by that very address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.exceptions import ValidationError
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError

from cairn.chain.base import Backend
from cairn.errors import (
    CairnError,
    ChainError,
    ChainUnreachable,
    ContractRevert,
    InsufficientFunds,
    SignatureError,
    one_line,
)
from cairn.identity import Signature, Signer, WalletSigner, as_wallet, recover_hash

__all__ = ["Tx", "raw_transaction_gas", "sign_transaction", "translate"]

T = TypeVar("T")

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
    """One cairn error, with a one-line message, for a web3, eth-tester or transport failure.

    Programming errors (``TypeError``, ``AttributeError``, ...) are not chain
    errors and are raised as they are.
    """
    if isinstance(exc, CairnError):
        return exc
    if isinstance(exc, ContractLogicError):
        return ContractRevert(contract, one_line(_reason(str(exc.message or exc))))
    if isinstance(exc, OSError):  # requests' errors are OSErrors too
        return ChainUnreachable(f"chain {url or '?'} is unreachable: {type(exc).__name__}")
    if isinstance(exc, TimeExhausted):
        return ChainError(f"{contract}: transaction not mined in {_RECEIPT_TIMEOUT:.0f}s")
    message = one_line(str(getattr(exc, "message", None) or exc))
    if "insufficient funds" in message.lower():
        return InsufficientFunds(f"{contract}: insufficient funds for value plus gas")
    if isinstance(exc, Web3RPCError) and "revert" in message.lower():
        return ContractRevert(contract, _reason(message))
    if isinstance(exc, Web3Exception | ValueError | ValidationError):
        return ChainError(f"{contract}: {message}")
    raise exc


def _signer(signer: Any) -> Signer:
    if not isinstance(signer, Signer):
        raise ChainError(
            f"chain writes are signed by a cairn.identity Signer, not {type(signer).__name__} "
            "(e.g. LocalSigner.from_hex(key))"
        )
    return signer


def sign_transaction(tx: dict[str, Any], signer: Signer) -> bytes:
    """The raw, signed EIP-1559 transaction for ``tx`` (a web3 transaction dict)."""
    fields = {k: v for k, v in tx.items() if k != "from"}
    unsigned = TypedTransaction.from_dict(fields)
    wallet = as_wallet(signer)
    if wallet is not None:
        return _from_wallet(wallet, fields, unsigned.hash())
    sig = signer.sign_hash(unsigned.hash())
    signed = TypedTransaction.from_dict(
        {**unsigned.as_dict(), "v": sig.v - 27, "r": sig.r, "s": sig.s}
    )
    return signed.encode()


def _from_wallet(signer: WalletSigner, fields: dict[str, Any], signing_hash: bytes) -> bytes:
    """A wallet's ``eth_signTransaction``, sent only if it is exactly the transaction asked
    for (same signing hash: same chain, nonce, fees, gas, recipient, value, data) and
    signed by the wallet's own address."""
    raw = signer.sign_transaction({"type": 2, **fields})
    try:
        signed = TypedTransaction.from_bytes(HexBytes(raw))
        y, r, s = signed.vrs()
        signature = Signature(r, s, y + 27)
    except (CairnError, ValueError, TypeError, IndexError) as exc:
        raise SignatureError(
            f"the wallet returned a transaction that does not decode: {exc}"
        ) from None
    if signed.hash() != signing_hash:
        raise SignatureError("the wallet signed a different transaction from the one asked for")
    by = recover_hash(signing_hash, signature)
    if by != signer.address:
        raise SignatureError(
            f"the wallet returned a transaction signed by {by}, not {signer.address}"
        )
    return raw


def send(
    w3: Web3, backend: Backend, contract: str, call: Any, signer: Signer, value: int = 0
) -> Any:
    """Estimate, sign, send and wait for ``call``; return its receipt."""
    sender = Web3.to_checksum_address(_signer(signer).address)
    try:
        tx = call.build_transaction(
            {
                "from": sender,
                "value": value,
                "nonce": w3.eth.get_transaction_count(sender, "pending"),
                "chainId": w3.eth.chain_id,
            }
        )
        tx["gas"] = int(tx["gas"] * _GAS_MARGIN)
        tx_hash = w3.eth.send_raw_transaction(sign_transaction(tx, signer))
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


def raw_transaction_gas(raw: str | bytes) -> int:
    """The gas limit of a signed transaction (``eth_sendRawTransaction``'s parameter).

    EIP-2718: a legacy transaction is an RLP list (gas is item 2); a typed one is a
    type byte then an RLP list — type 1 (EIP-2930) has gas at item 3, types 2, 3 and
    4 (EIP-1559, EIP-4844, EIP-7702) at item 4. ValueError if it is none of these.
    """
    import rlp  # type: ignore[import-untyped]

    data = bytes.fromhex(raw.removeprefix("0x")) if isinstance(raw, str) else raw
    if not data:
        raise ValueError("empty transaction")
    kind, body = (None, data) if data[0] >= 0xC0 else (data[0], data[1:])
    index = {None: 2, 1: 3, 2: 4, 3: 4, 4: 4}.get(kind)
    if index is None:
        raise ValueError(f"unknown transaction type {kind}")
    try:
        fields = rlp.decode(body)
        return int.from_bytes(fields[index], "big")
    except (rlp.DecodingError, IndexError, TypeError) as exc:
        raise ValueError(f"not a signed transaction: {exc}") from None
