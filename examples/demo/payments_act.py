"""The demo's payments act: a client pays per request, the node collects, validators are
paid for their audits from the node's revenue, and the ledger balances to the wei.

Everything is the real protocol on the embedded chain: the gateway prices
digits-logreg over x402 v2; the client is :class:`cairn.client.GatewayClient` with a
:class:`cairn.payments.Payer` (a one-off ``exact`` transfer first, then a
``batch-settlement`` channel: one deposit, one voucher per call); the node claims its
vouchers and releases its revenue splitter (90 % to the node, 10 % to the
ValidatorPool); two staked validators re-execute the sampled receipts, attest their
audits in the pool and, once the epoch is over, claim their share. The pool's epoch
is ten minutes here, and the demo moves the dev chain's clock past it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import uvicorn
from rich.console import Console
from rich.table import Table

from cairn.chain import DeployParams, DisputeParams, connect
from cairn.chain.batch import canonical
from cairn.client import GatewayClient
from cairn.config import DataDir
from cairn.identity import LocalSigner
from cairn.inference import DIGITS_NAME, digits_samples
from cairn.node import NodeContext, NodeSettings, bootstrap, create_app
from cairn.node.server import free_port
from cairn.payments import Payer
from support import DemoFailed, require, wait_for
from verification_act import validator

__all__ = ["run"]

ETHER = 10**18
PRICE = 1_000  # atomic units of CairnUSD (6 decimals): 0.001 a call
CALLS = 12
EPOCH_S = 600


def run(root: Path, passphrase: str, console: Console) -> None:
    dd = DataDir(root).ensure()
    chain = connect("embedded://", dd)
    dev = chain.dev_keys()[0]
    chain.deploy(dev, DeployParams(pool_epoch=EPOCH_S), disputes=DisputeParams())
    port = free_port()
    settings = NodeSettings(
        data_dir=root,
        port=port,
        models=(DIGITS_NAME,),
        prices={DIGITS_NAME: PRICE},
        batch_size=1000,
        batch_seconds=3600,
        claim_interval_s=3600,  # the act collects when it says so
    )
    ctx = bootstrap(settings, passphrase, chain=chain)
    try:
        with _serving(ctx, port) as url:
            _act(ctx, url, console)
    finally:
        ctx.close()


@contextlib.contextmanager
def _serving(ctx: NodeContext, port: int) -> Iterator[str]:
    config = uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-paid-gateway", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        require(thread.is_alive(), "the paid gateway exited while starting")
        try:
            with GatewayClient(url, timeout=2) as gw:
                return bool(gw.models())
        except Exception:
            return False

    try:
        wait_for(f"the paid gateway at {url}", up, 120.0)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


def _act(ctx: NodeContext, url: str, console: Console) -> None:
    chain, node = ctx.chain, ctx.signer.address
    token, pool = chain.token, chain.pool
    client = LocalSigner.generate()
    with ctx.chain_lock:
        token.mint(chain.dev_keys()[0], client.address, 1_000_000)  # the dev network's faucet
    validators = [validator(ctx, f"paid-validator-{i}") for i in range(2)]
    watched = {"client": client.address, "node": node, "pool": pool.address}
    watched |= {f"validator {i}": v.address for i, v in enumerate(validators)}
    before = _balances(ctx, watched)
    console.print(f"node {node} charges {PRICE} CairnUSD units a call of {DIGITS_NAME} (x402)")

    payer = Payer(
        client,
        100 * PRICE,
        network=f"eip155:{chain.chain_id}",
        asset=token.address,
        deposit_calls=20,
    )
    payee = ctx.cashier.requirements(PRICE)[0].pay_to if ctx.cashier else node
    rows = digits_samples()[0][:CALLS]
    with GatewayClient(url, payer=payer, payee=payee, timeout=60) as gw:
        for row in rows:
            pixels = {"dtype": "float32", "shape": [1, 64], "data": row.astype(np.float32).tolist()}
            answer = gw.infer(DIGITS_NAME, {"pixels": pixels})
            receipt = gw.verify(answer, domain=ctx.domain)
            require(receipt.price == PRICE, f"a receipt says {receipt.price}, not {PRICE}")
    console.print(
        f"the client made {CALLS} paid calls: 1 exact EIP-3009 transfer, then a channel "
        f"(one deposit of {payer.deposit_calls * PRICE}) and {CALLS - 1} vouchers; "
        "every receipt verified and carries its price"
    )
    require(ctx.cashier is not None, "the node has no cashier: is the model priced?")
    assert ctx.cashier is not None
    collected = ctx.cashier.collect()
    require(collected.claimed == (CALLS - 1) * PRICE, f"claimed {collected.claimed}")
    console.print(
        f"the node claimed {collected.claimed} from the channel and settled it in one "
        f"transaction; its splitter released {collected.to_node} to the node and "
        f"{collected.to_pool} to the validator pool"
    )

    ctx.batcher.flush()  # the batch root onchain; validators sample from the next block
    with ctx.chain_lock:
        chain.increase_time(1)
    for _ in range(4):
        for v in validators:
            report = v.tick()
            if report.attested:
                console.print(
                    f"  validator {v.address[:10]}…: re-executed {report.passed} receipts, "
                    f"attested batch {report.attested[0][1]} in the pool"
                )
    epoch = pool.current_epoch()
    with ctx.chain_lock:  # past the pool's epoch: its pot is paid out
        chain.increase_time(pool.epoch_end(epoch) - chain.now() + 1)
        chain.mine()
    earned = [v.tick().earned for v in validators]
    require(sum(earned) > 0, "no validator was paid from the pool")
    console.print(f"the epoch ended; the validators claimed {earned[0]} and {earned[1]}")

    after = _balances(ctx, watched)
    _ledger(before, after, console)
    channel = next(iter(payer._channels.values()))
    paid_out = before["client"] - after["client"]
    with ctx.chain_lock:  # the channel as the contract holds it
        onchain = canonical(chain).channel(channel.channel_id)
    still_the_clients = onchain.balance - onchain.total_claimed
    charged = paid_out - still_the_clients
    got = sum(after[k] - before[k] for k in watched if k != "client")
    require(charged == CALLS * PRICE, f"the client was charged {charged}, not {CALLS * PRICE}")
    require(got == charged, f"{charged} left the client for calls, {got} arrived")
    console.print(
        f"the ledger balances to the wei: {charged} paid for {CALLS} calls = "
        f"{after['node'] - before['node']} (node) + "
        f"{sum(after[f'validator {i}'] - before[f'validator {i}'] for i in range(2))} "
        f"(validators) + {after['pool'] - before['pool']} (left in the pool); "
        f"{still_the_clients} still the client's in its channel"
    )


def _balances(ctx: NodeContext, who: dict[str, str]) -> dict[str, int]:
    with ctx.chain_lock:
        return {name: ctx.chain.token.balance_of(addr) for name, addr in who.items()}


def _ledger(before: dict[str, int], after: dict[str, int], console: Console) -> None:
    table = Table(title="ledger of the paid session (CairnUSD atomic units)")
    for col in ("account", "before", "after", "change"):
        table.add_column(col, justify="right" if col != "account" else "left")
    for name in before:
        table.add_row(name, str(before[name]), str(after[name]), f"{after[name] - before[name]:+d}")
    console.print(table)


if __name__ == "__main__":  # run this act alone: python examples/demo/payments_act.py
    import sys
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), "demo-only", Console())
    except DemoFailed as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)
