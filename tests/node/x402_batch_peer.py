"""Runs in .venv-x402: the official x402 SDK's batch-settlement client, unmodified, pays
a cairn node for a session of calls.

argv: URL PRIVATE_KEY JSON_BODY NETWORK ASSET MAX CALLS [RPC_URL] [refund[=AMOUNT]]

The SDK pays only in tokens it knows unless told otherwise, so the user allows
CairnUSD on that network up to MAX atomic units a call (its ``spend_controls``;
the client deposits up to five times that). With RPC_URL (the node's
``/v1/chain/rpc``; ``-`` for none) the client reads the channel onchain, as the SDK
does to recover a channel it has no record of. It makes CALLS calls one after the
other on one channel (deposit first, vouchers after), then, if asked, a
cooperative refund through the SDK's own ``refund``; the SDK probes the URL with a
request, so its ``fetch`` option POSTs the same body. Prints one JSON line per
call (status, body, and PAYMENT-RESPONSE decoded by the SDK) and, after a refund,
one ``{"refund": SettleResponse}`` line.
"""

import asyncio
import json
import sys

import httpx
from eth_account import Account
from x402 import x402Client
from x402.http.clients.httpx import x402HttpxClient
from x402.http.utils import decode_payment_response_header
from x402.mechanisms.evm.batch_settlement.client import BatchSettlementEvmScheme, RefundOptions
from x402.mechanisms.evm.signers import EthAccountSigner, EthAccountSignerWithRPC


class Answer:
    """What the SDK's refund ``fetch`` returns: a status and case-insensitive headers."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self._headers = response.headers

    def header(self, name: str) -> str | None:
        return self._headers.get(name)


async def main() -> None:
    url, key, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    network, asset, cap, calls = sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
    rpc = sys.argv[8] if len(sys.argv) > 8 and sys.argv[8] != "-" else None
    refund = sys.argv[9] if len(sys.argv) > 9 else None
    account = Account.from_key(key)
    signer = EthAccountSignerWithRPC(account, rpc) if rpc else EthAccountSigner(account)
    scheme = BatchSettlementEvmScheme(signer)
    allowed = [{"network": network, "asset": asset, "max_amount_per_payment": cap}]
    client = x402Client().set_spend_controls({"allowed_assets": allowed})
    client.register(network, scheme)
    async with x402HttpxClient(client, timeout=120) as http:
        for _ in range(calls):
            response = await http.post(url, json=body)
            header = response.headers.get("PAYMENT-RESPONSE")
            settled = decode_payment_response_header(header) if header else None
            out = {
                "status": response.status_code,
                "body": response.json(),
                "settled": settled.model_dump(by_alias=True) if settled else None,
            }
            print(json.dumps(out), flush=True)
    if refund is not None:
        amount = refund.partition("=")[2] or None

        def fetch(target: str, headers: dict[str, str]) -> Answer:
            return Answer(httpx.post(target, json=body, headers=headers, timeout=120))

        done = scheme.refund(url, RefundOptions(amount=amount, fetch=fetch))
        print(json.dumps({"refund": done.model_dump(by_alias=True)}), flush=True)


asyncio.run(main())
