"""What a running cairn network says about itself, and the stack manifest it implies.

``cairn audit --live URL`` holds cairn to the standard it applies to others
(L2BEAT audits rollups from their onchain configuration, not their blog). The
gateway serves ``GET {URL}/v1/network``: the chain it settles on, its contracts,
the staked nodes and validators, who may update the model registry and after
what delay, its storage gateways, its inference operators, and its
verification parameters. :class:`NetworkDocument` is that contract -- the
gateway returns exactly this model -- and :func:`manifest_from_network` turns it
into a :class:`~cairn.audit.manifest.StackManifest`, with no flattery: an
embedded chain is one local process, one inference operator is one operator.

The schema is documented field by field in ``docs/audit.md``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from cairn.audit.manifest import (
    Control,
    DataExposure,
    Disclosure,
    GovernanceLayer,
    IdentityPaymentsLayer,
    InferenceLayer,
    Layers,
    StackManifest,
    StorageLayer,
    Token,
    TrainingLayer,
    VerificationLayer,
)

__all__ = [
    "ChainInfo",
    "InferenceInfo",
    "NetworkDocument",
    "Participant",
    "RegistryInfo",
    "StorageInfo",
    "TrainingInfo",
    "VerificationInfo",
    "manifest_from_network",
]

# Chains whose settlement class is known from the chain id alone.
_PUBLIC_L1 = {1, 11155111, 17000}  # Ethereum mainnet, Sepolia, Holesky
_PUBLIC_L2 = {10, 8453, 42161, 11155420, 84532, 421614}  # Optimism, Base, Arbitrum (+ testnets)
_DEV_CHAINS = {31337, 1337}  # Anvil, Hardhat, Ganache: one local process


class _Doc(BaseModel):
    # The gateway may add fields before the auditor learns them.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ChainInfo(_Doc):
    """The settlement chain: ``embedded`` (in-process EVM) or ``rpc`` (any JSON-RPC chain)."""

    url: str = Field(examples=["embedded://", "https://mainnet.base.org"])
    chain_id: int
    kind: Literal["embedded", "rpc"]
    contracts: dict[str, str] = Field(default={}, examples=[{"ModelRegistry": "0x5FbD..."}])
    operators: int | None = Field(
        default=None, ge=1, description="Independent block producers, when known."
    )


class Participant(_Doc):
    """A staked node or validator, as the Staking contract lists it."""

    address: str
    stake: int = Field(ge=0, description="Stake in wei.")
    endpoint: str | None = None


class RegistryInfo(_Doc):
    """Who may update the ModelRegistry, and the timelock on updates."""

    update_delay_s: int = Field(ge=0)
    owners: list[str] = Field(min_length=1)
    threshold: int = Field(default=1, ge=1, description="Owners needed to update.")


class StorageInfo(_Doc):
    """Where artifacts are served from (trustless gateways) and kept."""

    gateways: list[str] = []
    blockstore: str = "filesystem"


class InferenceInfo(_Doc):
    """Who runs the model, and whether anyone may join by staking."""

    operators: int = Field(ge=1)
    runtime: str = "onnxruntime"
    permissionless: bool = False
    sealed_requests: bool = False


class VerificationInfo(_Doc):
    """How receipts are checked after the fact."""

    sampling_rate: float = Field(default=0.0, ge=0, le=1)
    slashing: bool = False
    disputes: bool = False
    zk: bool = False
    min_stake: int = Field(default=0, ge=0, description="Minimum validator stake in wei.")


class TrainingInfo(_Doc):
    """``none``: the network serves pretrained models with signed lineage."""

    mode: Literal["none", "federated"] = "none"
    participants: int = Field(default=1, ge=1)


class NetworkDocument(_Doc):
    """The body of ``GET /v1/network``."""

    name: str = "cairn network"
    chain: ChainInfo
    operators: dict[str, list[str]] = Field(
        default={}, description="Role (gateway, inference, anchoring, ...) to operator addresses."
    )
    nodes: list[Participant] = []
    validators: list[Participant] = []
    registry: RegistryInfo
    storage: StorageInfo = StorageInfo()
    inference: InferenceInfo
    verification: VerificationInfo = VerificationInfo()
    training: TrainingInfo = TrainingInfo()
    claims: list[str] = [
        "every answer carries a signed, verifiable receipt",
        "centralized compute, decentralized verification, identity, storage and settlement",
    ]


def manifest_from_network(doc: NetworkDocument) -> StackManifest:
    """The stack manifest a running cairn network implies."""
    return StackManifest(
        name=doc.name,
        description=f"live: chain {doc.chain.chain_id} at {doc.chain.url}",
        layers=Layers(
            storage=_storage(doc),
            inference=_inference(doc),
            training=_training(doc),
            identity_payments=_payments(doc),
            governance=_governance(doc),
            verification=_verification(doc),
        ),
        token=Token(),
        disclosure=Disclosure(
            architecture="cairn DESIGN.md: centralized compute; decentralized verification, "
            "identity, storage and settlement",
            hybrid_disclosed=True,
            latency="inference never waits for the chain; receipts are anchored in batches",
            routing="the gateway routes each request to a staked node",
            verification="validators re-execute a random sample chosen by a later block hash",
        ),
        claims=doc.claims,
    )


def _settlement(chain: ChainInfo) -> Literal["local_process", "sidechain", "l2", "l1"]:
    if chain.kind == "embedded" or chain.chain_id in _DEV_CHAINS:
        return "local_process"
    if chain.chain_id in _PUBLIC_L1:
        return "l1"
    return "l2" if chain.chain_id in _PUBLIC_L2 else "sidechain"


def _shares(people: list[Participant], count: int) -> list[float] | None:
    total = sum(p.stake for p in people)
    if len(people) != count or total <= 0:
        return None
    return [float(Fraction(p.stake, total)) for p in people]


def _storage(doc: NetworkDocument) -> StorageLayer:
    hosts = {urlsplit(g).netloc or g for g in doc.storage.gateways}
    operators = max(1, len(hosts))
    return StorageLayer(
        operated_by="the gateway operator" if operators == 1 else f"{operators} gateway hosts",
        operators=operators,
        control=Control(by="nobody"),  # a CID cannot be made to mean other bytes
        on_operator_offline="halts" if operators == 1 else "fails_over",
        data=DataExposure(public=["model weights", "model manifests"]),
        sybil_resistance=["none"],
        content_addressed=True,
        gateways=max(1, len(doc.storage.gateways)),
        notes=f"blockstore: {doc.storage.blockstore}",
    )


def _inference(doc: NetworkDocument) -> InferenceLayer:
    i = doc.inference
    staked = "Staking" in doc.chain.contracts and bool(doc.nodes)
    return InferenceLayer(
        operated_by="one operator" if i.operators == 1 else f"{i.operators} staked nodes",
        operators=i.operators,
        shares=_shares(doc.nodes, i.operators),
        control=Control(by="operators"),
        on_operator_offline="halts" if i.operators == 1 else "fails_over",
        data=DataExposure(
            private=[] if i.sealed_requests else ["prompts", "outputs"],
            encrypted=["prompts", "outputs"] if i.sealed_requests else [],
        ),
        sybil_resistance=["stake"] if staked else ["permissioned"],
        location="single_server" if i.operators == 1 else "operator_nodes",
        permissionless=i.permissionless and staked,
        notes=f"runtime: {i.runtime}",
    )


def _training(doc: NetworkDocument) -> TrainingLayer:
    t = doc.training
    return TrainingLayer(
        operated_by="the model publisher" if t.mode == "none" else "federation participants",
        operators=t.participants,
        control=Control(by="nobody"),
        on_operator_offline="unaffected" if t.mode == "none" else "degrades",
        mode=t.mode,
        lineage_signed=True,  # cairn registers only signed provenance manifests
        contributions_signed=t.mode == "federated",
    )


def _local_chain(chain: ChainInfo) -> str:
    """Which one-process chain the node settles on, as the rating says it."""
    if chain.kind == "embedded":
        return f"an embedded chain inside the node's own process, {chain.url}"
    return f"a development chain, chain {chain.chain_id} at {chain.url}: one block producer"


def _local_operator(chain: ChainInfo) -> str:
    if chain.kind == "embedded":
        return "one local process"
    return f"the operator of development chain {chain.chain_id}"


def _payments(doc: NetworkDocument) -> IdentityPaymentsLayer:
    settlement = _settlement(doc.chain)
    local = settlement == "local_process"
    return IdentityPaymentsLayer(
        operated_by=_local_operator(doc.chain) if local else f"chain {doc.chain.chain_id}",
        notes=_local_chain(doc.chain) if local else "",
        operators=1 if local else (doc.chain.operators or 1),
        # An embedded chain's operator can rewrite its state; deployed contracts are immutable.
        control=Control(by="admin") if local else Control(by="nobody"),
        on_operator_offline="halts",
        data=DataExposure(public=["payment channels", "receipt roots"]),
        sybil_resistance=["payment"],
        settlement=settlement,
        custody="self",
        user_fees=True,
    )


def _governance(doc: NetworkDocument) -> GovernanceLayer:
    r = doc.registry
    v = doc.verification
    safeguards = [
        name
        for name, present in (
            ("slashing", v.slashing),
            ("random_selection", v.sampling_rate > 0),
            ("anyone_can_challenge", v.disputes),
            ("timelocked_governance", r.update_delay_s > 0),
            ("zk_fallback", v.zk),
        )
        if present
    ]
    owners = len(r.owners)
    return GovernanceLayer(
        operated_by="the registry owner" if owners == 1 else f"{owners} registry owners",
        operators=owners,
        control=Control(
            by="admin" if owners == 1 else "multisig",
            signers=owners,
            threshold=min(r.threshold, owners),
            delay_s=r.update_delay_s,
        ),
        on_operator_offline="unaffected",
        data=DataExposure(public=["model registry"]),
        sybil_resistance=["permissioned"],
        collusion_safeguards=safeguards,  # type: ignore[arg-type]
    )


def _verification(doc: NetworkDocument) -> VerificationLayer:
    v = doc.verification
    count = len(doc.validators)
    methods: list[str] = ["signed_receipts"]
    if count and v.sampling_rate > 0:
        methods.append("sampled_reexecution")
    if count and v.disputes:
        methods.append("optimistic_challenge")
    if v.zk:
        methods.append("zk_proof")
    return VerificationLayer(
        operated_by=f"{count} staked validators" if count else "no validators registered",
        operators=max(1, count),
        shares=_shares(doc.validators, count) if count else None,
        control=_governance(doc).control,  # sampling rate and slash size live in the registry
        on_operator_offline="degrades",
        data=DataExposure(public=["receipts", "disputes"]),
        sybil_resistance=["stake"] if v.min_stake > 0 else ["permissioned"],
        methods=methods,  # type: ignore[arg-type]
        sampling_rate=v.sampling_rate if count else 0.0,
        slashing=v.slashing and count > 0,
    )
