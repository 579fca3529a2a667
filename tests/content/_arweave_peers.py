"""The Arweave test peers' helpers: mining on arlocal, and a proxy that counts and lies."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def mine(url: str) -> None:
    httpx.get(f"{url}/mine", timeout=30).raise_for_status()


Tamper = Callable[[str, str, bytes], bytes]  # (method, path, upstream body) -> body sent


class Proxy:
    """An HTTP gateway in front of arlocal that counts requests and may rewrite answers.

    ``tamper(method, path, body)`` sees every upstream answer and returns what the
    client gets; ``rewrite_query`` maps a tag value asked for in GraphQL to another.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.tamper: Tamper = lambda _m, _p, body: body
        self.rewrite_query: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"arweave://127.0.0.1:{self.server.server_address[1]}"

    def _forward(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        if body and path == "/graphql":
            text = body.decode()
            for old, new in self.rewrite_query.items():
                text = text.replace(old, new)
            body = text.encode()
        headers = {"content-type": "application/json"} if body else {}
        resp = httpx.request(
            method, self.upstream + path, content=body, headers=headers, timeout=60
        )
        return resp.status_code, self.tamper(method, path, resp.content)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                proxy.requests[f"{method} {self.path}"] += 1
                size = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(size) if size else None
                status, out = proxy._forward(method, self.path, body)
                self.send_response(status)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def count(self, prefix: str) -> int:
        return sum(n for key, n in self.requests.items() if key.startswith(prefix))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def graphql_nodes(body: bytes) -> list[dict[str, object]]:
    return [e["node"] for e in json.loads(body)["data"]["transactions"]["edges"]]
