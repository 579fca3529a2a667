"""Choosing the :class:`~cairn.audit.base.NetworkSource` backend from a URL, in one place.

``file://PATH`` is a saved ``/v1/network`` document; ``http(s)://HOST[:PORT]`` a live gateway.
"""

from __future__ import annotations

from cairn.audit.base import NetworkSource
from cairn.errors import AuditError

__all__ = ["open_source"]


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
