"""The demo's last act: a node that cheats is caught by sampling validators and slashed.

Everything here is the real protocol on the embedded chain — the Disputes
contract, the gateway, three staked validators running :class:`Validator` —
except the cheat itself: the demo wraps the node's digits runtime in
:class:`_Liar`, which answers a wrong label on one request in ten. That is a
prop of this demonstration (as the tests use test doubles); the product has no
flag for it. The voting windows are one minute and the demo moves the dev
chain's clock past them instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from rich.console import Console
from rich.table import Table

from cairn import content
from cairn.chain import BURN, DeployParams, DisputeParams, Outcome, connect
from cairn.config import DataDir
from cairn.identity import LocalSigner
from cairn.inference import DIGITS_NAME, Runtime, Tensor, WrappedRuntime, digits_split
from cairn.node import NodeSettings, bootstrap, create_app
from cairn.node.server import free_port
from cairn.verification import Reexecutor, Validator, ValidatorState, reputation

ETHER = 10**18
CHALLENGERS: set[str] = set()
DISPUTES = DisputeParams(
    committee_size=3,
    commit_window=60,
    reveal_window=60,
    jail_period=3600,
    challenge_bond=ETHER // 100,
    juror_penalty=ETHER // 100,
    full_audit_receipts=100,
)


class _Liar(WrappedRuntime):
    """The cheat: the real model, but every tenth answer has its label shifted by one."""

    def __init__(self, inner: Runtime) -> None:
        super().__init__(inner)
        self.calls = 0

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        out = self.inner.run(inputs)
        self.calls += 1
        if self.calls % 10:
            return out
        probs = np.roll(np.asarray(out["probabilities"].to_numpy()), 1, axis=-1)
        return {
            "probabilities": Tensor.from_numpy(probs.astype(np.float32)),
            "label": Tensor.from_numpy(np.argmax(probs, axis=-1).astype(np.int64)),
        }


def run(root: Path, passphrase: str, console: Console) -> None:
    dd = DataDir(root).ensure()
    chain = connect("embedded://", dd)
    dev = chain.dev_keys()[0]
    chain.deploy(dev, DeployParams(unbonding_delay=3600, close_window=3600), disputes=DISPUTES)
    port = free_port()
    settings = NodeSettings(data_dir=root, port=port, batch_size=1000, batch_seconds=3600)
    ctx = bootstrap(settings, passphrase, chain=chain)
    served = ctx.models[DIGITS_NAME]
    served.model = replace(served.model, runtime=_Liar(served.model.runtime))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    try:
        _act(ctx, chain, url, console)
    finally:
        server.should_exit = True
        time.sleep(0.5)
        ctx.close()


def _act(ctx: Any, chain: Any, url: str, console: Console) -> None:
    validators = []
    for i in range(3):
        signer = LocalSigner.generate()
        chain.fund(signer.address, 10 * ETHER)
        store = content.FilesystemBlockstore(ctx.data_dir.root / f"validator-{i}" / "blocks")
        v = Validator(
            chain,
            signer,
            Reexecutor(store),
            ValidatorState(ctx.data_dir.root / f"validator-{i}" / "state.sqlite"),
            lock=ctx.chain_lock,
        )
        v.ensure_joined()
        validators.append(v)
    node = ctx.signer.address
    console.print(f"node {node} serves {DIGITS_NAME}, and lies on one answer in ten")
    console.print(
        f"3 validators staked and in the juror pool: "
        f"{', '.join(v.address[:10] + '…' for v in validators)}"
    )
    before = _balances(chain, ctx, validators)
    x_test = digits_split()[1]
    with httpx.Client(base_url=url, timeout=60) as client:
        for row in x_test[:20]:
            body = {
                "inputs": {
                    "pixels": {
                        "dtype": "float32",
                        "shape": [1, 64],
                        "data": row.astype(np.float32).tolist(),
                    }
                }
            }
            assert client.post(f"/v1/infer/{DIGITS_NAME}", json=body).status_code == 200
    console.print("a client sent 20 requests; every answer came with a signed receipt")
    ctx.batcher.flush()
    console.print(
        "the node anchored its batch root onchain; validators draw their sample "
        "from the next block hash (a new node: its first receipts are all audited)"
    )
    verdict = _until_resolved(chain, ctx, validators, console)
    after = _balances(chain, ctx, validators)
    _ledger(chain, node, [v.address for v in validators], before, after, verdict, console)


def _until_resolved(chain: Any, ctx: Any, validators: list[Validator], console: Console) -> int:
    with ctx.chain_lock:
        chain.increase_time(1)  # one block after the anchor: the sampling seed exists
    for _round in range(12):
        for v in validators:
            report = v.tick()
            if report.disputed:
                CHALLENGERS.add(v.address)
            if report:
                console.print(f"  validator {v.address[:10]}…: {_say(report)}", highlight=False)
            for outcome in report.resolved.values():
                if outcome == Outcome.GUILTY:
                    return int(outcome)
        with ctx.chain_lock:  # the dev chain's clock jumps past the commit or reveal window
            chain.increase_time(DISPUTES.commit_window + 1)
    raise SystemExit("the cheating node was not caught: the demo failed")


def _say(report: Any) -> str:
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


def _balances(chain: Any, ctx: Any, validators: list[Validator]) -> dict[str, int]:
    with ctx.chain_lock:
        out = {
            "node_stake": chain.staking.participant(ctx.signer.address).stake,
            "burned": chain.balance(BURN),
        }
        for i, v in enumerate(validators):
            out[f"v{i}"] = chain.balance(v.address) + chain.staking.participant(v.address).stake
    return out


def _ledger(
    chain: Any,
    node: str,
    validators: list[str],
    before: dict[str, int],
    after: dict[str, int],
    verdict: int,
    console: Console,
) -> None:
    table = Table(title="ledger after the dispute (ETH)")
    for col in ("account", "before", "after", "change"):
        table.add_column(col, justify="right" if col != "account" else "left")

    def row(name: str, key: str) -> None:
        b, a = before[key] / ETHER, after[key] / ETHER
        table.add_row(name, f"{b:.6f}", f"{a:.6f}", f"{a - b:+.6f}")

    row("cheating node: stake", "node_stake")
    for i, address in enumerate(validators):
        role = "challenger" if address in CHALLENGERS else "juror"
        row(f"validator {i} ({role}): balance + stake", f"v{i}")
    row("burned (0x…dEaD)", "burned")
    console.print(table)
    rep = reputation(chain, node)
    console.print(
        f"verdict: {Outcome(verdict).name}; node jailed: {chain.disputes.is_jailed(node)}; "
        f"reputation now {rep.score:.2f}",
        highlight=False,
    )
