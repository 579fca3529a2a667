"""The port between the chain client and a chain: a web3 provider plus dev hooks.

Every contract call goes through one web3.py code path (the web3.py design: one
client, many providers). A backend only says how to reach the chain and, for
development chains, how to move time and where prefunded keys live. Backends
translate their third-party exceptions into JSON-RPC error responses, so the
client sees every chain fail the same way (EIP-1474 error codes).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["EMBEDDED", "Backend"]

EMBEDDED = "embedded://"  # the in-process py-evm chain; the default everywhere


class Backend(ABC):
    """How to reach one chain. Subclasses: embedded (py-evm) and JSON-RPC."""

    url: str

    @abstractmethod
    def provider(self) -> Any:
        """The web3 provider (a ``web3.providers.BaseProvider``)."""

    @abstractmethod
    def dev_keys(self) -> list[str]:
        """Private keys prefunded by a development chain; empty on a real chain."""

    @abstractmethod
    def increase_time(self, seconds: int) -> None:
        """Move a development chain's clock forward and mine a block."""

    def committed(self) -> None:  # noqa: B027 - a hook, empty by default
        """Called after every successful transaction (the embedded backend persists)."""

    def close(self) -> None:  # noqa: B027 - a hook, empty by default
        """Release what the backend holds."""
