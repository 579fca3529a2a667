"""What does paying cost? x402 on a cairn node against the same node serving for free.

One node (digits-logreg) on Anvil, in this process (bootstrap + uvicorn), its CairnUSD
payer funded from the deployer. Baseline and paid rounds are interleaved in the same
run, so both share the noise of a shared machine:

- ``exact_added_ms``: the round trip one ``exact`` payment adds (the client signs an
  EIP-3009 authorization; the node checks it, reads the token, and mines the transfer
  before answering), median paid call minus median free call, one at a time.
- ``voucher_verify_us``: checking one batch-settlement voucher on the request path
  (signature recovery and the channel's bounds; no chain call), median of many.
- ``paid_throughput_ratio_c8``: calls per second paid with batch-settlement vouchers
  over free calls, 8 clients at once (target >= 0.9).
- ``settle_gas_per_request``: the gas of claiming and settling 1 000 paid calls in one
  claim, over 1 000 (target <= 100).

    python bench/payments.py [--quick]

Writes bench/results/payments.json (``--quick``: fewer rounds, the same keys).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

from cairn.chain.devnet import Anvil
from cairn.identity import LocalSigner
from cairn.node import NodeContext, NodeSettings, bootstrap, create_app
from cairn.node.server import free_port
from cairn.payments.payer import Payer
from cairn.payments.x402 import PAYMENT_REQUIRED, Offer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "payments.json"
MODEL = "digits-logreg"
PRICE = 1000
REQUEST = {
    "inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": np.arange(64.0).tolist()}}
}


@contextmanager
def _node(chain_url: str, root: Path, **extra: Any) -> Iterator[tuple[NodeContext, str]]:
    port = free_port()
    settings = NodeSettings(
        data_dir=root,
        port=port,
        chain=chain_url,
        models=(MODEL,),
        prices={MODEL: PRICE},
        batch_size=1000,
        batch_seconds=3600.0,
        **extra,
    )
    ctx = bootstrap(settings, "bench-passphrase")
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield ctx, url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        ctx.close()


def _free(ctx: NodeContext, free: bool) -> None:
    """Serve the model free (the baseline) or at :data:`PRICE`, in the same process."""
    ctx.models[MODEL].price = 0 if free else PRICE


def _timed(call: Callable[[], httpx.Response]) -> float:
    t = time.perf_counter()
    resp = call()
    dt = time.perf_counter() - t
    if resp.status_code != 200:
        raise SystemExit(f"{resp.status_code}: {resp.text[:300]}")
    return dt


def exact_added(ctx: NodeContext, url: str, payer: LocalSigner, rounds: int) -> dict[str, float]:
    """Median free call and median ``exact`` call, interleaved, one at a time."""
    token = ctx.chain.token
    who = Payer(
        payer, PRICE * rounds * 2, network=f"eip155:{ctx.chain.chain_id}", asset=token.address
    )
    free, paid = [], []
    with httpx.Client(timeout=60) as http:
        target = f"{url}/v1/infer/{MODEL}"

        def pay_once() -> httpx.Response:
            first = http.post(target, json=REQUEST)
            offer = Offer.from_header(first.headers[PAYMENT_REQUIRED])
            name, value = who.pay(offer)
            return http.post(target, json=REQUEST, headers={name: value})

        for _ in range(3):  # warm both paths
            _free(ctx, True)
            _timed(lambda: http.post(target, json=REQUEST))
        for _ in range(rounds):
            _free(ctx, True)
            free.append(_timed(lambda: http.post(target, json=REQUEST)))
            _free(ctx, False)
            # the client's own 402 round trip is part of what paying adds
            paid.append(_timed(pay_once))
    f, p = statistics.median(free), statistics.median(paid)
    return {"free_ms": 1e3 * f, "exact_ms": 1e3 * p, "exact_added_ms": 1e3 * (p - f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, same keys")
    args = parser.parse_args()
    rounds = 10 if args.quick else 40
    results: dict[str, Any] = {"quick": args.quick, "price": PRICE}
    with (
        Anvil(ROOT / "node_modules" / ".bin" / "anvil") as rpc,
        tempfile.TemporaryDirectory() as tmp,
        _node(rpc, Path(tmp) / "node") as (ctx, url),
    ):
        deployer = ctx.chain.dev_keys()[0]
        payer = LocalSigner.generate()
        with ctx.chain_lock:
            ctx.chain.token.mint(deployer, payer.address, 10**12)
        results.update(exact_added(ctx, url, payer, rounds))
        results.update(batch_metrics(ctx, url, deployer, quick=args.quick))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    for key in sorted(results):
        print(f"{key:28} {results[key]}")


def batch_metrics(
    ctx: NodeContext, url: str, deployer: LocalSigner, *, quick: bool
) -> dict[str, Any]:
    """The batch-settlement figures (filled in once the node speaks batch-settlement)."""
    del ctx, url, deployer, quick
    return {}


if __name__ == "__main__":
    main()
