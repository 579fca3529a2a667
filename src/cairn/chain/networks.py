"""Pinned networks: the chain and contracts a client trusts, from its own configuration.

A receipt names its network (EIP-712 ``chainId`` and ``verifyingContract``), but
that is a claim of the thing being verified: a forger names a contract of its own
whose ``commitmentOf`` returns whatever commitment it likes. So online verification never
reads addresses from a receipt. It reads them from a *network profile* — a small
JSON file ``<data dir>/networks/NAME.json`` holding the chain id, an RPC URL and
the ReceiptAnchor, Staking, ModelRegistry and Disputes addresses, the ERC-8004
Identity, Reputation and Validation registries where nodes are found, the
CairnUSD payment token and the ValidatorPool whose splitters clients pay
(optional: older profiles have none) — or from the data dir's own deployment
record, and refuses a receipt that names anything else.

Profiles are written by ``cairn chain deploy`` and ``cairn up`` for the network
they create, and imported with ``cairn network add NAME --from GATEWAY``, which
reads the gateway's ``/v1/network`` and then checks it onchain
(:func:`check_network`: the chain id, code at every address, the anchor's and
the Disputes contract's Staking, the Disputes contract's anchor, the Identity
Registry the Reputation and Validation registries answer to, the token, Staking
and anchor the pool pays by).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cairn._atomic import atomic_write_bytes
from cairn.chain.anchor import ReceiptAnchor
from cairn.chain.challenges import Challenges
from cairn.chain.client import Chain, Deployment, connect
from cairn.chain.disputes import Disputes
from cairn.chain.erc8004 import ReputationRegistry, ValidationRegistry
from cairn.chain.pool import ValidatorPool
from cairn.config import DataDir
from cairn.errors import CairnError, ConfigError, NotDeployed, did_you_mean
from cairn.identity import checksum_address
from cairn.receipts import ReceiptDomain

__all__ = [
    "Network",
    "check_network",
    "default_network",
    "list_networks",
    "load_network",
    "network_path",
    "save_network",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Network:
    """A network a client pins: chain id, where to read it, and its contracts.

    >>> n = Network("local", 2147483651, "embedded://", "0x" + "aa" * 20, "0x" + "bb" * 20)
    >>> n.domain.chain_id
    2147483651
    """

    name: str
    chain_id: int
    rpc: str
    anchor: str
    staking: str
    registry: str | None = None
    disputes: str | None = None
    identity: str | None = None  # ERC-8004 registries
    reputation: str | None = None
    validation: str | None = None
    token: str | None = None  # CairnUSD, the x402 payment token
    pool: str | None = None  # ValidatorPool: x402 payTo is a node's splitter of this pool

    @property
    def domain(self) -> ReceiptDomain:
        """The EIP-712 domain every receipt of this network is signed under."""
        return ReceiptDomain(self.chain_id, self.anchor)

    def describe(self) -> str:
        return f"{self.name!r} ({self.domain.describe()})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object, name: str | None = None) -> Network:
        if not isinstance(data, dict):
            raise ConfigError("a network profile must be a JSON object")
        try:
            opt = {k: checksum_address(str(data[k])) if data.get(k) else None for k in _OPTIONAL}
            return cls(
                name=str(name or data["name"]),
                chain_id=int(data["chain_id"]),
                rpc=str(data["rpc"]),
                anchor=checksum_address(str(data["anchor"])),
                staking=checksum_address(str(data["staking"])),
                **opt,
            )
        except KeyError as exc:
            raise ConfigError(f"network profile is missing {exc}") from None
        except (TypeError, ValueError, CairnError) as exc:
            raise ConfigError(f"malformed network profile: {exc}") from None

    @classmethod
    def from_deployment(cls, name: str, deployment: Deployment, rpc: str) -> Network:
        return cls(
            name,
            deployment.chain_id,
            rpc,
            deployment.anchor,
            deployment.staking,
            deployment.registry,
            deployment.disputes,
            deployment.identity,
            deployment.reputation,
            deployment.validation,
            deployment.token,
            deployment.pool,
        )


_OPTIONAL = ("registry", "disputes", "identity", "reputation", "validation", "token", "pool")
_NO_ADDRESS = "0x" + "00" * 20  # a contract a profile does not pin


def network_path(data_dir: DataDir, name: str) -> Path:
    if not _NAME.match(name):
        raise ConfigError(f"not a network name: {name!r} (letters, digits, . _ -)")
    return data_dir.root / "networks" / f"{name}.json"


def save_network(data_dir: DataDir, network: Network) -> Path:
    """Write (or replace) the profile ``NAME.json``; return its path."""
    path = network_path(data_dir, network.name)
    text = json.dumps(network.to_json(), indent=1, sort_keys=True) + "\n"
    atomic_write_bytes(path, text.encode())
    return path


def list_networks(data_dir: DataDir) -> list[Network]:
    folder = data_dir.root / "networks"
    found = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [load_network(data_dir, p.stem) for p in found]


def load_network(data_dir: DataDir, name: str) -> Network:
    path = network_path(data_dir, name)
    if not path.exists():
        known = [p.stem for p in path.parent.glob("*.json")] if path.parent.is_dir() else []
        raise ConfigError(
            f"no network profile {name!r} in {path.parent}"
            + (did_you_mean(name, known) or f" (known: {', '.join(known) or 'none'})")
            + "; add one with `cairn network add NAME --from GATEWAY_URL`"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read network profile {path}: {exc}") from None
    return Network.from_json(data, name)


def default_network(data_dir: DataDir, chain: Chain) -> Network:
    """What to pin when no profile is named: the data dir's own deployment on ``chain``
    (connected with ``data_dir``), else the one profile of that chain id; a clear error
    if neither exists."""
    try:
        return Network.from_deployment(f"chain-{chain.chain_id}", chain.deployment, chain.url)
    except NotDeployed:
        pass
    same = [n for n in list_networks(data_dir) if n.chain_id == chain.chain_id]
    if len(same) == 1:
        return same[0]
    raise ConfigError(
        f"no pinned network for chain {chain.chain_id} in {data_dir.root}"
        + (f" (several profiles: {', '.join(n.name for n in same)})" if same else "")
        + ": pass --network NAME (see `cairn network add NAME --from GATEWAY_URL`)"
    )


def check_network(network: Network, data_dir: DataDir | None = None, *, use: bool = False) -> Chain:
    """Connect to ``network`` and check that its contracts are what the profile says.

    With ``use``, the returned chain works with the profile's contracts (a party that
    joins a network it did not deploy) without writing them into the data dir's own
    deployment record; its deployer and block are unknown (zero).
    """
    chain = connect(network.rpc, data_dir, expect_chain_id=network.chain_id)
    addresses = {"ReceiptAnchor": network.anchor, "Staking": network.staking}
    addresses |= {"ModelRegistry": network.registry} if network.registry else {}
    addresses |= {"Disputes": network.disputes} if network.disputes else {}
    addresses |= {
        label: address
        for label, address in (
            ("IdentityRegistry", network.identity),
            ("ReputationRegistry", network.reputation),
            ("ValidationRegistry", network.validation),
            ("CairnUSD", network.token),
            ("ValidatorPool", network.pool),
        )
        if address
    }
    for label, address in addresses.items():
        if not chain._has_code(address):
            raise ConfigError(f"{network.name}: no contract at {label} {address}")
    staking = chain._at(ReceiptAnchor, network.anchor).staking_address()
    if staking.lower() != network.staking.lower():
        raise ConfigError(
            f"{network.name}: ReceiptAnchor {network.anchor} answers to Staking {staking}, "
            f"not {network.staking}"
        )
    if network.disputes:
        judge = chain._at(Disputes, network.disputes)
        anchor, staking = str(judge._call("anchor")), str(judge._call("staking"))
        if (anchor.lower(), staking.lower()) != (network.anchor.lower(), network.staking.lower()):
            raise ConfigError(
                f"{network.name}: Disputes {network.disputes} judges anchor {anchor} / "
                f"staking {staking}, not this network's"
            )
        challenges = judge.challenges_address()
        if challenges is None or not chain._has_code(challenges):
            raise ConfigError(f"{network.name}: Disputes {network.disputes} has no Challenges")
        named = chain._at(Challenges, challenges).disputes_address()
        if named.lower() != network.disputes.lower():
            raise ConfigError(
                f"{network.name}: Challenges {challenges} convicts through {named}, "
                f"not Disputes {network.disputes}"
            )
    _check_erc8004(chain, network)
    _check_pool(chain, network)
    if use:
        chain.use(
            Deployment(
                network.chain_id,
                network.registry or _NO_ADDRESS,
                network.staking,
                network.anchor,
                _NO_ADDRESS,
                0,
                disputes=network.disputes,
                identity=network.identity,
                reputation=network.reputation,
                validation=network.validation,
                token=network.token,
                pool=network.pool,
            )
        )
    return chain


def _check_erc8004(chain: Chain, network: Network) -> None:
    """The Reputation and Validation registries rate agents of the profile's Identity."""
    pinned = {"reputation": network.reputation, "validation": network.validation}
    if any(pinned.values()) and not network.identity:
        raise ConfigError(f"{network.name}: an ERC-8004 registry is pinned without its identity")
    for label, address in (
        ("ReputationRegistry", network.reputation),
        ("ValidationRegistry", network.validation),
    ):
        if not address:
            continue
        rater: ReputationRegistry | ValidationRegistry = (
            chain._at(ReputationRegistry, address)
            if label == "ReputationRegistry"
            else chain._at(ValidationRegistry, address)
        )
        named = rater.identity_address()
        if named.lower() != str(network.identity).lower():
            raise ConfigError(
                f"{network.name}: {label} {address} rates agents of {named}, "
                f"not IdentityRegistry {network.identity}"
            )


def _check_pool(chain: Chain, network: Network) -> None:
    """The pool pays in the profile's token, to validators of its Staking, for its anchor."""
    if not network.pool:
        return
    pool = chain._at(ValidatorPool, network.pool)
    named = {
        "token": (pool.token_address(), network.token),
        "Staking": (pool.staking_address(), network.staking),
        "ReceiptAnchor": (pool.anchor_address(), network.anchor),
    }
    for label, (onchain, pinned) in named.items():
        if pinned is None or onchain.lower() != pinned.lower():
            raise ConfigError(
                f"{network.name}: ValidatorPool {network.pool} uses {label} {onchain}, "
                f"not {pinned or 'none pinned'}"
            )
