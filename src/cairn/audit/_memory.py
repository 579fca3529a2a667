"""An in-memory network source: a document held in a variable, for tests and examples."""

from __future__ import annotations

from typing import Any

from cairn.audit.base import NetworkSource

__all__ = ["MemorySource"]


class MemorySource(NetworkSource):
    """Returns the document it was given."""

    def __init__(self, document: Any, url: str = "memory://") -> None:
        self.url = url
        self._document = document

    def fetch(self) -> Any:
        return self._document
