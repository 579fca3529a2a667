"""What every request body passes before anything parses it, and how errors are written.

The gateway's process imports py-evm and py_ecc, which raise Python's recursion
limit to 100 000; a few hundred kilobytes of ``[[[[…`` would then recurse in the
JSON parser and the validators until the C stack overflows and the process dies
(a segfault no ``try`` can catch). So :class:`Guard` reads the whole body first
(at most ``limit`` bytes: 413 beyond) and refuses, with a one-line 400, a body
that is not UTF-8 (RFC 8259 §8.1), whose arrays and objects nest deeper than
:data:`MAX_JSON_DEPTH`, or whose strings hold a lone surrogate escape such as
``"\\ud800"`` (RFC 8259 §8.2: such a string is not Unicode text; it cannot be
hashed as UTF-8, tokenized or written back). Only then does the app see it.

:class:`SafeJSONResponse` writes an error even when it echoes what the client
sent — NaN, Infinity, odd strings — instead of failing into a 500.

Pure ASGI: Starlette's ``@app.middleware("http")`` costs about a millisecond a
request, more than a receipt does; this costs microseconds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi.responses import JSONResponse

__all__ = ["MAX_JSON_DEPTH", "Guard", "SafeJSONResponse", "body_problem"]

MAX_JSON_DEPTH = 32  # a tensor request nests 4 deep; an RPC call a few more

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# a \uXXXX escape (preceded by an even number of backslashes, so it is one) of a high
# surrogate not followed by a low one, or of a low surrogate not preceded by a high one
_LONE_SURROGATE = re.compile(
    rb"(?<!\\)(?:\\\\)*(?:\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})"
    rb"|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2})",
    re.IGNORECASE,
)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets in strings ignored).

    >>> json_depth(b'{"a": [[1], "]]]"]}')
    3
    """
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return min(MAX_JSON_DEPTH, body.count(b"[") + body.count(b"{"))
    codes = np.frombuffer(_STRING.sub(b'""', body), np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int32) - np.isin(codes, _CLOSE).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def body_problem(body: bytes) -> str | None:
    """Why a request body is refused before parsing, or None."""
    try:
        body.decode("utf-8")  # strict: also refuses encoded surrogates (json.loads would not)
    except UnicodeDecodeError as exc:
        return f"body is not UTF-8 (byte {exc.start})"
    if json_depth(body) > MAX_JSON_DEPTH:
        return f"JSON nests deeper than {MAX_JSON_DEPTH} levels"
    if b"\\u" in body:
        lone = _LONE_SURROGATE.search(body)
        if lone is not None:
            escape = lone.group().lstrip(b"\\").decode()
            return (
                f"a string holds the lone surrogate \\{escape}: "
                "texts must be Unicode scalar values (RFC 8259 section 8.2)"
            )
    return None


def _printable(value: Any) -> Any:
    """A JSON-safe copy: non-finite floats as strings, lone surrogates escaped."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


class SafeJSONResponse(JSONResponse):
    """A JSON response that can be written whatever it holds."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except (ValueError, UnicodeEncodeError):
            return json.dumps(_printable(content), separators=(",", ":")).encode()


def error_response(status: int, body: Any) -> bytes:
    return bytes(SafeJSONResponse(body, status).body)


class Guard:
    """Refuse bodies over the limit (413) or unsafe to parse (400); count responses."""

    def __init__(
        self,
        app: Any,
        limit: int,
        count: Callable[[str, int], None],
        error_body: Callable[[str, int, str], Any],
    ) -> None:
        self.app, self.limit, self.count, self.error_body = app, limit, count, error_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [0]

        async def tracked_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refused = await self._serve(scope, receive, tracked_send)
        finally:
            self._count(scope["path"], status[0])
        if refused is not None:
            await self._refuse(scope, send, *refused)
            self._count(scope["path"], refused[0])

    def _count(self, path: str, status: int) -> None:
        if status:
            self.count(path.split("/")[2] if path.count("/") > 1 else path, status)

    async def _serve(self, scope: Any, receive: Any, send: Any) -> tuple[int, str] | None:
        size = dict(scope["headers"]).get(b"content-length")
        if size is not None and (not size.isdigit() or int(size) > self.limit):
            return 413, f"body over {self.limit} bytes"
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return 413, f"body over {self.limit} bytes"
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = body_problem(body) if body else None
        if problem is not None:
            return 400, problem
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()  # waits for the disconnect, as the server would
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
        return None

    async def _refuse(self, scope: Any, send: Any, status: int, detail: str) -> None:
        body = error_response(status, self.error_body(scope["path"], status, detail))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
