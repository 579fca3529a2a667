"""What does paying cost? x402 on a cairn node against the same node serving for free.

One node (digits-logreg and MiniLM, both priced) on Anvil, in this process (bootstrap +
uvicorn), its CairnUSD payer funded from the deployer. Baseline and paid rounds are
interleaved in the same run, so both share the noise of a shared machine:

- ``exact_added_ms``: the round trip one ``exact`` payment adds (the client signs an
  EIP-3009 authorization; the node checks it, reads the token, and mines the transfer
  before answering), median paid call minus median free call, one at a time.
- ``voucher_verify_us``: checking one batch-settlement voucher on the request path
  (signature recovery and the channel's bounds; no chain call), median of many.
- ``paid_throughput_ratio_c8``: calls per second paid with batch-settlement vouchers
  over free calls, 8 clients at once, to MiniLM embeddings (target >= 0.9): the
  median over pairs of short adjacent windows, one free and one paid, from one client
  process (``..._pairs``: every pair's ratio; ``free_rps_c8``/``paid_rps_c8``: the
  medians). ``..._tiny``: the same to digits-logreg, whose inference costs almost
  nothing, so that the payment's own cost is as large a share as it gets.
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
EMBEDDER = "all-MiniLM-L6-v2"
PRICE = 1000
REQUEST = {
    "inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": np.arange(64.0).tolist()}}
}
# what each model's paid-vs-free rounds send: digits-logreg costs almost nothing to run
# (the payment's share of a call is as large as it gets); MiniLM is what the gateway sells
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    MODEL: (f"/v1/infer/{MODEL}", REQUEST),
    EMBEDDER: (
        "/v1/embeddings",
        {"model": EMBEDDER, "input": ["a stone on a trail, one of many that mark the way"]},
    ),
}


@contextmanager
def _node(chain_url: str, root: Path, **extra: Any) -> Iterator[tuple[NodeContext, str]]:
    port = free_port()
    settings = NodeSettings(
        data_dir=root,
        port=port,
        chain=chain_url,
        models=(MODEL, EMBEDDER),
        prices={MODEL: PRICE, EMBEDDER: PRICE},
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


def _free(ctx: NodeContext, free: bool, model: str = MODEL) -> None:
    """Serve ``model`` free (the baseline) or at :data:`PRICE`, in the same process."""
    ctx.models[model].price = 0 if free else PRICE


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


def _rps(clients: list[GatewayClient], seconds: float, model: str) -> float:
    path, body = CALLS[model]
    done = [0] * len(clients)
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            clients[i].send(path, body)
            done[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - began)


class _LoadProcess:
    """8 free clients and 8 paying ones in a process of their own (as they would be on
    their own machines), each set driven for one window at a time over a pipe.

    Each paying client opens its channel (one deposit) before any window is timed.
    """

    def __init__(self, url: str, keys: list[bytes], network: str, asset: str, payee: str):
        import subprocess
        import sys

        cmd = [sys.executable, __file__, "--load", url, "--network", network]
        cmd += ["--asset", asset, "--payee", payee, "--keys", ",".join(k.hex() for k in keys)]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._read()  # "ready": every channel is open

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"load process failed (exit {self.proc.wait()})")
        return line.strip()

    def window(self, model: str, paid: bool, seconds: float) -> float:
        """Calls per second to ``model`` over one window of ``seconds``, paid or free."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{model} {'paid' if paid else 'free'} {seconds}\n")
        return float(self._read())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _load_main(args: argparse.Namespace) -> None:
    """The load process: opens the paying clients' channels, prints ``ready``, then runs
    one window per line read (``MODEL free S`` or ``MODEL paid S``) and prints its calls
    per second."""
    import sys

    free = [GatewayClient(args.load, timeout=60) for _ in range(8)]
    paid = []
    for k in (k for k in args.keys.split(",") if k):
        p = Payer(
            LocalSigner.from_hex(k),
            10**11,
            network=args.network,
            asset=args.asset,
            deposit_calls=100_000,
        )
        p._paid_once.add(args.payee.lower())
        paid.append(GatewayClient(args.load, payer=p, payee=args.payee, timeout=60))
        paid[-1].infer(MODEL, REQUEST["inputs"])  # the deposit, mined before any window
    print("ready", flush=True)
    for line in sys.stdin:
        model, mode, seconds = line.split()
        print(_rps(paid if mode == "paid" else free, float(seconds), model), flush=True)


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

    # 3. paid (vouchers) against free, 8 clients at once, to each model (see _paired)
    keys = [os.urandom(32) for _ in range(8)]
    with ctx.chain_lock:
        for k in keys:
            ctx.chain.token.mint(deployer, LocalSigner(k).address, 10**12)
    network, asset = f"eip155:{ctx.chain.chain_id}", ctx.chain.token.address
    _free(ctx, False)  # the deposits are paid calls
    load = _LoadProcess(url, keys, network, asset, _pay_to(ctx))
    try:
        for model, key in ((EMBEDDER, ""), (MODEL, "_tiny")):
            out.update({f"{k}{key}": v for k, v in _paired(ctx, load, model, quick).items()})
    finally:
        load.close()
    return out


def _paired(ctx: NodeContext, load: _LoadProcess, model: str, quick: bool) -> dict[str, Any]:
    """Free and paid windows to ``model`` in adjacent pairs (free-paid, then paid-free):
    both halves of a pair see the same load from the rest of a shared machine, and the
    ratio is the median of the pairs' ratios."""
    seconds, pairs = (1.5, 5) if quick else (2.0, 15)
    for paid in (True, False):  # warm both paths
        _free(ctx, not paid, model)
        load.window(model, paid, 1.0)
    free_rps, paid_rps, ratios = [], [], []
    for i in range(pairs):
        got = {}
        for paid in (False, True) if i % 2 == 0 else (True, False):
            _free(ctx, not paid, model)
            got[paid] = load.window(model, paid, seconds)
        free_rps.append(got[False])
        paid_rps.append(got[True])
        ratios.append(got[True] / got[False])
    _free(ctx, False, model)
    return {
        "free_rps_c8": statistics.median(free_rps),
        "paid_rps_c8": statistics.median(paid_rps),
        "paid_throughput_ratio_c8": statistics.median(ratios),
        "paid_throughput_ratio_c8_pairs": [round(r, 3) for r in ratios],
        "window_seconds": seconds,
    }


if __name__ == "__main__":
    main()
