"""The port to a running cairn network: fetch its ``/v1/network`` document.

One method, like httpx's transport: :meth:`NetworkSource.fetch` returns the
raw JSON document. Parsing and validation live once, in :func:`read_network`,
so every backend is checked the same way. The backend is chosen in one place,
:func:`cairn.audit.sources.open_source`, from the URL: ``file://`` (a saved document) or
``http(s)://`` (a live gateway). L2BEAT reads a rollup's configuration from its
contracts, not its marketing; this is cairn's equivalent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import ValidationError

from cairn.audit.network import NetworkDocument
from cairn.errors import AuditError

__all__ = ["NetworkSource", "read_network"]


class NetworkSource(ABC):
    """Where a network document comes from."""

    url: str

    @abstractmethod
    def fetch(self) -> Any:
        """Return the decoded JSON of the network document; raise :class:`AuditError`."""


def read_network(source: NetworkSource) -> NetworkDocument:
    """Fetch and validate the document; a bad one is an :class:`AuditError` naming the field."""
    raw = source.fetch()
    try:
        return NetworkDocument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise AuditError(
            f"{source.url}: not a cairn /v1/network document: {where}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
        ) from None
