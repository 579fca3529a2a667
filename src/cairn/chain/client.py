"""The chain client: connect to a chain by URL, deploy once, reach typed contracts.

``connect(url, data_dir)`` is the one place a backend is chosen: ``embedded://``
runs py-evm in this process (state in ``DataDir.chain``), ``http(s)://`` talks
JSON-RPC to any EVM node. Contracts are deployed once per chain; their addresses
are recorded per chain id (EIP-155) in ``<data dir>/chain/deployments.json``,
written atomically, and checked to hold code before use, so a reset dev chain is
reported instead of called.

:class:`Chain` is the boundary: web3 stays inside it. Callers get typed
contracts, a few chain reads (:meth:`Chain.head`, :meth:`Chain.block_hash`,
:meth:`Chain.now`, :meth:`Chain.balance`), a raw read-only JSON-RPC passthrough
(:meth:`Chain.rpc`, what the gateway proxies) and :class:`~cairn.errors.CairnError`
for every failure. Writes are signed by a :class:`cairn.identity.Signer`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

from web3 import Web3
from web3.datastructures import NamedElementOnion
from web3.types import RPCEndpoint, TxParams

from cairn._atomic import atomic_write_bytes
from cairn.chain import _tx
from cairn.chain._artifacts import load_artifact
from cairn.chain._wrapper import ContractWrapper
from cairn.chain.anchor import ReceiptAnchor
from cairn.chain.base import EMBEDDED, Backend
from cairn.chain.challenges import Challenges
from cairn.chain.disputes import DisputeParams, Disputes
from cairn.chain.erc8004 import IdentityRegistry, ReputationRegistry, ValidationRegistry
from cairn.chain.jsonrpc import to_rpc_json
from cairn.chain.pool import ValidatorPool
from cairn.chain.registry import ModelRegistry
from cairn.chain.staking import Staking
from cairn.chain.token import TOKEN_DECIMALS, TOKEN_NAME, TOKEN_SYMBOL, Token
from cairn.config import DataDir
from cairn.errors import (
    ChainError,
    ChainRpcError,
    ChainUnreachable,
    ConfigError,
    ContractRevert,
    NotDeployed,
    did_you_mean,
)
from cairn.identity import LocalSigner, Signer

__all__ = ["EMBEDDED", "PROXY_RPC", "Chain", "DeployParams", "Deployment", "connect"]

ETHER = 10**18
FEEDBACK_PER_CLIENT = 1000  # ReputationRegistry: feedback one client may give one agent
W = TypeVar("W", bound=ContractWrapper)

# What :meth:`Chain.rpc` passes through (what the gateway's ``/v1/chain/rpc`` relays):
# reads of public chain state, and what a validator or client needs to transact with
# its own key — fees, nonce, estimate, a transaction it signed itself
# (``eth_sendRawTransaction``), its receipt. Nothing that signs for anyone
# (``eth_sendTransaction``, ``eth_sign``, ``eth_accounts``: a dev chain's unlocked
# accounts) or moves a development chain (``evm_*``, ``anvil_*``).
PROXY_RPC = frozenset(
    {
        "eth_chainId",
        "net_version",
        "eth_blockNumber",
        "eth_call",
        "eth_estimateGas",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_feeHistory",
        "eth_getCode",
        "eth_getBalance",
        "eth_getBlockByNumber",
        "eth_getLogs",
        "eth_getTransactionCount",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_sendRawTransaction",
        "web3_clientVersion",
    }
)


@dataclass(frozen=True)
class DeployParams:
    """Constructor settings of one deployment.

    >>> DeployParams(unbonding_delay=0).min_node_stake
    10000000000000000
    """

    min_node_stake: int = ETHER // 100
    min_validator_stake: int = ETHER // 10
    unbonding_delay: int = 7 * 24 * 3600
    pool_epoch: int = 24 * 3600  # ValidatorPool: seconds per payout epoch
    pool_max_attesters: int = 3  # ValidatorPool: audits paid per anchored batch


_RETIRED_PARAMS = ("close_window",)  # PaymentChannels' close window, in older records


@dataclass(frozen=True)
class Deployment:
    """Where the contracts live on one chain."""

    chain_id: int
    registry: str
    staking: str
    anchor: str
    deployer: str
    block_number: int
    params: DeployParams = field(default_factory=DeployParams)
    disputes: str | None = None  # the Disputes contract, Staking's slasher, once deployed
    dispute_params: DisputeParams | None = None
    # ERC-8004 registries (nodes found onchain); absent from deployments made before them
    identity: str | None = None
    reputation: str | None = None
    validation: str | None = None
    # CairnUSD (ERC-20 + EIP-3009), the network's x402 payment token; absent before it
    token: str | None = None
    # ValidatorPool (pays validators a share of every node's revenue); absent before it
    pool: str | None = None
    # PaymentChannels, retired for x402 batch-settlement (cairn.chain.batch, at its
    # canonical address on every chain): only records made before that name one
    channels: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        dp = data.get("dispute_params")
        params = {k: v for k, v in data.get("params", {}).items() if k not in _RETIRED_PARAMS}
        return cls(
            **{
                **data,
                "params": DeployParams(**params),
                "dispute_params": DisputeParams(**dp) if dp else None,
            }
        )


class Chain:
    """One chain, its deployment and typed contracts. Build with :func:`connect`."""

    def __init__(self, backend: Backend, data_dir: DataDir | None) -> None:
        self.backend = backend
        self.url = backend.url
        self._w3 = Web3(backend.provider())
        self._book = None if data_dir is None else data_dir.chain / "deployments.json"
        self._deployment: Deployment | None = None
        self.deploy_gas: dict[str, int] = {}  # gas of each contract creation in the last deploy
        self.chain_id = self._read("chain id", lambda: int(self._w3.eth.chain_id))

    def _read(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            raise _tx.translate(exc, f"chain ({what})", self.url) from exc

    # -- deployment ---------------------------------------------------------

    def _recorded(self) -> dict[str, Any]:
        if self._book is None or not self._book.exists():
            return {}
        try:
            book: dict[str, Any] = json.loads(self._book.read_text())
        except (OSError, ValueError) as exc:
            raise ChainError(f"cannot read {self._book}: {exc}") from exc
        return book

    @property
    def deployment(self) -> Deployment:
        """The recorded deployment on this chain; NotDeployed if none is usable."""
        if self._deployment is None:
            entry = self._recorded().get(str(self.chain_id))
            if entry is None:
                raise NotDeployed(
                    f"no contracts recorded for chain {self.chain_id} ({self.url}); "
                    "run `cairn chain deploy`"
                )
            found = Deployment.from_json(entry)
            if not self._has_code(found.registry):
                raise NotDeployed(
                    f"contracts recorded for chain {self.chain_id} have no code "
                    f"(was the chain reset?); run `cairn chain deploy`"
                )
            self._deployment = found
        return self._deployment

    def use(self, deployment: Deployment) -> None:
        """Work with ``deployment``'s contracts (a pinned profile's, checked onchain by
        :func:`cairn.chain.check_network`), without recording it in the data dir."""
        if deployment.chain_id != self.chain_id:
            raise ChainError(
                f"deployment is for chain {deployment.chain_id}, this is chain {self.chain_id}"
            )
        self._deployment = deployment
        self.__dict__.pop("contracts", None)
        self._forget_disputes()
        self._forget_erc8004()
        self.__dict__.pop("token", None)
        self.__dict__.pop("pool", None)

    def is_deployed(self) -> bool:
        try:
            _ = self.deployment
        except NotDeployed:
            return False
        return True

    def _has_code(self, address: str) -> bool:
        code = self._read("code", lambda: self._w3.eth.get_code(Web3.to_checksum_address(address)))
        return len(code) > 0

    def deploy(
        self,
        signer: Signer,
        params: DeployParams | None = None,
        *,
        record: bool = True,
        disputes: DisputeParams | None = None,
    ) -> Deployment:
        """Deploy the contracts (once: an existing usable deployment is returned).

        ModelRegistry, Staking, ReceiptAnchor, the three ERC-8004 registries
        (Identity, Reputation, Validation), CairnUSD, the payment token (the deployer
        is its only minter), and the ValidatorPool with its splitter implementation.
        ``record=False`` deploys a fresh, unrecorded set (``cairn chain check``). With
        ``disputes``, the Disputes contract is deployed too and made Staking's slasher
        (see :meth:`deploy_disputes`). A recorded deployment made before the ERC-8004
        registries, the token or the pool gets them added (:meth:`deploy_erc8004`,
        :meth:`deploy_token`, :meth:`deploy_pool`). Either way, on a development
        chain, x402 batch-settlement's contracts are placed at their canonical
        addresses (:func:`cairn.chain.batch.install_canonical`); any other chain is
        expected to hold x402's own deployment there.
        """
        if record and self.is_deployed():
            self._install_batch_settlement(signer)
            if self.deployment.identity is None:
                self.deploy_erc8004(signer)
            if self.deployment.token is None:
                self.deploy_token(signer)
            if self.deployment.pool is None:
                self.deploy_pool(signer)
            if disputes is not None and self.deployment.disputes is None:
                return self.deploy_disputes(signer, disputes)
            return self.deployment
        params = params or DeployParams()
        registry = self._create(signer, "ModelRegistry")
        staking = self._create(
            signer,
            "Staking",
            params.min_node_stake,
            params.min_validator_stake,
            params.unbonding_delay,
        )
        anchor = self._create(signer, "ReceiptAnchor", staking[0])
        found = Deployment(
            self.chain_id, registry[0], staking[0], anchor[0], signer.address, registry[1], params
        )
        found = self._with_erc8004(signer, found)
        found = replace(found, token=self._create_token(signer))
        found = replace(found, pool=self._create_pool(signer, found))
        if disputes is not None:
            found = self._with_disputes(signer, found, disputes)
        self._install_batch_settlement(signer)
        if record:
            self._record(found)
        self._deployment = found
        self.__dict__.pop("contracts", None)
        self._forget_disputes()
        self._forget_erc8004()
        self.__dict__.pop("token", None)
        self.__dict__.pop("pool", None)
        return found

    def _install_batch_settlement(self, signer: Signer) -> None:
        """x402 batch-settlement (BatchSettlement and its EIP-3009 collector) at the
        canonical addresses, placed there on a development chain (idempotent). No other
        chain lets code be placed: x402's own deployment is expected there, and
        :func:`cairn.chain.batch.canonical` says so when batch-settlement is used."""
        if not self.dev_keys():
            return
        # through the package: cairn.chain.batch names Chain in its type hints
        from cairn.chain import install_canonical

        install_canonical(self, signer)

    def deploy_erc8004(self, signer: Signer, *, record: bool = True) -> Deployment:
        """Add the ERC-8004 registries to the current deployment (once)."""
        current = self.deployment
        if current.identity is not None:
            return current
        found = self._with_erc8004(signer, current)
        if record:
            self._record(found)
        self._deployment = found
        self._forget_erc8004()
        return found

    def _with_erc8004(self, signer: Signer, d: Deployment) -> Deployment:
        identity, _ = self._create(signer, "IdentityRegistry")
        reputation, _ = self._create(signer, "ReputationRegistry", identity, FEEDBACK_PER_CLIENT)
        validation, _ = self._create(signer, "ValidationRegistry", identity)
        return replace(d, identity=identity, reputation=reputation, validation=validation)

    def deploy_token(self, signer: Signer, *, record: bool = True) -> Deployment:
        """Add the CairnUSD payment token to the current deployment (once)."""
        current = self.deployment
        if current.token is not None:
            return current
        found = replace(current, token=self._create_token(signer))
        if record:
            self._record(found)
        self._deployment = found
        self.__dict__.pop("token", None)
        self.__dict__.pop("pool", None)
        return found

    def _create_token(self, signer: Signer) -> str:
        address, _ = self._create(signer, "CairnUSD", TOKEN_NAME, TOKEN_SYMBOL, TOKEN_DECIMALS)
        return address

    def deploy_pool(self, signer: Signer, *, record: bool = True) -> Deployment:
        """Add the ValidatorPool (and its splitter implementation) to the current
        deployment (once; it needs the token: :meth:`deploy_token`)."""
        current = self.deployment
        if current.pool is not None:
            return current
        if current.token is None:
            raise NotDeployed("the validator pool pays in the token: deploy_token first")
        found = replace(current, pool=self._create_pool(signer, current))
        if record:
            self._record(found)
        self._deployment = found
        self.__dict__.pop("pool", None)
        return found

    def _create_pool(self, signer: Signer, d: Deployment) -> str:
        implementation, _ = self._create(signer, "RevenueSplitter")
        p = d.params
        args = (d.token, d.staking, d.anchor, implementation, p.pool_epoch, p.pool_max_attesters)
        address, _ = self._create(signer, "ValidatorPool", *args)
        return address

    def _forget_erc8004(self) -> None:
        for name in ("identity", "reputation", "validation"):
            self.__dict__.pop(name, None)

    def deploy_disputes(
        self, signer: Signer, params: DisputeParams | None = None, *, record: bool = True
    ) -> Deployment:
        """Deploy Disputes for the current deployment and set it as Staking's slasher.

        Only the deployer can do this, once: Staking's slasher can never change.
        """
        current = self.deployment
        if current.disputes is not None:
            return current
        found = self._with_disputes(signer, current, params or DisputeParams())
        if record:
            self._record(found)
        self._deployment = found
        self._forget_disputes()
        return found

    def _with_disputes(self, signer: Signer, d: Deployment, params: DisputeParams) -> Deployment:
        """Disputes (Staking's slasher) and the Challenges contract that convicts through it."""
        address, _ = self._create(signer, "Disputes", d.staking, d.anchor, *params.args())
        challenges, _ = self._create(signer, "Challenges", address, params.anchor_deadline)
        self._at(Disputes, address).set_challenges(signer, challenges)
        self._at(Staking, d.staking).set_slasher(signer, address)
        return replace(d, disputes=address, dispute_params=params)

    def _forget_disputes(self) -> None:
        for name in ("disputes", "challenges"):
            self.__dict__.pop(name, None)

    def _create(self, signer: Signer, name: str, *args: Any) -> tuple[str, int]:
        art = load_artifact(name)
        factory = self._w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        receipt = _tx.send(self._w3, self.backend, name, factory.constructor(*args), signer)
        self.deploy_gas[name] = int(receipt["gasUsed"])
        return str(receipt["contractAddress"]), int(receipt["blockNumber"])

    def _record(self, found: Deployment) -> None:
        if self._book is None:
            return
        book = self._recorded()
        book[str(found.chain_id)] = asdict(found)
        atomic_write_bytes(self._book, (json.dumps(book, indent=1, sort_keys=True) + "\n").encode())

    # -- contracts ----------------------------------------------------------

    def _at(self, kind: type[W], address: str) -> W:
        """A typed contract of ``kind`` at ``address`` (one not in this chain's deployment)."""
        return kind(self._w3, self.backend, address)

    @cached_property
    def contracts(self) -> tuple[ModelRegistry, Staking, ReceiptAnchor]:
        d = self.deployment
        return (
            self._at(ModelRegistry, d.registry),
            self._at(Staking, d.staking),
            self._at(ReceiptAnchor, d.anchor),
        )

    @cached_property
    def disputes(self) -> Disputes:
        """The Disputes contract; NotDeployed if this network has none."""
        address = self.deployment.disputes
        if address is None:
            raise NotDeployed(
                f"no Disputes contract recorded for chain {self.chain_id}; "
                "deploy with disputes (Chain.deploy_disputes)"
            )
        return self._at(Disputes, address)

    @cached_property
    def challenges(self) -> Challenges:
        """The Challenges contract (objective challenges), named onchain by Disputes."""
        address = self.disputes.challenges_address()
        if address is None:
            raise NotDeployed(f"the Disputes contract on chain {self.chain_id} has no Challenges")
        return self._at(Challenges, address)

    def _erc8004(self, kind: type[W], address: str | None) -> W:
        if address is None:
            raise NotDeployed(
                f"no ERC-8004 {kind.name} recorded for chain {self.chain_id}; "
                "run `cairn chain deploy` (it adds them to an older deployment)"
            )
        return self._at(kind, address)

    @cached_property
    def identity(self) -> IdentityRegistry:
        """The ERC-8004 Identity Registry; NotDeployed if this deployment predates it."""
        return self._erc8004(IdentityRegistry, self.deployment.identity)

    @cached_property
    def reputation(self) -> ReputationRegistry:
        """The ERC-8004 Reputation Registry."""
        return self._erc8004(ReputationRegistry, self.deployment.reputation)

    @cached_property
    def validation(self) -> ValidationRegistry:
        """The ERC-8004 Validation Registry."""
        return self._erc8004(ValidationRegistry, self.deployment.validation)

    @cached_property
    def token(self) -> Token:
        """CairnUSD, the network's payment token; NotDeployed if this deployment predates it."""
        address = self.deployment.token
        if address is None:
            raise NotDeployed(
                f"no CairnUSD payment token recorded for chain {self.chain_id}; "
                "run `cairn chain deploy` (it adds one to an older deployment)"
            )
        return self._at(Token, address)

    @cached_property
    def pool(self) -> ValidatorPool:
        """The ValidatorPool (validators paid from demand); NotDeployed if this deployment
        predates it."""
        address = self.deployment.pool
        if address is None:
            raise NotDeployed(
                f"no ValidatorPool recorded for chain {self.chain_id}; "
                "run `cairn chain deploy` (it adds one to an older deployment)"
            )
        return self._at(ValidatorPool, address)

    @property
    def registry(self) -> ModelRegistry:
        return self.contracts[0]

    @property
    def staking(self) -> Staking:
        return self.contracts[1]

    @property
    def anchor(self) -> ReceiptAnchor:
        return self.contracts[2]

    # -- blocks, accounts and the clock --------------------------------------

    def head(self) -> int:
        """The latest block's number."""
        return int(self._read("block number", lambda: self._w3.eth.block_number))

    def block_hash(self, number: int) -> bytes:
        """The hash of block ``number`` (ChainError if it does not exist yet)."""
        return bytes(self._read(f"block {number}", lambda: self._w3.eth.get_block(number)["hash"]))

    def balance(self, address: str) -> int:
        return int(
            self._read(
                "balance", lambda: self._w3.eth.get_balance(Web3.to_checksum_address(address))
            )
        )

    def code_at(self, address: str) -> bytes:
        """The account's runtime code (``b""`` for an externally owned account)."""
        target = Web3.to_checksum_address(address)
        return bytes(self._read("code", lambda: self._w3.eth.get_code(target)))

    def is_valid_signature(self, address: str, digest: bytes, signature: bytes) -> bool:
        """EIP-1271: whether the contract at ``address`` accepts ``signature`` over
        ``digest`` (it returns the magic value 0x1626ba7e); a revert or any other
        answer is a no."""
        call = {
            "to": Web3.to_checksum_address(address),
            "data": "0x1626ba7e"
            + (digest.rjust(32, b"\0")[:32] + (64).to_bytes(32, "big")).hex()
            + len(signature).to_bytes(32, "big").hex()
            + signature.ljust((len(signature) + 31) // 32 * 32, b"\0").hex(),
        }
        try:
            out = bytes(self._read("isValidSignature", lambda: self._w3.eth.call(call)))  # type: ignore[arg-type]
        except ContractRevert:
            return False
        return out[:4] == bytes.fromhex("1626ba7e")

    def now(self) -> int:
        """The latest block's timestamp (the contracts' clock)."""
        return int(self._read("block", lambda: self._w3.eth.get_block("latest")["timestamp"]))

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """A JSON-RPC call passed through as is; the result in wire form (0x-hex).

        Only :data:`PROXY_RPC` methods pass (reads, and transactions their sender
        signed); a refused method, bad params or an error the chain answers is
        :class:`~cairn.errors.ChainRpcError` with the EIP-1474 code, message and
        data. A relayed transaction is persisted like one of ours.
        """
        if method not in PROXY_RPC:
            raise ChainRpcError(
                -32601, f"{method} is not allowed here (reads and signed transactions only)"
            )
        try:  # through the provider's own formatters (eth-tester's turn JSON-RPC fields into
            # its Python API: fromBlock, hex gas), but none of web3's result middleware
            send = self._w3.provider.request_func(self._w3, NamedElementOnion([]))
            reply = send(RPCEndpoint(method), _earliest_as_zero(method, list(params or [])))
        except OSError as exc:
            raise _tx.translate(exc, f"chain ({method})", self.url) from exc
        except Exception as exc:  # params from a client that the provider cannot even encode
            raise ChainRpcError(-32602, f"{method}: invalid params: {exc}"[:200]) from exc
        error = reply.get("error") if isinstance(reply, dict) else None
        if error is not None:
            if not isinstance(error, dict):
                raise ChainRpcError(-32603, str(error))
            code, data = error.get("code", -32603), error.get("data")
            raise ChainRpcError(int(code), str(error.get("message", "")), data)
        if not isinstance(reply, dict) or "result" not in reply:
            raise ChainRpcError(-32603, f"{method}: the chain sent no result")
        if method == "eth_sendRawTransaction":
            self.backend.committed()  # the embedded chain writes its state after every tx
        return to_rpc_json(reply["result"])

    def transfer(self, signer: Signer, to: str, wei: int) -> _tx.Tx[None]:
        tx = {"to": Web3.to_checksum_address(to), "value": wei, "data": b""}
        receipt = _tx.send(self._w3, self.backend, "transfer", _Plain(self._w3, tx), signer, wei)
        return _tx.tx_of(receipt, None)

    def dev_keys(self) -> list[Signer]:
        """Signers of a development chain's prefunded accounts (embedded, Anvil); else none."""
        return [LocalSigner.from_hex(key) for key in self._read("dev keys", self.backend.dev_keys)]

    def fund(self, address: str, wei: int) -> _tx.Tx[None]:
        """Send ``wei`` to ``address`` from the dev chain's first prefunded account."""
        keys = self.dev_keys()
        if not keys:
            raise ChainError(f"{self.url} has no prefunded dev accounts; fund {address} yourself")
        return self.transfer(keys[0], address, wei)

    def increase_time(self, seconds: int) -> None:
        """Move a development chain's clock forward (tests, demos)."""
        self._read("time", lambda: self.backend.increase_time(seconds))

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks on a development chain (tests: pool activation)."""
        for _ in range(blocks):
            self._read("mine", lambda: self._w3.provider.make_request(RPCEndpoint("evm_mine"), []))
        self.backend.committed()

    def snapshot(self) -> Any:
        """Mark the chain's state (dev chains); :meth:`revert` goes back to it."""
        mark = self._read(
            "snapshot",
            lambda: self._w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"],
        )
        return (mark, self._deployment)

    def revert(self, snapshot: Any) -> None:
        """Back to a :meth:`snapshot`: chain state and the deployment known then."""
        mark, deployment = snapshot
        self._read(
            "revert", lambda: self._w3.provider.make_request(RPCEndpoint("evm_revert"), [mark])
        )
        self._deployment = deployment
        self.__dict__.pop("contracts", None)
        self._forget_disputes()
        self._forget_erc8004()
        self.__dict__.pop("token", None)
        self.__dict__.pop("pool", None)

    def close(self) -> None:
        self.backend.close()


def _earliest_as_zero(method: str, params: list[Any]) -> list[Any]:
    """``eth_getLogs`` from ``"earliest"`` as from block 0: the same on every chain, and the
    only spelling eth-tester reads (it answers nothing for the tag)."""
    if method != "eth_getLogs" or not params or not isinstance(params[0], dict):
        return params
    tags = {k: "0x0" for k in ("fromBlock", "toBlock") if params[0].get(k) == "earliest"}
    return [{**params[0], **tags}, *params[1:]]


class _Plain:
    """A plain value transfer shaped like a contract call for :func:`_tx.send`."""

    def __init__(self, w3: Web3, tx: dict[str, Any]) -> None:
        self.w3, self.tx = w3, tx

    def build_transaction(self, extra: dict[str, Any]) -> dict[str, Any]:
        tx: dict[str, Any] = {**extra, **self.tx}
        tx.pop("from", None)
        tx["gas"] = self.w3.eth.estimate_gas(cast(TxParams, {**tx, "from": extra["from"]}))
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx["maxPriorityFeePerGas"] = self.w3.eth.max_priority_fee
        tx["maxFeePerGas"] = 2 * base + tx["maxPriorityFeePerGas"]  # web3.py's own rule
        return tx


def connect(
    url: str = EMBEDDED,
    data_dir: DataDir | Path | None = None,
    *,
    expect_chain_id: int | None = None,
) -> Chain:
    """Open the chain at ``url``: ``embedded://`` or ``http(s)://host:port``.

    With ``data_dir``, the embedded chain's state and every chain's deployment are
    kept there; without it the embedded chain lives in memory only.
    """
    dd = DataDir(data_dir) if isinstance(data_dir, Path) else data_dir
    if url.startswith("embedded:"):
        from cairn.chain._embedded import EmbeddedBackend

        backend: Backend = EmbeddedBackend(None if dd is None else dd.chain)
    elif url.startswith(("http://", "https://")):
        from cairn.chain._rpc import RpcBackend

        backend = RpcBackend(url)
    else:
        scheme = url.split(":", 1)[0]
        raise ConfigError(
            f"unknown chain URL {url!r}: use embedded:// or http(s)://host:port"
            + did_you_mean(scheme, ["embedded", "http", "https"])
        )
    chain = Chain(backend, dd)
    if expect_chain_id is not None and chain.chain_id != expect_chain_id:
        raise ChainUnreachable(f"{url} is chain {chain.chain_id}, expected {expect_chain_id}")
    return chain
