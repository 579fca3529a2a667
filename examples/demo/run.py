"""``make demo``: cairn end to end on embedded defaults, through the commands a user types.

Run it as ``python examples/demo/run.py`` with cairn installed (``make demo`` does).
Each step runs the real ``cairn`` command in a subprocess and prints it first,
so the output reads as a script a user could follow. It uses a fresh data dir
(``$CAIRN_DATA_DIR/demo``, else ``~/.cairn/demo``) and a demo-only passphrase.

1. content & provenance: wallets; the real all-MiniLM-L6-v2 files and a small
   dataset published with signed lineage between them; both verified; a CAR.
2. settlement: contracts on the embedded chain; the model registered with its
   manifest; a node staked; CairnUSD minted to the client, a payment channel
   (x402 batch-settlement) opened to the node, a voucher signed and claimed.
3. verifiable inference: ``cairn up``; embedding requests whose receipts are
   verified offline, then onchain once their batch is anchored; a clean stop.
4. verification (``verification_act.py``): a node that lies on one answer in
   ten, three staked validators that sample, re-execute, dispute and vote; the
   node slashed; the ledger.
5. payments (``payments_act.py``): a priced model; a client that pays one call
   with an x402 ``exact`` transfer and the next ones with batch-settlement
   vouchers; the node's claim; validators attest their audits and claim their
   share of the pool; the ledger, balanced to the wei.

It exits 0 when every step did what it says, and otherwise prints one line
naming the step that failed and exits 1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

import payments_act
import verification_act
from cairn.inference import minilm_source_dir
from cairn.node.server import free_port
from support import DemoFailed, require, wait_for

console = Console()
PASSPHRASE = "cairn-demo-only"
STEP_S = 600  # for one `cairn` command
UP_START_S = 300.0  # for `cairn up` to answer /healthz
UP_STOP_S = 120.0  # for `cairn up` to exit after SIGTERM
DATASET = [
    {
        "anchor": "A cairn is a pile of stones that marks a trail.",
        "positive": "Hikers stack rocks to show the way.",
    },
    {
        "anchor": "Content addressing names data by its hash.",
        "positive": "A CID is derived from the bytes it identifies.",
    },
    {
        "anchor": "Receipts bind a model to an input and an output.",
        "positive": "Each answer comes with a signed statement of what ran.",
    },
]


class Demo:
    """Runs ``cairn`` commands against the demo's data dir and prints them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "CAIRN_DATA_DIR": str(root), "CAIRN_PASSPHRASE": PASSPHRASE}

    def run(self, *args: str, show: bool = True) -> str:
        command = f"cairn {' '.join(args)}"
        console.print(f"[bold cyan]$ {command}[/]")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "cairn", *args],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=STEP_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DemoFailed(f"timed out after {STEP_S}s waiting for `{command}`") from exc
        if done.returncode != 0:
            console.print(done.stdout + done.stderr)
            raise DemoFailed(f"`{command}` exited with {done.returncode}")
        if show and done.stdout.strip():
            console.print(done.stdout.rstrip(), highlight=False)
        if show and done.stderr.strip():
            console.print(done.stderr.rstrip(), highlight=False, style="dim")
        return done.stdout.strip()

    def section(self, title: str) -> None:
        console.rule(f"[bold]{title}")


def content_and_provenance(d: Demo) -> dict[str, str]:
    d.section("1. content addressing and signed lineage")
    for name in ("publisher", "client", "node"):
        d.run("wallet", "new", name)
    data = d.root / "inputs" / "minilm-pairs"
    data.mkdir(parents=True)
    (data / "pairs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in DATASET))
    dataset = d.run(
        "publish",
        str(data),
        "--kind",
        "dataset",
        "--name",
        "minilm-pairs",
        "--version",
        "1",
        "--license",
        "CC-BY-4.0",
        "--wallet",
        "publisher",
        "-q",
    )
    dataset_cid = d.run("add", "-q", "--only-hash", str(data), show=False)
    model_dir = minilm_source_dir()
    model = d.run(
        "publish",
        str(model_dir),
        "--name",
        "all-MiniLM-L6-v2-upstream",
        "--version",
        "1",
        "--license",
        "Apache-2.0",
        "--dataset",
        dataset_cid,
        "--contributor",
        "sentence-transformers",
        "--policy",
        "cosine:0.99999",
        "--wallet",
        "publisher",
        "-q",
    )
    model_cid = d.run("add", "-q", "--only-hash", str(model_dir), show=False)
    d.run("verify", model)
    d.run("verify", dataset)
    d.run("lineage", model_cid)
    car = d.root / "minilm.car"
    d.run("car", "export", model_cid, "-o", str(car))
    return {
        "model": model_cid,
        "model_manifest": model,
        "dataset": dataset_cid,
        "dataset_manifest": dataset,
        "car": str(car),
    }


def settlement(d: Demo, ids: dict[str, str]) -> None:
    d.section("2. settlement on the embedded chain")
    d.run("chain", "deploy")
    d.run("registry", "register", "all-MiniLM-L6-v2-upstream", "--wallet", "publisher")
    d.run(
        "registry",
        "publish",
        "all-MiniLM-L6-v2-upstream",
        ids["model"],
        "--manifest",
        ids["model_manifest"],
        "--wallet",
        "publisher",
    )
    d.run("registry", "show", "all-MiniLM-L6-v2-upstream")
    d.run("stake", "add", "0.01", "--wallet", "node")
    node = d.run("wallet", "show", "node", show=False).split()[-1]
    d.run("token", "mint", "1000000", "--to", "client")  # as the minter (the deployer)
    channel = d.run("channel", "open", "node", "500000", "--wallet", "client")
    require(
        channel.startswith("0x"), f"`cairn channel open` printed no channel id: {channel!r:.200}"
    )
    signature = d.run("channel", "voucher", channel, "2000", "--wallet", "client")
    d.run("channel", "claim", channel, "2000", signature, "--wallet", "node")
    d.run("channel", "show", channel)
    ledger = Table(title="ledger after settlement")
    ledger.add_column("what")
    ledger.add_column("value", justify="right")
    state = json.loads(d.run("channel", "show", channel, "--json", show=False))
    ledger.add_row("channel deposit (client -> node)", _usd(state["balance"]))
    ledger.add_row("claimed by the node with one voucher", _usd(state["total_claimed"]))
    for who in ("client", "node"):
        held = json.loads(d.run("token", "balance", who, "--json", show=False))["balance"]
        ledger.add_row(f"{who}'s CairnUSD", _usd(held))
    stake = json.loads(d.run("stake", "show", node, "--json", show=False))
    ledger.add_row("node stake (slashable)", f"{int(stake['stake']) / 1e18:g} ETH")
    console.print(ledger)


def _usd(units: int) -> str:
    return f"{units / 10**6:,.6f} CairnUSD"


def verifiable_inference(d: Demo) -> None:
    d.section("3. verifiable inference: cairn up")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    console.print(f"[bold cyan]$ cairn up --port {port} --batch-seconds 1[/]")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cairn", "up", "--port", str(port), "--batch-seconds", "1"],
        env=d.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(f"`cairn up` to answer {url}/healthz", lambda: _healthy(proc, url), UP_START_S)
        _embed_and_verify(d, url)
    finally:
        out, err = _stop(proc)
        console.print(out.rstrip(), highlight=False)
        if proc.returncode != 0:
            console.print(err.rstrip(), highlight=False, style="dim")
    require(proc.returncode == 0, f"`cairn up` did not stop cleanly (exit {proc.returncode})")


def _embed_and_verify(d: Demo, url: str) -> None:
    texts = ["where does the trail go?", "stones mark the way", "verify, then trust"]
    saved = []
    for i, text in enumerate(texts):  # each receipt is verified offline as it arrives
        saved.append(d.root / f"answer-{i}.json")
        d.run("embed", "--gateway", url, "-o", str(saved[-1]), text)
    # waits until its batch root is anchored onchain, then checks the inclusion proof
    d.run("embed", "--gateway", url, "--online", "--wait", "30", "anchored and proven")
    for path in saved:  # the earlier answers, now anchored too
        d.run("receipt", "verify", str(path), "--online", "--gateway", url)
    network = httpx.get(f"{url}/v1/network", timeout=10).json()
    console.print(
        f"node {network['nodes'][0]['address']} staked "
        f"{network['nodes'][0]['stake'] / 1e18:g} ETH on chain "
        f"{network['chain']['chain_id']} ({network['chain']['kind']})"
    )


def _healthy(proc: subprocess.Popen[str], url: str) -> bool:
    if proc.poll() is not None:
        raise DemoFailed(f"`cairn up` exited with {proc.returncode} while starting")
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM, then its output; killed and failed if it outlives ``UP_STOP_S``."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=UP_STOP_S)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise DemoFailed(f"timed out after {UP_STOP_S:g}s waiting for `cairn up` to stop") from exc


def main() -> int:
    base = Path(os.environ.get("CAIRN_DATA_DIR") or Path.home() / ".cairn")
    root = base / "demo"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    console.print(f"[bold]cairn demo[/] in {root} (passphrase for its wallets: {PASSPHRASE!r})")
    d = Demo(root)
    started = time.monotonic()
    try:
        ids = content_and_provenance(d)
        settlement(d, ids)
        verifiable_inference(d)
        d.section("4. a cheating node is caught and slashed")
        verification_act.run(root / "verification", PASSPHRASE, console)
        d.section("5. agents pay per request (x402); validators are paid from demand")
        payments_act.run(root / "payments", PASSPHRASE, console)
    except DemoFailed as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    console.rule(f"[bold green]demo complete in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
