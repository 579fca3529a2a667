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
- ``settle_gas_per_request``: the gas of claiming and settling a session of 1 000 paid
  calls in one transaction (``claim`` and ``settle`` in one ``multicall``), over 1 000
  (target <= 100), once the node has claimed before (``..._first``: its very first claim,
  which also initialises its receiver's totals onchain).

    python bench/payments.py [--quick]

Writes bench/results/payments.json (``--quick``: fewer rounds, the same keys).
"""

from __future__ import annotations

import argparse
import json
import os
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
from cairn.client import GatewayClient
from cairn.identity import LocalSigner, Signer
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
    parser.add_argument("--load", help=argparse.SUPPRESS)  # the load process (internal)
    parser.add_argument("--seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    parser.add_argument("--network", help=argparse.SUPPRESS)
    parser.add_argument("--asset", help=argparse.SUPPRESS)
    parser.add_argument("--payee", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        _load_main(args)
        return
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


def _payer(ctx: NodeContext, deployer: Signer, calls: int) -> Payer:
    """A funded client that pays batch-settlement from its first call (a channel for
    ``calls`` calls, deposited once)."""
    me = LocalSigner.generate()
    with ctx.chain_lock:
        ctx.chain.token.mint(deployer, me.address, 10 * calls * PRICE)
    p = Payer(
        me,
        2 * calls * PRICE,
        network=f"eip155:{ctx.chain.chain_id}",
        asset=ctx.chain.token.address,
        deposit_calls=calls,
    )
    p._paid_once.add(_pay_to(ctx).lower())  # repeated calls: skip the one-off exact payment
    return p


def _pay_to(ctx: NodeContext) -> str:
    assert ctx.cashier is not None
    return ctx.cashier.schemes["batch-settlement"].requirement(PRICE).pay_to


def _rps(url: str, clients: list[GatewayClient], seconds: float) -> float:
    done = [0] * len(clients)
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            clients[i].infer(MODEL, REQUEST["inputs"])
            done[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    del url
    return sum(done) / (time.monotonic() - began)


def _load(
    url: str, seconds: float, keys: list[bytes], network: str, asset: str, payee: str
) -> float:
    """Calls per second from 8 clients in another process (paying if ``keys``)."""
    import subprocess
    import sys

    cmd = [sys.executable, __file__, "--load", url, "--seconds", str(seconds)]
    cmd += ["--network", network, "--asset", asset, "--payee", payee]
    cmd += ["--keys", ",".join(k.hex() for k in keys)] if keys else []
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"load process failed: {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def _load_main(args: argparse.Namespace) -> None:
    """The load process: 8 clients, each paying from its own key (a channel opened,
    untimed, before the clock starts), or free."""
    keys = [k for k in (args.keys or "").split(",") if k]
    clients = [GatewayClient(args.load, timeout=60) for _ in range(8)]
    if keys:
        clients = []
        for k in keys:
            p = Payer(
                LocalSigner.from_hex(k),
                10**11,
                network=args.network,
                asset=args.asset,
                deposit_calls=100_000,
            )
            p._paid_once.add(args.payee.lower())
            clients.append(GatewayClient(args.load, payer=p, payee=args.payee, timeout=60))
            clients[-1].infer(MODEL, REQUEST["inputs"])  # the deposit
    print(_rps(args.load, clients, args.seconds))


def batch_metrics(ctx: NodeContext, url: str, deployer: Signer, *, quick: bool) -> dict[str, Any]:
    """voucher_verify_us, paid_throughput_ratio_c8 and settle_gas_per_request."""
    from cairn.payments.batch import BatchScheme
    from cairn.payments.x402 import Payment

    assert ctx.cashier is not None
    scheme = ctx.cashier.schemes["batch-settlement"]
    assert isinstance(scheme, BatchScheme)
    out: dict[str, Any] = {}

    # 1. sessions of 1 000 paid calls, each claimed and settled in one transaction: the
    # node's first claim (its receiver totals are initialised) and a later one (steady state)
    _free(ctx, False)
    for label in ("first", "steady"):
        session = _payer(ctx, deployer, 1000)
        with GatewayClient(url, payer=session, payee=_pay_to(ctx), timeout=60) as gw:
            for _ in range(1000):
                gw.infer(MODEL, REQUEST["inputs"])
        report = scheme.claim_and_settle()
        if report.claimed != 1000 * PRICE or len(report.transactions) != 1:
            raise SystemExit(f"claimed {report.claimed} in {len(report.transactions)} txs")
        out[f"settle_gas_1000_requests_{label}"] = report.gas_used
    out["settle_gas_per_request"] = out["settle_gas_1000_requests_steady"] / 1000
    out["settle_gas_per_request_first"] = out["settle_gas_1000_requests_first"] / 1000

    # 2. checking one voucher on the request path: admit (parse, terms, digest, key
    # recovery, reservation) and release, no chain call
    n = 300 if quick else 3000
    verifier = _payer(ctx, deployer, n + 1)
    with GatewayClient(url, payer=verifier, payee=_pay_to(ctx), timeout=60) as gw:
        gw.infer(MODEL, REQUEST["inputs"])  # the deposit: n more calls' worth
    offer = ctx.cashier.offer(PRICE, "/bench")
    req = next(r for r in offer.accepts if r.scheme == "batch-settlement")
    headers = [verifier._voucher(req, "/bench") for _ in range(n)]
    times = []
    for header in headers:
        payment = Payment.from_header(header)
        t = time.perf_counter()
        admitted = scheme.admit(payment, req)
        times.append(time.perf_counter() - t)
        scheme.release(admitted)
    out["voucher_verify_us"] = 1e6 * statistics.median(times)

    # 3. paid (vouchers) against free, 8 clients at once, rounds interleaved; the clients
    # run in a process of their own, as they would on their own machines
    seconds, rounds = (3.0, 2) if quick else (8.0, 3)
    keys = [os.urandom(32) for _ in range(8)]
    with ctx.chain_lock:
        for k in keys:
            ctx.chain.token.mint(deployer, LocalSigner(k).address, 10**12)
    network, asset = f"eip155:{ctx.chain.chain_id}", ctx.chain.token.address
    free_rps, paid_rps = [], []
    for _ in range(rounds):
        _free(ctx, True)
        free_rps.append(_load(url, seconds, [], network, asset, _pay_to(ctx)))
        _free(ctx, False)
        paid_rps.append(_load(url, seconds, keys, network, asset, _pay_to(ctx)))
    out["free_rps_c8"] = statistics.median(free_rps)
    out["paid_rps_c8"] = statistics.median(paid_rps)
    out["paid_throughput_ratio_c8"] = out["paid_rps_c8"] / out["free_rps_c8"]
    return out


if __name__ == "__main__":
    main()
