"""Any EVM chain over JSON-RPC (EIP-1474): Anvil in tests, an L2 in production."""

from __future__ import annotations

from typing import Any

from web3 import HTTPProvider

from cairn.chain.base import Backend

__all__ = ["RpcBackend"]

# Anvil's documented default accounts (mnemonic "test test ... junk", BIP-44 m/44'/60'/0'/0/i).
_ANVIL_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]


class RpcBackend(Backend):
    """A JSON-RPC endpoint; dev hooks work on Anvil (``evm_increaseTime``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self._provider = HTTPProvider(url, request_kwargs={"timeout": timeout})
        self._client: str | None = None

    def provider(self) -> Any:
        return self._provider

    def _client_version(self) -> str:
        if self._client is None:
            reply = self._provider.make_request("web3_clientVersion", [])
            self._client = str(reply.get("result", ""))
        return self._client

    def dev_keys(self) -> list[str]:
        return list(_ANVIL_KEYS) if self._client_version().lower().startswith("anvil") else []

    def increase_time(self, seconds: int) -> None:
        reply = self._provider.make_request("evm_increaseTime", [seconds])
        if "error" in reply:
            from cairn.errors import ChainError

            raise ChainError(f"{self.url} cannot move time (not a development chain)")
        self._provider.make_request("evm_mine", [])
