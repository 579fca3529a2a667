"""Service settings, from the environment with the ``CAIRN_`` prefix (pydantic-settings).

Only services read the environment; library calls take explicit values.

>>> NodeSettings(port=9000).port
9000
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["NodeSettings"]


class NodeSettings(BaseSettings):
    """How a cairn node runs. Every field can be set as ``CAIRN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CAIRN_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".cairn")
    chain: str = "embedded://"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    wallet: str = "node"
    deployer_key: str | None = None
    batch_size: int = Field(default=100, ge=1, le=100_000)
    batch_seconds: float = Field(default=5.0, gt=0)
    audit_window_s: int = Field(default=7 * 24 * 3600, ge=0)
    price_wei: int = Field(default=0, ge=0)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_texts: int = Field(default=64, ge=1)
    threads: int = Field(default=1, ge=1)
    update_delay_s: int = Field(default=0, ge=0)
    stake_wei: int | None = None
    # deploy the Disputes contract and make it Staking's slasher (issue 5's seam)
    disputes: bool = True
