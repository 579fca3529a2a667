"""The embedded chain (eth-tester + py-evm) as its own process, over JSON-RPC on a port.

Test infrastructure: lets node and validator processes share one embedded chain the
way they share Anvil. Prints ``READY <url>`` when listening.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from web3 import Web3

from cairn.chain._embedded import EmbeddedBackend
from cairn.chain.jsonrpc import to_rpc_json


def main() -> None:
    backend = EmbeddedBackend(None)
    provider = backend.provider()
    w3 = Web3(provider)
    request = provider.request_func(w3, w3.middleware_onion)  # takes JSON-RPC (hex) params

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            method, params = call["method"], call.get("params", [])
            if method == "web3_clientVersion":
                reply: dict[str, Any] = {"result": "cairn-embedded-test"}
            elif method == "evm_increaseTime":
                backend.increase_time(
                    int(params[0], 16) if isinstance(params[0], str) else int(params[0])
                )
                reply = {"result": True}
            elif method == "evm_mine":
                backend._tester.mine_blocks(1)
                reply = {"result": "0x0"}
            else:
                try:
                    reply = request(method, params)
                except Exception as exc:
                    reply = {"error": {"code": -32000, "message": str(exc)}}
            body = {"jsonrpc": "2.0", "id": call.get("id")}
            if "error" in reply:
                body["error"] = reply["error"]
            else:
                body["result"] = to_rpc_json(reply["result"])
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("KEYS " + json.dumps(backend.dev_keys()[:3]), flush=True)
    print(f"READY http://127.0.0.1:{sys.argv[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
