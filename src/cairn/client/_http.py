"""HTTP that cannot hang or flood the caller: an overall deadline and a byte cap per request.

httpx's timeouts are per socket operation, so a server that drips one byte every
two seconds — in its headers or its body — keeps a request alive forever, and
``response.content`` reads whatever size a server sends. Here every socket read,
write and connect of a request is bounded by what is left of the request's
*total* deadline (a network backend under httpx, so the header phase is bounded
too), the body is streamed and cut at ``max_bytes``, and redirects are never
followed. Whoever calls a node it does not trust (a validator, a client) uses
:class:`Bounds`.

>>> Bounds(deadline_s=10.0, max_bytes=1 << 20).max_bytes
1048576
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from cairn.errors import ClientError

__all__ = ["Bounds", "bounded_client", "request"]

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "cairn_http_deadline", default=None
)


@dataclass(frozen=True)
class Bounds:
    """The most one request may take: seconds in total, and bytes of body."""

    deadline_s: float = 120.0
    max_bytes: int = 64 << 20


def _remaining(timeout: float | None) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's overall deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A socket stream whose every operation ends by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.SyncBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        inner = super().connect_tcp(host, port, _remaining(timeout), local_address, socket_options)
        return _Stream(inner)


class _Transport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        # httpx builds its pool without a backend hook; the pool is rebuilt with ours.
        self._pool = httpcore.ConnectionPool(network_backend=_Backend(), max_connections=10)


def bounded_client(timeout: float = 30.0) -> httpx.Client:
    """An httpx client whose requests honour :func:`request`'s deadline; no redirects."""
    return httpx.Client(timeout=timeout, transport=_Transport(), follow_redirects=False)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def request(
    client: httpx.Client,
    method: str,
    url: str,
    bounds: Bounds,
    *,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, httpx.Headers, bytes]:
    """Status, headers and body of one request, within ``bounds``; else :class:`ClientError`."""
    started = time.monotonic()
    try:
        with (
            _deadline(bounds.deadline_s),
            client.stream(method, url, json=json, headers=headers) as resp,
        ):
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > bounds.max_bytes:
                raise ClientError(f"{url}: body of {declared} bytes is over the {_cap(bounds)} cap")
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > bounds.max_bytes:
                    raise ClientError(f"{url}: body is over the {_cap(bounds)} cap")
            return resp.status_code, resp.headers, bytes(body)
    except (httpx.HTTPError, httpcore.TimeoutException) as exc:
        if time.monotonic() - started >= bounds.deadline_s:
            raise ClientError(f"{url}: no complete answer within {bounds.deadline_s:g} s") from None
        raise ClientError(f"{url} unreachable: {exc}") from None


def _cap(bounds: Bounds) -> str:
    return f"{bounds.max_bytes:,}-byte"
