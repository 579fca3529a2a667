"""The port to a running cairn network: fetch its ``/v1/network`` document.

One method, like httpx's transport: :meth:`NetworkSource.fetch` returns the
raw JSON document. Parsing and validation live once, in :func:`read_network`,
so every backend is checked the same way. The backend is chosen in one place,
:func:`open_source`, from the URL: ``file://`` (a saved document) or
``http(s)://`` (a live gateway). L2BEAT reads a rollup's configuration from its
contracts, not its marketing; this is cairn's equivalent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import ValidationError

from cairn.audit.network import NetworkDocument
from cairn.errors import AuditError

__all__ = ["NetworkSource", "open_source", "read_network"]


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


def open_source(url: str, timeout_s: float = 10.0) -> NetworkSource:
    """The backend for ``url``: ``file://PATH`` or ``http(s)://HOST[:PORT]``."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "file":
        from cairn.audit._file import FileSource

        return FileSource(url)
    if scheme in ("http", "https"):
        from cairn.audit._http import HttpSource

        return HttpSource(url, timeout_s=timeout_s)
    raise AuditError(f"cannot read a network from {url!r}: use http(s)://HOST or file://PATH")
