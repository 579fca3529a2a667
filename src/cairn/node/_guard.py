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
sent — NaN, Infinity, odd strings — instead of failing into a 500, and
:func:`validation_problem` turns pydantic's list of validation errors into the one
line a 4xx carries, naming the field (``inputs.pixels.shape: expected ...``).

Pure ASGI: Starlette's ``@app.middleware("http")`` costs about a millisecond a
request, more than a receipt does; this costs microseconds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from fastapi.responses import JSONResponse

from cairn.errors import did_you_mean

__all__ = [
    "MAX_JSON_DEPTH",
    "FieldPath",
    "Guard",
    "SafeJSONResponse",
    "body_problem",
    "validation_problem",
]

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


#: where a request body field is: names and list indexes, "body" itself the empty path
FieldPath = tuple[str | int, ...]
# a union's branch tag in a pydantic location ("list[str]", "str"): not a field of the body
_BRANCH = re.compile(r"\[|^(?:str|int|float|bool|bytes|none|list|dict|any)$")
_KEYS = ("missing", "extra_forbidden")


def _field_path(loc: Sequence[Any]) -> FieldPath:
    """A pydantic error location as a path in the body (``"body"`` and branch tags dropped)."""
    parts = list(loc[1:]) if list(loc[:1]) == ["body"] else list(loc)
    path: list[str | int] = []
    for part in parts:
        if isinstance(part, str) and _BRANCH.search(part):
            break
        path.append(part if isinstance(part, int) else str(part))
    return tuple(path)


def _dotted(path: FieldPath) -> str:
    """``("inputs", "pixels", "shape", 1)`` as ``inputs.pixels.shape[1]``; ``()`` as ``body``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "body"


def _got(value: Any) -> str:
    """A value the client sent, as a JSON reader would name it."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return f"{value!r:.40}"


def validation_problem(
    errors: Sequence[Mapping[str, Any]],
    expect: Callable[[FieldPath], str | None] = lambda path: None,
) -> tuple[str, str | None]:
    """Request validation errors as one line naming the field at fault, and the top-level
    body field it is in (OpenAI's ``error.param``). ``expect`` says what belongs at a path.

    >>> validation_problem([{"type": "list_type", "loc": ("body", "shape"), "input": "1x64",
    ...                      "msg": "Input should be a valid list"}], lambda p: "a list")
    ("shape: expected a list, got '1x64'", 'shape')
    """
    if not errors:
        return "invalid request", None
    first = errors[0]
    path = _field_path(first.get("loc", ()))
    param = str(path[0]) if path and list(first.get("loc", ()))[:1] == ["body"] else None
    kind = first.get("type")
    if kind == "json_invalid":
        return f"body is not JSON: {first.get('ctx', {}).get('error', 'cannot parse')}", None
    if kind in _KEYS and path:
        return _keys_problem(errors, path[:-1], expect), param
    hint = expect(path)
    what = f"expected {hint}" if hint else str(first.get("msg", "invalid")).lower()
    return f"{_dotted(path)}: {what}, got {_got(first.get('input'))}", param


def _keys_problem(
    errors: Sequence[Mapping[str, Any]],
    parent: FieldPath,
    expect: Callable[[FieldPath], str | None],
) -> str:
    """Missing and unknown keys of one object, together: a wrong guess at a key is both."""
    keys: dict[str, list[str]] = {kind: [] for kind in _KEYS}
    for error in errors:
        path = _field_path(error.get("loc", ()))
        if error.get("type") in _KEYS and path[:-1] == parent and path:
            keys[str(error["type"])].append(str(path[-1]))
    missing, unknown = keys["missing"], keys["extra_forbidden"]
    said = [f"missing {', '.join(map(repr, missing))}"] if missing else []
    said += [f"unknown key {name!r}{did_you_mean(name, missing)}" for name in unknown]
    hint = expect(parent)
    return f"{_dotted(parent)}: {'; '.join(said)}" + (f"; expected {hint}" if hint else "")


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
