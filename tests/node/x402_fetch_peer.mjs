// The official x402 fetch client (@x402/fetch with @x402/evm and viem), unmodified,
// pays one cairn call. argv: URL PRIVATE_KEY JSON_BODY NETWORK ASSET MAX. The client pays
// only in tokens it knows unless told otherwise, so the user allows CairnUSD on that
// network up to MAX atomic units (its own spendControls setting). Prints one JSON line.
import { wrapFetchWithPaymentFromConfig, decodePaymentResponseHeader } from "@x402/fetch";
import { ExactEvmScheme } from "@x402/evm";
import { privateKeyToAccount } from "viem/accounts";

const [url, key, body, network, asset, cap] = process.argv.slice(2);
const account = privateKeyToAccount(key);
const pay = wrapFetchWithPaymentFromConfig(fetch, {
  schemes: [{ network: "eip155:*", client: new ExactEvmScheme(account) }],
  spendControls: { allowedAssets: [{ network, asset, maxAmountPerPayment: cap }] },
});
const response = await pay(url, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body,
});
const header = response.headers.get("PAYMENT-RESPONSE");
console.log(
  JSON.stringify({
    status: response.status,
    body: await response.json(),
    settled: header ? decodePaymentResponseHeader(header) : null,
  }),
);
