"""What a cairn network's contracts say about it: stakes, owners, delays, jurors, jail, disputes.

``cairn audit --live`` reads these from the chain rather than from a node, the way
L2BEAT reads a rollup's configuration from its contracts (l2beat.com/scaling/risk).
:func:`read_chain` takes a :class:`~cairn.chain.Chain` already pointed at a
network's contracts (a pinned profile, or addresses a node published, checked by
:func:`cairn.chain.check_network` and by code hash in :mod:`cairn.audit._code`) and
returns :class:`ChainFacts`: plain values that the manifest mapping
(:mod:`cairn.audit.network`) and the node-versus-chain comparison
(:mod:`cairn.audit.live`) read.

Staking and ModelRegistry keep no list of their members, so the members come
from their events (``Staking.Registered``, ``ModelRegistry.ModelRegistered``) and
their current state from the contracts' getters. An inference operator is a
node the contracts would route to: registered as a node with at least the
minimum bonded (``Staking.isStaked``), not jailed (``Disputes.isJailed``) and not
unbonding (``Staking.unbondingOf`` zero): :func:`cairn.chain.operator_refusal`, the rule the
client's discovery shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cairn.chain import Chain, Role, model_id, operator_refusal
from cairn.errors import AuditError
from cairn.identity import checksum_address

__all__ = ["ChainFacts", "ModelOwner", "Staker", "read_chain"]


@dataclass(frozen=True)
class Staker:
    """A node or validator as Staking records it."""

    address: str
    stake: int
    endpoint: str = ""


@dataclass(frozen=True)
class ModelOwner:
    """A model name in the registry: its owner, its update delay, and whether nodes serve it."""

    name: str
    owner: str
    update_delay_s: int
    owner_is_contract: bool
    served: bool


@dataclass(frozen=True)
class ChainFacts:
    """Everything the auditor read from a network's contracts."""

    url: str
    chain_id: int
    contracts: dict[str, str]
    nodes: tuple[Staker, ...]  # inference operators: staked, not jailed, not unbonding
    idle: tuple[tuple[str, str], ...]  # registered nodes not counted, and why
    validators: tuple[Staker, ...]  # staked validators, not jailed
    jurors: tuple[str, ...]  # the Disputes juror pool
    models: tuple[ModelOwner, ...]
    jailed: tuple[str, ...]
    disputes_open: int
    disputes_resolved: int
    sampling_rate: float
    slashing: bool  # Staking's slasher is this network's Disputes contract
    min_node_stake: int
    min_validator_stake: int

    @property
    def governing(self) -> tuple[ModelOwner, ...]:
        """The models that govern what is served: those staked nodes serve (else all)."""
        served = tuple(m for m in self.models if m.served)
        return served or self.models


def read_chain(chain: Chain) -> ChainFacts:
    """Read a network from ``chain``, whose deployment (with Disputes) is already in use."""
    d = chain.deployment
    if d.disputes is None:
        raise AuditError(f"chain {chain.chain_id}: the network names no Disputes contract")
    registered = chain.staking.registered()
    nodes, idle, served = _nodes(chain, registered)
    jailed = tuple(who for who in registered if chain.disputes.is_jailed(who))
    resolved = len(chain.disputes.resolved())  # one log read, not a call per dispute
    slasher = chain.staking.slasher
    contracts = {
        "ModelRegistry": d.registry,
        "Staking": d.staking,
        "ReceiptAnchor": d.anchor,
        "Disputes": d.disputes,
    }
    challenges = chain.disputes.challenges_address()
    return ChainFacts(
        url=chain.url,
        chain_id=chain.chain_id,
        contracts=contracts | ({"Challenges": challenges} if challenges else {}),
        nodes=nodes,
        idle=idle,
        validators=_validators(chain, registered),
        jurors=tuple(chain.disputes.pool()),
        models=_models(chain, served),
        jailed=jailed,
        disputes_open=chain.disputes.count() - resolved,
        disputes_resolved=resolved,
        sampling_rate=int(chain.disputes._call("auditRatePpm")) / 1e6,
        slashing=slasher is not None and slasher.lower() == d.disputes.lower(),
        min_node_stake=chain.staking.min_stake(Role.NODE),
        min_validator_stake=chain.staking.min_stake(Role.VALIDATOR),
    )


def _nodes(
    chain: Chain, registered: dict[str, Role]
) -> tuple[tuple[Staker, ...], tuple[tuple[str, str], ...], set[bytes]]:
    counted: list[Staker] = []
    idle: list[tuple[str, str]] = []
    served: set[bytes] = set()
    for who, role in registered.items():
        if role is not Role.NODE:
            continue
        p = chain.staking.participant(who)
        why = operator_refusal(chain, p)
        if why:
            idle.append((who, why))
            continue
        counted.append(Staker(who, p.stake, p.endpoint))
        served.update(p.models)
    return tuple(counted), tuple(idle), served


def _validators(chain: Chain, registered: dict[str, Role]) -> tuple[Staker, ...]:
    found = []
    for who, role in registered.items():
        if role is Role.VALIDATOR:
            p = chain.staking.participant(who)
            if operator_refusal(chain, p) is None:
                found.append(Staker(who, p.stake))
    return tuple(found)


def _models(chain: Chain, served: set[bytes]) -> tuple[ModelOwner, ...]:
    names = dict.fromkeys(
        str(log["args"]["name"]) for log in chain.registry._logs("ModelRegistered")
    )
    found = []
    for name in names:
        info = chain.registry.model(name)
        if info is None:
            continue
        cids = {model_id(v.content_cid) for v in chain.registry.history(name)}
        found.append(
            ModelOwner(
                name,
                checksum_address(info.owner),
                info.update_delay,
                _has_code(chain, info.owner),
                bool(cids & served),
            )
        )
    return tuple(found)


def _has_code(chain: Chain, address: str) -> bool:
    code: Any = chain.rpc("eth_getCode", [checksum_address(address), "latest"])
    return str(code) not in ("0x", "")
