"""A saved ``/v1/network`` document on disk (``file:///path/network.json``).

For auditing a network offline, and for tests: the same document a gateway
serves, kept as a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cairn.audit.base import NetworkSource
from cairn.errors import AuditError

__all__ = ["FileSource"]


class FileSource(NetworkSource):
    """Reads the document from ``file://PATH``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = Path(unquote(urlsplit(url).path))

    def fetch(self) -> Any:
        try:
            return json.loads(self.path.read_bytes())
        except OSError as exc:
            raise AuditError(f"{self.url}: cannot read: {exc.strerror}") from None
        except (ValueError, RecursionError) as exc:
            raise AuditError(f"{self.url}: not JSON: {exc}") from None
