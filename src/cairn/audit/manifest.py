"""The stack manifest: what a decentralized-AI stack says about itself, layer by layer.

A "decentralized AI" claim is judged the way L2BEAT judges a rollup (its risk
rosette and stages framework, l2beat.com/scaling/risk): not by what the project
calls itself but by who operates each layer, who can change it, and what
happens when those parties misbehave or disappear. The manifest is the
evidence; :mod:`cairn.audit.rules` is the judge.

One manifest describes six layers -- storage, inference, training,
identity_payments, governance, verification -- with the same questions for
each (who operates it, how many independent operators, which keys can change
it and with what delay, what happens when an operator goes offline, which data
is public, private or encrypted, what stops Sybils), a few layer-specific
facts, the token's economics, what the project discloses, and the claims it
makes about itself, quoted verbatim.

The models are strict (a YAML string is never coerced into a number) and
forbid unknown fields, so a typo is an error with its line, not a silent default.
See ``docs/audit.md`` for every field with an example.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "LAYERS",
    "Control",
    "DataExposure",
    "Disclosure",
    "GovernanceLayer",
    "IdentityPaymentsLayer",
    "InferenceLayer",
    "Layer",
    "Layers",
    "StackManifest",
    "StorageLayer",
    "Token",
    "TrainingLayer",
    "VerificationLayer",
]

LAYERS: tuple[str, ...] = (
    "storage",
    "inference",
    "training",
    "identity_payments",
    "governance",
    "verification",
)


def _positive_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PydanticCustomError("positive_int", "must be a positive integer")
    return value


def _non_negative_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PydanticCustomError("non_negative_int", "must be a whole number, 0 or more")
    return value


def _fraction(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PydanticCustomError("fraction", "must be a number from 0 to 1")
    return float(value)


def _text(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("text", "must be a non-empty string")
    return value


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
NonNegativeInt = Annotated[int, BeforeValidator(_non_negative_int)]
Fraction = Annotated[float, BeforeValidator(_fraction)]
Text = Annotated[str, BeforeValidator(_text)]

SybilDefence = Literal["stake", "permissioned", "identity", "reputation", "payment", "none"]
CollusionSafeguard = Literal[
    "slashing",
    "random_selection",
    "committee_rotation",
    "anyone_can_challenge",
    "independent_operators",
    "timelocked_governance",
    "zk_fallback",
]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Control(_Strict):
    """Who can change a layer (upgrade a contract, swap a model, edit a list) and how fast.

    ``by``: ``admin`` (one key), ``multisig`` (``threshold`` of ``signers``),
    ``governance`` (a token or stake vote), ``operators`` (the operators
    themselves, by majority), or ``nobody`` (immutable).
    """

    by: Literal["admin", "multisig", "governance", "operators", "nobody"]
    signers: PositiveInt = 1
    threshold: PositiveInt = 1
    delay_s: NonNegativeInt = 0

    @field_validator("threshold")
    @classmethod
    def _threshold_within_signers(cls, value: int, info: ValidationInfo) -> int:
        signers = info.data.get("signers")
        if isinstance(signers, int) and value > signers:
            raise PydanticCustomError("threshold", "must not exceed signers")
        return value


class DataExposure(_Strict):
    """What this layer's data is, by exposure: names of data items, e.g. ``prompts``."""

    public: list[Text] = []
    private: list[Text] = []
    encrypted: list[Text] = []


class Layer(_Strict):
    """What every layer states: operators, control, liveness, data, Sybil defence."""

    operated_by: Text
    operators: PositiveInt
    shares: list[Fraction] | None = Field(
        default=None,
        description="Fractions of control (stake, weight, traffic) held by the largest "
        "operators, at most one per operator, adding up to at most 1; the operators not "
        "listed share the rest equally. Without it all operators are taken as equal.",
    )
    control: Control = Control(by="admin")
    on_operator_offline: Literal["halts", "degrades", "fails_over", "unaffected"] = "halts"
    data: DataExposure = DataExposure()
    sybil_resistance: list[SybilDefence] = ["none"]
    notes: str = ""

    @field_validator("shares")
    @classmethod
    def _shares_fit_operators(cls, value: list[float] | None, info: ValidationInfo) -> Any:
        operators = info.data.get("operators")
        if value is None or not isinstance(operators, int):
            return value
        if len(value) > operators:
            raise PydanticCustomError(
                "shares",
                "must list at most one share per operator ({n} operators, {m} shares)",
                {"n": operators, "m": len(value)},
            )
        if sum(value) > 1 + 1e-9:
            raise PydanticCustomError("shares", "must add up to at most 1")
        if len(value) == operators and sum(value) <= 0:
            raise PydanticCustomError("shares", "must not all be zero")
        return value


class StorageLayer(Layer):
    """Where weights and datasets live. ``gateways``: independent ways to fetch them."""

    content_addressed: bool = False
    gateways: PositiveInt = 1
    permanent: Literal["arweave"] | None = Field(
        default=None,
        description="A permanent-storage network that also holds the artifacts "
        "(arweave: paid once, replicated by its miners; `cairn publish --to arweave://`).",
    )


class InferenceLayer(Layer):
    """Where the model actually runs."""

    location: Literal[
        "client_device", "single_server", "centralized_api", "operator_nodes", "open_market"
    ]
    permissionless: bool = False


class TrainingLayer(Layer):
    """How the model came to be. ``none``: a pretrained model from elsewhere."""

    mode: Literal["none", "centralized", "federated", "decentralized"]
    lineage_signed: bool = False
    contributions_signed: bool = False


class IdentityPaymentsLayer(Layer):
    """Who users are and how they pay; where payments settle and who holds the keys."""

    settlement: Literal["none", "database", "local_process", "sidechain", "l2", "l1"]
    custody: Literal["self", "custodial"] = "custodial"
    user_fees: bool = True
    # Where the operators' signing keys live: opened by the node's own process (a
    # keystore), or kept by a wallet that signs what it is shown (EIP-1193), never seen.
    node_keys: Literal["in_process", "external_wallet"] = "in_process"


class GovernanceLayer(Layer):
    """Who decides model updates, parameters and upgrades, with which safeguards."""

    collusion_safeguards: list[CollusionSafeguard] = []


class VerificationLayer(Layer):
    """How anyone can tell that an answer came from the claimed model on the claimed input."""

    methods: list[
        Literal[
            "none",
            "signed_receipts",
            "reputation",
            "redundant_execution",
            "sampled_reexecution",
            "optimistic_challenge",
            "tee_attestation",
            "zk_proof",
        ]
    ]
    sampling_rate: Fraction = 0.0
    slashing: bool = False


class Layers(_Strict):
    """The six petals of the rosette; every one must be described."""

    storage: StorageLayer
    inference: InferenceLayer
    training: TrainingLayer
    identity_payments: IdentityPaymentsLayer
    governance: GovernanceLayer
    verification: VerificationLayer

    def items(self) -> list[tuple[str, Layer]]:
        """The layers in rosette order, with their names."""
        return [(name, getattr(self, name)) for name in LAYERS]


class Token(_Strict):
    """The token, if any, and where its value comes from."""

    symbol: str | None = None
    value_source: Literal["none", "paid_demand", "emissions", "mixed"] = "none"
    emissions_share: Fraction = Field(
        default=0.0, description="Fraction of operator rewards paid from emissions."
    )


class Disclosure(_Strict):
    """What the project explains publicly; a missing explanation is ``null``."""

    architecture: str | None = None
    hybrid_disclosed: bool = False
    latency: str | None = None
    routing: str | None = None
    verification: str | None = None


class StackManifest(_Strict):
    """A whole stack: six layers, the token, disclosures and the claims made."""

    version: Literal[1] = 1
    name: Text
    description: str = ""
    layers: Layers
    token: Token = Token()
    disclosure: Disclosure = Disclosure()
    claims: list[Text] = []
