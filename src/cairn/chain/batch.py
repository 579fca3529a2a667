"""x402 ``batch-settlement`` on EVM: cairn's contracts, their EIP-712 rules, their wrapper.

A client of x402's ``batch-settlement`` scheme escrows a token once and pays each
request with a signed cumulative voucher; the server claims many channels in one
transaction and sweeps its earnings in one transfer. cairn implements the
scheme's contracts itself (``contracts/BatchSettlement.vy``,
``contracts/ERC3009DepositCollector.vy``) with the official SDK's ABI, EIP-712
types and canonical addresses, so the SDK's unmodified client can pay a cairn
node. Spec: x402 ``specs/schemes/batch-settlement/scheme_batch_settlement_evm.md``;
EIP-712 (``hashStruct``, ``domainSeparator``, arrays of structs); EIP-3009
(``receiveWithAuthorization``) for deposits. The Permit2 collector is out of scope.

The rules, as the SDK's client, facilitator and server code apply them:

- Domain ``{name: "x402 Batch Settlement", version: "1", chainId,
  verifyingContract}``, the contract at :data:`BATCH_SETTLEMENT_ADDRESS`.
  ``channelId = hashTypedData(ChannelConfig)``: bound to the chain and contract.
- A channel holds ``balance`` (deposits minus refunds and withdrawals; claimed
  funds stay in it) and ``totalClaimed``. A ``Voucher(channelId,
  maxClaimableAmount)`` is a cumulative ceiling signed by ``payerAuthorizer``
  (ECDSA) or, if zero, by the payer (ECDSA, or ERC-1271 for a contract).
- A claim row sets ``totalClaimed``: a row at or below the recorded total is a
  no-op (an old voucher claims nothing new); above it, the row must stay within
  its voucher's ceiling and the channel's balance. Claiming moves no token;
  :meth:`BatchSettlement.settle` pays the receiver all it claimed and was not paid.
- Refunds advance ``refundNonce`` and return at most the unclaimed escrow; a
  timed withdrawal waits ``withdrawDelay`` (900 s to 30 days) and is capped at
  what is unclaimed when it ends — claims stay open meanwhile.
- An EIP-3009 deposit authorizes the collector (``to``) with the nonce
  ``keccak256(abi.encode(channelId, salt))`` (:func:`deposit_nonce`).

Digests here are computed with :mod:`cairn.identity`'s EIP-712 and tested equal
to the contract's views and to the SDK's own functions. :func:`install_canonical`
puts the contracts at their canonical addresses on a development chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from eth_abi.abi import encode
from eth_hash.auto import keccak
from web3 import Web3
from web3.logs import DISCARD

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.chain.token import TokenDomain, sign_authorization
from cairn.errors import ChainError, NotDeployed, VoucherInvalid
from cairn.identity import Signer, eip712_digest, hash_struct, sign_struct, type_hash

if TYPE_CHECKING:
    from cairn.chain.client import Chain

__all__ = [
    "BATCH_SETTLEMENT_ADDRESS",
    "ERC3009_COLLECTOR_ADDRESS",
    "MAX_WITHDRAW_DELAY",
    "MIN_WITHDRAW_DELAY",
    "BatchSettlement",
    "ChannelBalance",
    "ChannelConfig",
    "PendingWithdrawal",
    "ReceiverTotals",
    "VoucherClaim",
    "authorize_deposit",
    "canonical",
    "channel_id",
    "claim_batch_digest",
    "deposit_nonce",
    "erc3009_collector_data",
    "install_canonical",
    "refund_digest",
    "sign_claim_batch",
    "sign_deposit",
    "sign_refund",
    "sign_voucher",
    "voucher_digest",
]

BATCH_SETTLEMENT_ADDRESS = "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003"
ERC3009_COLLECTOR_ADDRESS = "0x4020806089470a89826cB9fB1f4059150b550004"
MIN_WITHDRAW_DELAY = 900
MAX_WITHDRAW_DELAY = 30 * 24 * 3600
ZERO_ADDRESS = "0x" + "00" * 20
_UINT128 = 2**128

TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "ChannelConfig": [
        {"name": "payer", "type": "address"},
        {"name": "payerAuthorizer", "type": "address"},
        {"name": "receiver", "type": "address"},
        {"name": "receiverAuthorizer", "type": "address"},
        {"name": "token", "type": "address"},
        {"name": "withdrawDelay", "type": "uint40"},
        {"name": "salt", "type": "bytes32"},
    ],
    "Voucher": [
        {"name": "channelId", "type": "bytes32"},
        {"name": "maxClaimableAmount", "type": "uint128"},
    ],
    "Refund": [
        {"name": "channelId", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "amount", "type": "uint128"},
    ],
    "ClaimBatch": [{"name": "claims", "type": "ClaimEntry[]"}],
    "ClaimEntry": [
        {"name": "channelId", "type": "bytes32"},
        {"name": "maxClaimableAmount", "type": "uint128"},
        {"name": "totalClaimed", "type": "uint128"},
    ],
}


def _address(value: str) -> str:
    try:
        return Web3.to_checksum_address(value)
    except ValueError:
        raise VoucherInvalid(f"not an address: {value!r}") from None


@dataclass(frozen=True, kw_only=True)
class ChannelConfig:
    """A channel's immutable identity (the SDK's ``ChannelConfig``); addresses checksummed.

    >>> c = ChannelConfig(payer="0x" + "11" * 20, receiver="0x" + "22" * 20,
    ...                   receiver_authorizer="0x" + "33" * 20, token="0x" + "44" * 20)
    >>> (c.withdraw_delay, c.payer_authorizer == ZERO_ADDRESS, len(c.salt))
    (900, True, 32)
    """

    payer: str
    receiver: str
    receiver_authorizer: str
    token: str
    payer_authorizer: str = ZERO_ADDRESS
    withdraw_delay: int = MIN_WITHDRAW_DELAY
    salt: bytes = bytes(32)

    def __post_init__(self) -> None:
        for name in ("payer", "receiver", "receiver_authorizer", "token", "payer_authorizer"):
            object.__setattr__(self, name, _address(getattr(self, name)))
        if len(self.salt) != 32 or not 0 <= self.withdraw_delay < 2**40:
            raise VoucherInvalid("a channel's salt is 32 bytes and its withdraw delay a uint40")

    def message(self) -> dict[str, Any]:
        """The EIP-712 ``ChannelConfig`` message."""
        return {
            "payer": self.payer,
            "payerAuthorizer": self.payer_authorizer,
            "receiver": self.receiver,
            "receiverAuthorizer": self.receiver_authorizer,
            "token": self.token,
            "withdrawDelay": self.withdraw_delay,
            "salt": self.salt,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple the contract takes."""
        return tuple(self.message().values())

    def to_json(self) -> dict[str, Any]:
        """The ``channelConfig`` of an x402 payload, as the SDK's client writes it."""
        return {**self.message(), "salt": "0x" + self.salt.hex()}


@dataclass(frozen=True)
class VoucherClaim:
    """One claim row: a voucher, its signature and the cumulative total to record."""

    config: ChannelConfig
    max_claimable: int
    signature: bytes
    total_claimed: int

    def as_tuple(self) -> tuple[Any, ...]:
        return ((self.config.as_tuple(), self.max_claimable), self.signature, self.total_claimed)


@dataclass(frozen=True)
class ChannelBalance:
    balance: int
    total_claimed: int

    @property
    def unclaimed(self) -> int:
        return self.balance - self.total_claimed


@dataclass(frozen=True)
class PendingWithdrawal:
    amount: int
    initiated_at: int  # 0: none pending


@dataclass(frozen=True)
class ReceiverTotals:
    total_claimed: int
    total_settled: int

    @property
    def unsettled(self) -> int:
        return self.total_claimed - self.total_settled


# -- EIP-712 ------------------------------------------------------------------------


def _domain(chain_id: int, contract: str) -> dict[str, Any]:
    return {
        "name": "x402 Batch Settlement",
        "version": "1",
        "chainId": chain_id,
        "verifyingContract": _address(contract),
    }


@cache
def _separator(chain_id: int, contract: str) -> bytes:  # checked once per contract
    return hash_struct("EIP712Domain", _domain(chain_id, contract), TYPES)


def _sign(
    signer: Signer,
    digest: bytes,
    kind: str,
    message: Callable[[], dict[str, Any]],
    chain_id: int,
    contract: str,
) -> bytes:
    """``digest`` signed; a wallet is shown the struct it is the digest of."""

    def typed() -> dict[str, Any]:
        domain = _domain(chain_id, contract)
        return {"types": TYPES, "primaryType": kind, "domain": domain, "message": message()}

    return sign_struct(signer, digest, typed).to_bytes()


def _digest(kind: str, message: dict[str, Any], chain_id: int, contract: str) -> bytes:
    return eip712_digest(_separator(chain_id, contract), hash_struct(kind, message, TYPES))


def _amount(value: int) -> int:
    if not 0 <= value < _UINT128:
        raise VoucherInvalid(f"an amount is a uint128, got {value}")
    return value


def channel_id(
    config: ChannelConfig, chain_id: int, contract: str = BATCH_SETTLEMENT_ADDRESS
) -> bytes:
    """The channel's id: its config hashed as EIP-712 typed data (``getChannelId``)."""
    return _digest("ChannelConfig", config.message(), chain_id, contract)


@cache
def _voucher_typehash() -> bytes:
    return type_hash("Voucher", TYPES)


def voucher_digest(
    cid: bytes, max_claimable: int, chain_id: int, contract: str = BATCH_SETTLEMENT_ADDRESS
) -> bytes:
    """What the payer (or payerAuthorizer) signs: ``Voucher(channelId, maxClaimableAmount)``.

    On every paid call, both sides: so it is encoded by hand (EIP-712 ``encodeData`` of
    a bytes32 and a uint128 is the two words) with the type hash and the domain
    separator computed once; ``test_the_voucher_digest_is_the_generic_eip712_one``
    holds it equal to the generic encoder.
    """
    if len(cid) != 32:
        raise VoucherInvalid(f"a channel id is 32 bytes, got {len(cid)}")
    struct = keccak(_voucher_typehash() + cid + _amount(max_claimable).to_bytes(32, "big"))
    return eip712_digest(_separator(chain_id, contract), struct)


def refund_digest(
    cid: bytes, nonce: int, amount: int, chain_id: int, contract: str = BATCH_SETTLEMENT_ADDRESS
) -> bytes:
    """What the receiverAuthorizer signs for ``refundWithSignature``."""
    message = {"channelId": cid, "nonce": nonce, "amount": _amount(amount)}
    return _digest("Refund", message, chain_id, contract)


def claim_batch_digest(
    claims: Sequence[VoucherClaim], chain_id: int, contract: str = BATCH_SETTLEMENT_ADDRESS
) -> bytes:
    """What the receiverAuthorizer signs for ``claimWithSignature``: ``ClaimBatch``."""
    return _digest("ClaimBatch", _claim_batch(claims, chain_id, contract), chain_id, contract)


def _claim_batch(claims: Sequence[VoucherClaim], chain_id: int, contract: str) -> dict[str, Any]:
    entries = [
        {
            "channelId": channel_id(c.config, chain_id, contract),
            "maxClaimableAmount": _amount(c.max_claimable),
            "totalClaimed": _amount(c.total_claimed),
        }
        for c in claims
    ]
    return {"claims": entries}


def sign_voucher(
    signer: Signer,
    cid: bytes,
    max_claimable: int,
    chain_id: int,
    contract: str = BATCH_SETTLEMENT_ADDRESS,
) -> bytes:
    """A cumulative voucher's 65-byte signature (r‖s‖v)."""
    digest = voucher_digest(cid, max_claimable, chain_id, contract)
    message = {"channelId": cid, "maxClaimableAmount": max_claimable}
    return _sign(signer, digest, "Voucher", lambda: message, chain_id, contract)


def sign_refund(
    signer: Signer,
    cid: bytes,
    nonce: int,
    amount: int,
    chain_id: int,
    contract: str = BATCH_SETTLEMENT_ADDRESS,
) -> bytes:
    digest = refund_digest(cid, nonce, amount, chain_id, contract)
    message = {"channelId": cid, "nonce": nonce, "amount": amount}
    return _sign(signer, digest, "Refund", lambda: message, chain_id, contract)


def sign_claim_batch(
    signer: Signer,
    claims: Sequence[VoucherClaim],
    chain_id: int,
    contract: str = BATCH_SETTLEMENT_ADDRESS,
) -> bytes:
    digest = claim_batch_digest(claims, chain_id, contract)
    return _sign(
        signer,
        digest,
        "ClaimBatch",
        lambda: _claim_batch(claims, chain_id, contract),
        chain_id,
        contract,
    )


def deposit_nonce(cid: bytes, salt: bytes) -> bytes:
    """The EIP-3009 nonce of a deposit: ``keccak256(abi.encode(channelId, uint256 salt))``."""
    return bytes(keccak(encode(["bytes32", "uint256"], [cid, int.from_bytes(salt, "big")])))


def erc3009_collector_data(
    valid_after: int, valid_before: int, salt: bytes, signature: bytes
) -> bytes:
    """``collectorData`` for the EIP-3009 collector:
    ``abi.encode(validAfter, validBefore, uint256 salt, bytes signature)``."""
    values = [valid_after, valid_before, int.from_bytes(salt, "big"), signature]
    return encode(["uint256", "uint256", "uint256", "bytes"], values)


def sign_deposit(
    payer: Signer,
    cid: bytes,
    amount: int,
    token: TokenDomain,
    *,
    valid_before: int,
    valid_after: int = 0,
    salt: bytes | None = None,
) -> tuple[bytes, bytes]:
    """``payer``'s EIP-3009 ``ReceiveWithAuthorization`` of ``amount`` to the collector for
    channel ``cid``, under ``token``'s domain, as the SDK client signs it; returns (salt,
    65-byte signature), a fresh random salt unless one is given. The one place a deposit
    is signed: onchain (:func:`authorize_deposit`) and in an x402 payload alike."""
    salt = os.urandom(32) if salt is None else salt
    signature = sign_authorization(
        payer,
        token,
        kind="receive",
        from_=payer.address,
        to=ERC3009_COLLECTOR_ADDRESS,
        value=amount,
        valid_after=valid_after,
        valid_before=valid_before,
        nonce=deposit_nonce(cid, salt),
    )
    return salt, signature.to_bytes()


def authorize_deposit(
    payer: Signer,
    config: ChannelConfig,
    amount: int,
    token: TokenDomain,
    *,
    valid_before: int,
    valid_after: int = 0,
    salt: bytes | None = None,
    contract: str = BATCH_SETTLEMENT_ADDRESS,
) -> bytes:
    """``collectorData`` of a deposit: ``payer``'s EIP-3009 ``ReceiveWithAuthorization``
    of ``amount`` to the collector, under ``token``'s domain, as the SDK client signs it
    (a fresh random salt unless one is given)."""
    cid = channel_id(config, token.chain_id, contract)
    salt, signature = sign_deposit(
        payer, cid, amount, token, valid_before=valid_before, valid_after=valid_after, salt=salt
    )
    return erc3009_collector_data(valid_after, valid_before, salt, signature)


# -- the contract -------------------------------------------------------------------


class BatchSettlement(ContractWrapper):
    """Typed calls of the BatchSettlement contract. Amounts are token base units."""

    name = "BatchSettlement"

    def _sum(self, receipt: Any, event: str, field: str) -> int:
        logs = getattr(self._contract.events, event)().process_receipt(receipt, errors=DISCARD)
        return sum(int(log["args"][field]) for log in logs if log["address"] == self.address)

    def deposit(
        self,
        signer: Signer,
        config: ChannelConfig,
        amount: int,
        collector: str,
        collector_data: bytes,
    ) -> Tx[int]:
        """Escrow ``amount`` through ``collector``; ``value`` is the amount deposited."""
        args = (config.as_tuple(), amount, _address(collector), collector_data)
        receipt = self._send(signer, "deposit", *args)
        return tx_of(receipt, self._sum(receipt, "Deposited", "amount"))

    def deposit_eip3009(
        self,
        submitter: Signer,
        payer: Signer,
        config: ChannelConfig,
        amount: int,
        token: TokenDomain,
        *,
        valid_before: int,
        valid_after: int = 0,
        salt: bytes | None = None,
    ) -> Tx[int]:
        """Deposit through the EIP-3009 collector with ``payer``'s authorization
        (:func:`authorize_deposit`); ``submitter`` pays the gas."""
        data = authorize_deposit(
            payer,
            config,
            amount,
            token,
            valid_before=valid_before,
            valid_after=valid_after,
            salt=salt,
            contract=self.address,
        )
        return self.deposit(submitter, config, amount, ERC3009_COLLECTOR_ADDRESS, data)

    def claim(self, signer: Signer, claims: Sequence[VoucherClaim]) -> Tx[int]:
        """Receiver side: record ``claims``; ``value`` is the total newly claimed."""
        receipt = self._send(signer, "claim", [c.as_tuple() for c in claims])
        return tx_of(receipt, self._sum(receipt, "Claimed", "claimAmount"))

    def claim_and_settle(
        self, signer: Signer, claims: Sequence[VoucherClaim], receiver: str, token: str
    ) -> Tx[tuple[int, int]]:
        """The receiver (or its authorizer) claims ``claims`` and is paid everything claimed
        for it, in one transaction (``multicall``: one base fee, no claim-batch signature);
        ``value`` is (newly claimed, paid)."""
        calls = [
            self._contract.encode_abi("claim", args=[[c.as_tuple() for c in claims]]),
            self._contract.encode_abi("settle", args=[_address(receiver), _address(token)]),
        ]
        receipt = self._send(signer, "multicall", [bytes.fromhex(c[2:]) for c in calls])
        claimed = self._sum(receipt, "Claimed", "claimAmount")
        return tx_of(receipt, (claimed, self._sum(receipt, "Settled", "amount")))

    def claim_with_signature(
        self, signer: Signer, claims: Sequence[VoucherClaim], authorizer_signature: bytes
    ) -> Tx[int]:
        """Anyone: record ``claims`` the receiverAuthorizer signed (:func:`sign_claim_batch`)."""
        rows = [c.as_tuple() for c in claims]
        receipt = self._send(signer, "claimWithSignature", rows, authorizer_signature)
        return tx_of(receipt, self._sum(receipt, "Claimed", "claimAmount"))

    def settle(self, signer: Signer, receiver: str, token: str) -> Tx[int]:
        """Pay ``receiver`` what it claimed in ``token`` and was not paid; ``value`` is that."""
        receipt = self._send(signer, "settle", _address(receiver), _address(token))
        return tx_of(receipt, self._sum(receipt, "Settled", "amount"))

    def refund(self, signer: Signer, config: ChannelConfig, amount: int) -> Tx[int]:
        """Receiver side: return up to ``amount`` unclaimed; ``value`` is what was returned."""
        receipt = self._send(signer, "refund", config.as_tuple(), amount)
        return tx_of(receipt, self._sum(receipt, "Refunded", "amount"))

    def refund_with_signature(
        self, signer: Signer, config: ChannelConfig, amount: int, nonce: int, signature: bytes
    ) -> Tx[int]:
        """Anyone, with the receiverAuthorizer's :func:`sign_refund` for ``nonce``."""
        args = (config.as_tuple(), amount, nonce, signature)
        receipt = self._send(signer, "refundWithSignature", *args)
        return tx_of(receipt, self._sum(receipt, "Refunded", "amount"))

    def multicall(self, signer: Signer, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> Tx[int]:
        """Several calls of this contract in one transaction, each ``(function, abi args)``
        (the SDK refunds as claimWithSignature + refundWithSignature); ``value`` is the
        amount refunded."""
        data = [bytes.fromhex(self._contract.encode_abi(fn, args=list(a))[2:]) for fn, a in calls]
        receipt = self._send(signer, "multicall", data)
        return tx_of(receipt, self._sum(receipt, "Refunded", "amount"))

    def initiate_withdraw(self, signer: Signer, config: ChannelConfig, amount: int) -> Tx[int]:
        """Payer side: start a timed withdrawal; ``value`` is when it can be finalized."""
        receipt = self._send(signer, "initiateWithdraw", config.as_tuple(), amount)
        return tx_of(receipt, int(self._event(receipt, "WithdrawInitiated")["finalizeAfter"]))

    def finalize_withdraw(self, signer: Signer, config: ChannelConfig) -> Tx[int]:
        """Payer side, after the delay; ``value`` is the amount paid back."""
        receipt = self._send(signer, "finalizeWithdraw", config.as_tuple())
        return tx_of(receipt, int(self._event(receipt, "WithdrawFinalized")["amount"]))

    # -- reads ------------------------------------------------------------------------

    def channel_id(self, config: ChannelConfig) -> bytes:
        return bytes(self._call("getChannelId", config.as_tuple()))

    def channel(self, cid: bytes) -> ChannelBalance:
        return ChannelBalance(*(int(v) for v in self._call("channels", cid)))

    def pending_withdrawal(self, cid: bytes) -> PendingWithdrawal:
        return PendingWithdrawal(*(int(v) for v in self._call("pendingWithdrawals", cid)))

    def receiver_totals(self, receiver: str, token: str) -> ReceiverTotals:
        totals = self._call("receivers", _address(receiver), _address(token))
        return ReceiverTotals(*(int(v) for v in totals))

    def refund_nonce(self, cid: bytes) -> int:
        return int(self._call("refundNonce", cid))

    def voucher_digest(self, cid: bytes, max_claimable: int) -> bytes:
        return bytes(self._call("getVoucherDigest", cid, max_claimable))

    def refund_digest(self, cid: bytes, nonce: int, amount: int) -> bytes:
        return bytes(self._call("getRefundDigest", cid, nonce, amount))

    def claim_batch_digest(self, claims: Sequence[VoucherClaim]) -> bytes:
        return bytes(self._call("getClaimBatchDigest", [c.as_tuple() for c in claims]))


# -- canonical addresses on a development chain -------------------------------------


def install_canonical(chain: Chain, signer: Signer) -> BatchSettlement:
    """Put BatchSettlement and the EIP-3009 collector at their canonical addresses.

    Each is deployed normally, then its runtime code is copied to the canonical
    address (``anvil_setCode``; the embedded chain's ``set_code``) and read back.
    Idempotent: a contract whose code is there already is left alone. Only a
    development chain allows it (ChainError elsewhere); whatever code was at
    those addresses is replaced.
    """
    _install(chain, signer, "BatchSettlement", BATCH_SETTLEMENT_ADDRESS)
    _install(
        chain,
        signer,
        "ERC3009DepositCollector",
        ERC3009_COLLECTOR_ADDRESS,
        BATCH_SETTLEMENT_ADDRESS,
    )
    return chain._at(BatchSettlement, BATCH_SETTLEMENT_ADDRESS)


def canonical(chain: Chain) -> BatchSettlement:
    """The BatchSettlement at its canonical address, with the EIP-3009 collector beside
    it; :class:`~cairn.errors.NotDeployed` if either has no code there."""
    for name, address in (
        ("BatchSettlement", BATCH_SETTLEMENT_ADDRESS),
        ("ERC3009DepositCollector", ERC3009_COLLECTOR_ADDRESS),
    ):
        if not _code(chain, address):
            raise NotDeployed(f"no {name} at {address} on {chain.url} (x402 batch-settlement)")
    return chain._at(BatchSettlement, BATCH_SETTLEMENT_ADDRESS)


def _install(chain: Chain, signer: Signer, name: str, address: str, *args: Any) -> None:
    if _code(chain, address) == _runtime(chain, name, *args):
        return
    deployed, _ = chain._create(signer, name, *args)
    code = _code(chain, deployed)
    _set_code(chain, address, code)
    if _code(chain, address) != code:
        raise ChainError(f"{name}: the code at {address} is not the code placed there")


def _code(chain: Chain, address: str) -> bytes:
    return bytes(
        chain._read("code", lambda: chain._w3.eth.get_code(Web3.to_checksum_address(address)))
    )


def _runtime(chain: Chain, name: str, *args: Any) -> bytes:
    """The runtime code ``name`` deploys with ``args``: what its creation code returns
    when run as a call (nothing is deployed)."""
    from cairn.chain._artifacts import load_artifact

    art = load_artifact(name)
    creation = chain._w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(*args)
    data = creation.data_in_transaction
    return bytes(chain._read(f"{name} runtime", lambda: chain._w3.eth.call({"data": data})))


def _set_code(chain: Chain, address: str, code: bytes) -> None:
    place = getattr(chain.backend, "set_code", None)
    if place is not None:  # the embedded chain
        chain._read("set code", lambda: place(address, code))
        return
    provider = chain.backend.provider()
    for method in ("anvil_setCode", "hardhat_setCode"):
        reply = chain._read(
            "set code", lambda m=method: provider.make_request(m, [address, "0x" + code.hex()])
        )
        if "error" not in reply:
            return
    raise ChainError(f"{chain.url} cannot set code at {address} (not a development chain)")
