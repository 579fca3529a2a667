"""The demo's last act: a node that cheats is caught by sampling validators and slashed.

Everything here is the real protocol on the embedded chain — the Disputes
contract, the gateway, three staked validators running :class:`Validator` —
except the cheat itself: the demo wraps the node's digits runtime in
:class:`cairn.testing.WrongSometimes`, which answers a wrong label on one
request in ten. That is a prop of this demonstration (the adversarial tests use
the same double); the product has no flag for it. The voting windows are one
minute and the demo moves the dev chain's clock past them instead of waiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import uvicorn
from rich.console import Console
from rich.table import Table

from cairn import content
from cairn.chain import BURN, Chain, DeployParams, DisputeParams, Outcome, connect
from cairn.client import GatewayNodeSource
from cairn.config import DataDir
from cairn.identity import LocalSigner
from cairn.inference import DIGITS_NAME, digits_samples
from cairn.node import NodeContext, NodeSettings, bootstrap, create_app
from cairn.node.server import free_port
from cairn.testing import WrongSometimes
from cairn.verification import Reexecutor, TickReport, Validator, ValidatorState, reputation
from support import DemoFailed, require, wait_for

__all__ = ["run", "validator"]

ETHER = 10**18
DISPUTES = DisputeParams(
    committee_size=3,
    draw_window=600,  # validators draw at their next tick; rounds move time 61 s
    response_window=60,
    commit_window=60,
    reveal_window=60,
    jail_period=3600,
    challenge_bond=ETHER // 100,
    juror_penalty=ETHER // 100,
    full_audit_receipts=100,
)
REQUESTS = 20
ROUNDS = 12  # validator ticks, each followed by a jump past a voting window
START_S = 120.0  # for the gateway to answer /healthz
STOP_S = 30.0  # for the gateway's thread to end once told to


def run(root: Path, passphrase: str, console: Console) -> None:
    """Serve a lying node, send it requests, and let three validators catch it."""
    dd = DataDir(root).ensure()
    chain = connect("embedded://", dd)
    dev = chain.dev_keys()[0]
    chain.deploy(dev, DeployParams(unbonding_delay=3600), disputes=DISPUTES)
    port = free_port()
    settings = NodeSettings(data_dir=root, port=port, batch_size=1000, batch_seconds=3600)
    ctx = bootstrap(settings, passphrase, chain=chain)
    served = ctx.models[DIGITS_NAME]
    liar = WrongSometimes(served.model.runtime, every=10, offset=0)
    served.model = replace(served.model, runtime=liar)
    try:
        with _serving(ctx, port) as url:
            _act(ctx, url, console)
    finally:
        ctx.close()


@contextlib.contextmanager
def _serving(ctx: NodeContext, port: int) -> Iterator[str]:
    """The real gateway on a thread of this process, up for as long as the block runs."""
    app = create_app(ctx)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-gateway", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"the cheating node's gateway at {url}/healthz", lambda: _up(url, thread), START_S)
        yield url
    finally:
        server.should_exit = True
        thread.join(STOP_S)
    require(not thread.is_alive(), f"the cheating node's gateway did not stop in {STOP_S:g}s")


def _up(url: str, thread: threading.Thread) -> bool:
    require(thread.is_alive(), f"the cheating node's gateway at {url} exited while starting")
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _act(ctx: NodeContext, url: str, console: Console) -> None:
    chain = ctx.chain
    validators = [validator(ctx, f"validator-{i}") for i in range(3)]
    with ctx.chain_lock:  # a juror counts only from `activation_blocks` after it joins
        chain.mine(DISPUTES.activation_blocks)
    node = ctx.signer.address
    console.print(f"node {node} serves {DIGITS_NAME}, and lies on one answer in ten")
    console.print(
        f"3 validators staked and in the juror pool: "
        f"{', '.join(v.address[:10] + '…' for v in validators)}"
    )
    before = _balances(ctx, validators)
    _send_requests(url)
    console.print(f"a client sent {REQUESTS} requests; every answer came with a signed receipt")
    ctx.batcher.flush()
    console.print(
        "the node anchored its batch root onchain; validators draw their sample "
        "from the next block hash (a new node: its first receipts are all audited)"
    )
    verdict, challengers = _until_guilty(ctx, validators, console)
    after = _balances(ctx, validators)
    roles = ["challenger" if v.address in challengers else "juror" for v in validators]
    _ledger(before, after, roles, console)
    rep = reputation(chain, node)
    console.print(
        f"verdict: {verdict.name}; node jailed: {chain.disputes.is_jailed(node)}; "
        f"reputation now {rep.score:.2f}",
        highlight=False,
    )
    require(
        after["node_stake"] < before["node_stake"],
        "the node was found guilty but its stake was not slashed",
    )


def validator(ctx: NodeContext, name: str) -> Validator:
    """A fresh staked validator in the juror pool, its state beside the node's (``name``)."""
    signer = LocalSigner.generate()
    with ctx.chain_lock:
        ctx.chain.fund(signer.address, 10 * ETHER)
    home = ctx.data_dir.root / name
    v = Validator(
        ctx.chain,
        signer,
        Reexecutor(content.FilesystemBlockstore(home / "blocks")),
        ValidatorState(home / "state.sqlite"),
        sources=lambda url: GatewayNodeSource(url, signer=signer),
        lock=ctx.chain_lock,
    )
    v.ensure_joined()
    return v


def _send_requests(url: str) -> None:
    x_test = digits_samples()[0]  # shipped with cairn: the demo needs no scikit-learn
    with httpx.Client(base_url=url, timeout=60) as client:
        for i, row in enumerate(x_test[:REQUESTS]):
            pixels = {"dtype": "float32", "shape": [1, 64], "data": row.astype(np.float32).tolist()}
            try:
                response = client.post(
                    f"/v1/infer/{DIGITS_NAME}", json={"inputs": {"pixels": pixels}}
                )
            except httpx.HTTPError as exc:
                raise DemoFailed(f"request {i + 1} to the cheating node failed: {exc}") from exc
            require(
                response.status_code == 200,
                f"the cheating node refused request {i + 1}: "
                f"HTTP {response.status_code} {response.text[:200]}",
            )


def _until_guilty(
    ctx: NodeContext, validators: list[Validator], console: Console
) -> tuple[Outcome, set[str]]:
    """Tick the validators until a dispute resolves GUILTY; the outcome and who opened it."""
    challengers: set[str] = set()
    with ctx.chain_lock:
        ctx.chain.increase_time(1)  # one block after the anchor: the sampling seed exists
    for _round in range(ROUNDS):
        for v in validators:
            report = v.tick()
            if report.disputed:
                challengers.add(v.address)
            if report:
                console.print(f"  validator {v.address[:10]}…: {_say(report)}", highlight=False)
            if Outcome.GUILTY in report.resolved.values():
                return Outcome.GUILTY, challengers
        with ctx.chain_lock:  # the dev chain's clock jumps past the commit or reveal window
            ctx.chain.increase_time(DISPUTES.commit_window + 1)
    raise DemoFailed(f"the cheating node was not caught in {ROUNDS} rounds of validator ticks")


def _say(report: TickReport) -> str:
    parts = []
    if report.planned:
        parts.append(f"sampled {report.planned} receipts")
    if report.passed:
        parts.append(f"{report.passed} re-executed and matched")
    if report.disputed:
        parts.append(f"opened dispute {', '.join(map(str, report.disputed))} with evidence")
    if report.committed:
        parts.append(f"committed a sealed vote on {', '.join(map(str, report.committed))}")
    if report.revealed:
        parts.append(f"revealed its vote on {', '.join(map(str, report.revealed))}")
    for dispute_id, outcome in report.resolved.items():
        parts.append(f"resolved dispute {dispute_id}: {Outcome(outcome).name}")
    return "; ".join(parts)


def _balances(ctx: NodeContext, validators: list[Validator]) -> dict[str, int]:
    chain: Chain = ctx.chain
    with ctx.chain_lock:
        out = {
            "node_stake": chain.staking.participant(ctx.signer.address).stake,
            "burned": chain.balance(BURN),
        }
        for i, v in enumerate(validators):
            out[f"v{i}"] = chain.balance(v.address) + chain.staking.participant(v.address).stake
    return out


def _ledger(
    before: dict[str, int], after: dict[str, int], roles: list[str], console: Console
) -> None:
    table = Table(title="ledger after the dispute (ETH)")
    for col in ("account", "before", "after", "change"):
        table.add_column(col, justify="right" if col != "account" else "left")

    def row(name: str, key: str) -> None:
        b, a = before[key] / ETHER, after[key] / ETHER
        table.add_row(name, f"{b:.6f}", f"{a:.6f}", f"{a - b:+.6f}")

    row("cheating node: stake", "node_stake")
    for i, role in enumerate(roles):
        row(f"validator {i} ({role}): balance + stake", f"v{i}")
    row("burned (0x…dEaD)", "burned")
    console.print(table)
