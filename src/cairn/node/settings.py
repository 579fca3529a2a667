"""Service settings, from the environment with the ``CAIRN_`` prefix (pydantic-settings).

Only services read the environment; library calls take explicit values. The
precedence is flag > environment > default: the CLI passes only the flags a
user gave (:func:`from_flags`), so an unset flag defers to ``CAIRN_<NAME>``.

>>> NodeSettings(port=9000).port
9000
>>> from_flags(ValidatorSettings, interval_s=0.5, patience=None).interval_s
0.5
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cairn.errors import ConfigError

#: ``Disputes.MAX_INPUT``, the largest input a node can post onchain (a test holds them equal)
MAX_INPUT_BYTES = 16384

__all__ = ["DEFAULT_MODELS", "NodeSettings", "ValidatorSettings", "from_flags"]

#: the x402 schemes a node can accept (cairn.payments)
PAYMENT_SCHEMES = ("exact", "batch-settlement")

#: The bundled models a node serves unless told otherwise (cairn.inference's
#: MINILM_NAME and DIGITS_NAME; spelled out so that settings import no runtime).
DEFAULT_MODELS = ("all-MiniLM-L6-v2", "digits-logreg")

S = TypeVar("S", bound=BaseSettings)


def from_flags(cls: type[S], **flags: Any) -> S:
    """Settings where a flag left at ``None`` defers to the environment, then the default.

    An invalid value, from a flag or the environment, is a :class:`ConfigError`
    naming the variable.
    """
    try:
        return cls(**{name: value for name, value in flags.items() if value is not None})
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        name = field if field.isupper() else f"{prefix}{field}".upper()  # an alias is the name
        raise ConfigError(f"{name}: {first['msg']}") from None


def _home() -> Path:
    return Path.home() / ".cairn"


class NodeSettings(BaseSettings):
    """How a cairn node runs. Every field can be set as ``CAIRN_<NAME>``.

    ``models`` (``CAIRN_MODELS``, comma-separated; ``cairn up --model``, repeatable)
    names what to serve, each one of: a bundled model's name (``all-MiniLM-L6-v2``,
    ``digits-logreg``), the CID of a model in the blockstore (or of its manifest),
    or the path of a model folder (see :mod:`cairn.inference.folder`).
    """

    model_config = SettingsConfigDict(env_prefix="CAIRN_", extra="ignore")

    data_dir: Path = Field(default_factory=_home)
    chain: str = "embedded://"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    wallet: str = "node"
    # a wallet that keeps the node's key (EIP-1193 JSON-RPC URL, '#0xADDRESS' picks an
    # account): it signs receipts, claims and transactions instead of ``wallet``
    signer: str | None = None
    deployer_key: str | None = None
    models: Annotated[tuple[str, ...], NoDecode] = Field(default=DEFAULT_MODELS, min_length=1)
    batch_size: int = Field(default=100, ge=1, le=100_000)
    batch_seconds: float = Field(default=5.0, gt=0)
    audit_window_s: int = Field(default=7 * 24 * 3600, ge=0)
    # price per request of a served model (by name), in atomic units of the network's
    # payment token, paid over x402 (cairn.payments); CAIRN_PRICES="all-MiniLM-L6-v2=1000";
    # a model not named is free
    prices: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # the origin clients reach this node at (sign-in messages must name it; default
    # http://HOST:PORT); never taken from a request's Host header
    public_url: str | None = None
    # calls per minute per signed-in or paying address, and for all anonymous callers
    # together (0: unlimited)
    quota_per_minute: int = Field(default=0, ge=0)
    anonymous_quota_per_minute: int = Field(default=0, ge=0)
    # the x402 schemes a priced model accepts, in order of preference
    payment_schemes: Annotated[tuple[str, ...], NoDecode] = ("exact", "batch-settlement")
    # how often batch-settlement vouchers are claimed onchain (and once at shutdown)
    claim_interval_s: float = Field(default=60.0, gt=0)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    # a call whose input bytes exceed this is refused (413): a node must be able to post
    # any input it signed for in answer to a data-availability challenge (Disputes.MAX_INPUT)
    max_input_bytes: int = Field(default=MAX_INPUT_BYTES, ge=1, le=MAX_INPUT_BYTES)
    max_texts: int = Field(default=64, ge=1)
    threads: int = Field(default=1, ge=1)
    update_delay_s: int = Field(default=0, ge=0)
    stake_wei: int | None = None
    # deploy the Disputes contract and make it Staking's slasher (issue 5's seam)
    disputes: bool = True

    @field_validator("models", "payment_schemes", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        """``CAIRN_MODELS=a,b``: comma-separated; blanks dropped, so an empty list fails."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("prices", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """``CAIRN_PRICES=name=amount,name=amount``."""
        if not isinstance(value, str):
            return value
        pairs = [part.strip().rpartition("=") for part in value.split(",") if part.strip()]
        if any(not name or not sep for name, sep, _ in pairs):
            raise ValueError("expected MODEL=AMOUNT pairs separated by commas")
        return {name.strip(): amount.strip() for name, _, amount in pairs}

    @field_validator("prices")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [name for name, amount in value.items() if not 0 <= amount < 1 << 128]
        if bad:
            raise ValueError(f"the price of {bad[0]} must be 0 or more (atomic units)")
        return value

    @field_validator("payment_schemes")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in PAYMENT_SCHEMES]
        if unknown or not value:
            raise ValueError(f"payment schemes are one or more of {', '.join(PAYMENT_SCHEMES)}")
        return value


class ValidatorSettings(BaseSettings):
    """How ``cairn validator run`` runs. Every field can be set as ``CAIRN_VALIDATOR_<NAME>``,
    except the data dir, which every command shares (``--data-dir``, ``CAIRN_DATA_DIR``).

    The signer is ``key`` (a raw private key: dev chains, tests), else ``wallet``,
    else the default wallet, else a development chain's first account.
    """

    model_config = SettingsConfigDict(
        env_prefix="CAIRN_VALIDATOR_", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(default_factory=_home, validation_alias="CAIRN_DATA_DIR")
    chain: str = "embedded://"
    wallet: str | None = None
    key: str | None = None
    interval_s: float = Field(default=2.0, gt=0)
    patience: int = Field(default=2, ge=1)
    stake_wei: int | None = Field(default=None, ge=1)
    threads: int = Field(default=1, ge=1)
    max_model_bytes: int = Field(default=4 << 30, ge=1)  # a model declaring more is refused
    request_deadline_s: float = Field(default=10.0, gt=0)  # per request to a node, in total
