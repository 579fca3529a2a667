"""What a running cairn network says about itself, what its chain says, and the manifest.

``cairn audit --live`` holds cairn to the standard it applies to others (L2BEAT
audits rollups from their onchain configuration, not their blog). A gateway
serves ``GET {URL}/v1/network``: :class:`NetworkDocument` is that contract (the
gateway returns exactly this model; the schema is documented field by field in
``docs/audit.md``). The auditor takes from it only the chain and contract
addresses (checked onchain before use) and what a chain cannot know -- the
runtime, whether requests are sealed, the storage gateways, training, claims.

:func:`manifest_from_network` builds the :class:`~cairn.audit.manifest.StackManifest`
from :class:`~cairn.audit.onchain.ChainFacts` -- stakes, operators, owners, delays,
validators, sampling and slashing as the contracts hold them -- and the document
for the rest, with no flattery: an embedded chain is one local process, one
inference operator is one operator.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Literal
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

if TYPE_CHECKING:  # the chain reader imports web3; a manifest audit must not
    from cairn.audit.onchain import ChainFacts, Staker

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


class IdentityInfo(_Doc):
    """Where the node's signing key lives: its own process, or a wallet it asks (EIP-1193)."""

    node_keys: Literal["in_process", "external_wallet"] = "in_process"


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
    identity: IdentityInfo = IdentityInfo()
    claims: list[str] = [
        "every answer carries a signed, verifiable receipt",
        "centralized compute, decentralized verification, identity, storage and settlement",
    ]


def manifest_from_network(
    chain: ChainFacts, doc: NetworkDocument | None = None, *, embedded: bool = False
) -> StackManifest:
    """The stack manifest of a network: its chain's answers, and the node's for the rest.

    ``embedded``: the chain runs inside a node's process (read as ``embedded://`` or
    through the node's relay). Without ``doc`` (no node asked), what only a node
    could say takes the pessimistic default: plaintext requests, one gateway, a
    pretrained model.
    """
    word = doc or _NO_NODE
    return StackManifest(
        name=doc.name if doc else f"cairn network on chain {chain.chain_id}",
        description=f"live: chain {chain.chain_id} at {chain.url}",
        layers=Layers(
            storage=_storage(chain, doc),
            inference=_inference(chain, word),
            training=_training(word),
            identity_payments=_payments(chain, word, embedded),
            governance=_governance(chain),
            verification=_verification(chain),
        ),
        token=Token(),
        disclosure=Disclosure(
            architecture="cairn DESIGN.md: centralized compute; decentralized verification, "
            "identity, storage and settlement",
            hybrid_disclosed=True,
            latency="inference never waits for the chain; receipts are anchored in batches",
            routing="a client or gateway sends each request to a staked node",
            verification="validators re-execute a random sample chosen by a later block hash",
        ),
        claims=word.claims,
    )


# What only a node can say, when no node was asked: the pessimistic choice.
_NO_NODE = NetworkDocument(
    name="",
    chain=ChainInfo(url="", chain_id=0, kind="rpc"),
    registry=RegistryInfo(update_delay_s=0, owners=["unknown"]),
    inference=InferenceInfo(operators=1, runtime="unknown (no node asked)"),
    claims=[],
)


def _settlement(chain_id: int, embedded: bool) -> Literal["local_process", "sidechain", "l2", "l1"]:
    if embedded or chain_id in _DEV_CHAINS:
        return "local_process"
    if chain_id in _PUBLIC_L1:
        return "l1"
    return "l2" if chain_id in _PUBLIC_L2 else "sidechain"


def _shares(people: tuple[Staker, ...]) -> list[float] | None:
    total = sum(p.stake for p in people)
    if not people or total <= 0:
        return None
    return [float(Fraction(p.stake, total)) for p in people]


def _storage(chain: ChainFacts, doc: NetworkDocument | None) -> StorageLayer:
    gateways = doc.storage.gateways if doc else []
    hosts = {urlsplit(g).netloc or g for g in gateways}
    operators = max(1, len(hosts))
    return StorageLayer(
        operated_by="the gateway operator" if operators == 1 else f"{operators} gateway hosts",
        operators=operators,
        control=Control(by="nobody"),  # a CID cannot be made to mean other bytes
        on_operator_offline="halts" if operators == 1 else "fails_over",
        data=DataExposure(public=["model weights", "model manifests"]),
        sybil_resistance=["none"],
        content_addressed=True,
        gateways=max(1, len(gateways)),
        notes=f"blockstore: {doc.storage.blockstore}"
        if doc
        else "node endpoints registered onchain",
    )


def _inference(chain: ChainFacts, word: NetworkDocument) -> InferenceLayer:
    count = len(chain.nodes)
    sealed = word.inference.sealed_requests
    who = {0: "no staked node", 1: "one staked node"}.get(count, f"{count} staked nodes")
    return InferenceLayer(
        operated_by=who,
        operators=max(1, count),
        shares=_shares(chain.nodes) if count > 1 else None,
        control=Control(by="operators"),
        # Fail-over is a client's doing; until a test proves cairn's, none is claimed.
        on_operator_offline="halts" if count <= 1 else "degrades",
        data=DataExposure(
            private=[] if sealed else ["prompts", "outputs"],
            encrypted=["prompts", "outputs"] if sealed else [],
        ),
        sybil_resistance=["stake"],  # cairn's Staking (checked by code hash) prices entry
        location="single_server" if count <= 1 else "operator_nodes",
        permissionless=True,  # cairn's Staking lets anyone register and bond
        notes=f"runtime: {word.inference.runtime}",
    )


def _training(word: NetworkDocument) -> TrainingLayer:
    t = word.training
    return TrainingLayer(
        operated_by="the model publisher" if t.mode == "none" else "federation participants",
        operators=t.participants,
        control=Control(by="nobody"),
        on_operator_offline="unaffected" if t.mode == "none" else "degrades",
        mode=t.mode,
        lineage_signed=True,  # cairn registers only signed provenance manifests
        contributions_signed=t.mode == "federated",
    )


def _local_chain(chain: ChainFacts, embedded: bool) -> str:
    """Which one-process chain the network settles on, as the rating says it."""
    if embedded:
        return f"an embedded chain inside the node's own process, chain {chain.chain_id}"
    return f"a development chain, chain {chain.chain_id} at {chain.url}: one block producer"


def _payments(chain: ChainFacts, word: NetworkDocument, embedded: bool) -> IdentityPaymentsLayer:
    settlement = _settlement(chain.chain_id, embedded)
    one = settlement == "local_process"
    return IdentityPaymentsLayer(
        operated_by="one local process" if one else f"chain {chain.chain_id}",
        notes=_local_chain(chain, embedded) if one else "",
        operators=1 if one else (word.chain.operators or 1),
        # A one-process chain's operator can rewrite its state; deployed contracts cannot.
        control=Control(by="admin") if one else Control(by="nobody"),
        on_operator_offline="halts",
        data=DataExposure(public=["payment channels", "receipt roots"]),
        sybil_resistance=["payment"],
        settlement=settlement,
        custody="self",
        user_fees=True,
        node_keys=word.identity.node_keys,
    )


def _owner_control(chain: ChainFacts) -> Control:
    """Each model's owner updates it alone, after that model's delay: the weakest one counts."""
    owners = sorted({m.owner for m in chain.governing})
    delay = min((m.update_delay_s for m in chain.governing), default=0)
    if len(owners) <= 1:
        return Control(by="admin", delay_s=delay)
    return Control(by="multisig", signers=len(owners), threshold=1, delay_s=delay)


def _governance(chain: ChainFacts) -> GovernanceLayer:
    control = _owner_control(chain)
    safeguards = [
        name
        for name, present in (
            ("slashing", chain.slashing),
            ("random_selection", chain.sampling_rate > 0),
            ("anyone_can_challenge", "Challenges" in chain.contracts),
            ("timelocked_governance", control.delay_s > 0),
        )
        if present
    ]
    owners = control.signers
    contract = any(m.owner_is_contract for m in chain.governing)
    return GovernanceLayer(
        operated_by="the registry owner" if owners == 1 else f"{owners} registry owners",
        operators=owners,
        control=control,
        on_operator_offline="unaffected",
        data=DataExposure(public=["model registry"]),
        sybil_resistance=["permissioned"],
        collusion_safeguards=safeguards,  # type: ignore[arg-type]
        notes="an owner is a contract; its own threshold is not read" if contract else "",
    )


def _verification(chain: ChainFacts) -> VerificationLayer:
    count = len(chain.validators)
    methods: list[str] = ["signed_receipts"]
    if count and chain.sampling_rate > 0:
        methods.append("sampled_reexecution")
    if count and chain.slashing:
        methods.append("optimistic_challenge")
    return VerificationLayer(
        operated_by=f"{count} staked validators" if count else "no validators staked",
        operators=max(1, count),
        shares=_shares(chain.validators) if count > 1 else None,
        # sampling rate, slash size and jail are Disputes' immutables: nobody changes them
        control=Control(by="nobody"),
        on_operator_offline="degrades",
        data=DataExposure(public=["receipts", "disputes"]),
        sybil_resistance=["stake"] if chain.min_validator_stake > 0 else ["permissioned"],
        methods=methods,  # type: ignore[arg-type]
        sampling_rate=chain.sampling_rate if count else 0.0,
        slashing=chain.slashing and count > 0,
        notes=f"{len(chain.jurors)} in the juror pool",
    )
