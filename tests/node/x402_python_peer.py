"""Runs in .venv-x402: the official x402 Python SDK, unmodified, pays one cairn call.

argv: URL PRIVATE_KEY JSON_BODY NETWORK ASSET MAX. The SDK pays only in tokens it knows
unless told otherwise, so the user allows CairnUSD on that network up to MAX atomic units
(its ``spend_controls``, the SDK's own setting). Prints one JSON line: the HTTP status, the answer's
body, and its PAYMENT-RESPONSE header decoded by the SDK itself.
"""

import asyncio
import json
import sys

from eth_account import Account
from x402 import x402Client
from x402.http.clients.httpx import x402HttpxClient
from x402.http.utils import decode_payment_response_header
from x402.mechanisms.evm.exact.register import register_exact_evm_client


async def main() -> None:
    url, key, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    network, asset, cap = sys.argv[4], sys.argv[5], sys.argv[6]
    allowed = [{"network": network, "asset": asset, "max_amount_per_payment": cap}]
    client = x402Client().set_spend_controls({"allowed_assets": allowed})
    register_exact_evm_client(client, Account.from_key(key))
    async with x402HttpxClient(client, timeout=120) as http:
        response = await http.post(url, json=body)
    header = response.headers.get("PAYMENT-RESPONSE")
    settled = decode_payment_response_header(header).model_dump(by_alias=True) if header else None
    print(json.dumps({"status": response.status_code, "body": response.json(), "settled": settled}))


asyncio.run(main())
