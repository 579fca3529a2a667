"""A live gateway: ``GET {URL}/v1/network`` over HTTP(S), with httpx.

httpx's exceptions are translated here, at the boundary, into
:class:`~cairn.errors.AuditError`, so the CLI prints one line.
"""

from __future__ import annotations

from typing import Any

import httpx

from cairn.audit.base import NetworkSource
from cairn.errors import AuditError

__all__ = ["NETWORK_PATH", "HttpSource"]

NETWORK_PATH = "/v1/network"


class HttpSource(NetworkSource):
    """Fetches the document from a running gateway."""

    def __init__(
        self, url: str, timeout_s: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url.rstrip("/") + NETWORK_PATH
        self._timeout = timeout_s
        self._transport = transport

    def fetch(self) -> Any:
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
                response = client.get(self.url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise AuditError(f"{self.url}: cannot reach the gateway: {exc}") from None
        if response.status_code != 200:
            raise AuditError(f"{self.url}: gateway answered HTTP {response.status_code}")
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:
            raise AuditError(f"{self.url}: gateway did not return JSON: {exc}") from None
