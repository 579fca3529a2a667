"""ModelRegistry: who owns a model name, and which version is current.

A model's owner publishes versions (content CID, manifest CID); with an update
delay a version is announced at once and becomes current only later, so users
see updates coming. Deprecating a version waits the same delay. Reads never
need a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.identity import Signer

__all__ = ["ModelInfo", "ModelRegistry", "ModelVersion"]

_ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class ModelInfo:
    name: str
    owner: str
    update_delay: int
    version_count: int


@dataclass(frozen=True)
class ModelVersion:
    index: int
    content_cid: str
    manifest_cid: str
    published_at: int
    effective_at: int
    deprecated_at: int  # 0 = never; else out of use from this time on

    @property
    def deprecated(self) -> bool:
        """A deprecation is announced (it may not be in effect yet)."""
        return self.deprecated_at != 0


def _version(index: int, raw: Any) -> ModelVersion:
    content, manifest, published, effective, deprecated_at = raw
    return ModelVersion(
        index, content, manifest, int(published), int(effective), int(deprecated_at)
    )


class ModelRegistry(ContractWrapper):
    """Typed calls of the ModelRegistry contract."""

    name = "ModelRegistry"

    def register(self, signer: Signer, model: str, update_delay: int = 0) -> Tx[None]:
        """Claim ``model`` for the signer; later versions wait ``update_delay`` seconds."""
        return tx_of(self._send(signer, "register", model, update_delay), None)

    def publish(
        self, signer: Signer, model: str, content_cid: str, manifest_cid: str = ""
    ) -> Tx[int]:
        """Announce a version; ``value`` is its index."""
        receipt = self._send(signer, "publish", model, content_cid, manifest_cid)
        return tx_of(receipt, int(self._event(receipt, "VersionPublished")["version"]))

    def deprecate(self, signer: Signer, model: str, version: int) -> Tx[int]:
        """Announce a deprecation; ``value`` is when it takes effect (after the update delay)."""
        receipt = self._send(signer, "deprecate", model, version)
        return tx_of(receipt, int(self._event(receipt, "VersionDeprecated")["effectiveAt"]))

    def transfer(self, signer: Signer, model: str, new_owner: str) -> Tx[None]:
        return tx_of(self._send(signer, "transferOwnership", model, new_owner), None)

    def raise_update_delay(self, signer: Signer, model: str, seconds: int) -> Tx[None]:
        return tx_of(self._send(signer, "raiseUpdateDelay", model, seconds), None)

    def model(self, model: str) -> ModelInfo | None:
        """The model's owner and settings, or None if the name is free."""
        owner, delay, count, name = self._call("models", self._call("modelId", model))
        if owner == _ZERO:
            return None
        return ModelInfo(name, owner, int(delay), int(count))

    def version(self, model: str, index: int) -> ModelVersion:
        return _version(index, self._call("version", model, index))

    def current(self, model: str) -> ModelVersion:
        """The newest version in effect and not deprecated (ContractRevert if none)."""
        index, raw = self._call("current", model)
        return _version(int(index), raw)

    def history(self, model: str) -> list[ModelVersion]:
        """Every version ever published, oldest first."""
        info = self.model(model)
        count = 0 if info is None else info.version_count
        return [self.version(model, i) for i in range(count)]
