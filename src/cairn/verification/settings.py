"""Validator service settings, from the environment with the ``CAIRN_VALIDATOR_`` prefix.

>>> ValidatorSettings(interval_s=0.5).interval_s
0.5
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ValidatorSettings"]


class ValidatorSettings(BaseSettings):
    """How ``cairn validator run`` runs. Every field can be set as ``CAIRN_VALIDATOR_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CAIRN_VALIDATOR_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".cairn")
    chain: str = "embedded://"
    wallet: str = "validator"
    key: str | None = None  # a raw private key instead of a wallet (dev chains, tests)
    interval_s: float = Field(default=2.0, gt=0)
    patience: int = Field(default=2, ge=1)
    stake_wei: int | None = None
    threads: int = Field(default=1, ge=1)
