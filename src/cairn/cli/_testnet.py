"""``cairn testnet up|status|down``: a network on one machine, as separate parties.

The commands drive :class:`cairn.node.testnet.Testnet` (issue 12, part 3; the
design — namespaces, the clients and chain links, the state file — is in its
docstring and in docs/testnet.md). ``up`` returns once every party is healthy and
leaves them running; ``status`` reads stakes, reputation, anchored batches and
disputes from the chain; ``down`` stops what ``up`` started, by pid, and keeps the
data dirs. State lives in ``<data dir>/testnet/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli._common import JsonOpt, console, err_console, state
from cairn.errors import ConfigError

if TYPE_CHECKING:
    from cairn.identity import Signer

__all__ = ["register"]

testnet_app = typer.Typer(
    help="A network of separate node and validator processes on this machine.",
    no_args_is_help=True,
)


def _funder(ctx: typer.Context, key: str | None, wallet: str | None) -> Signer | None:
    """Who pays for the contracts and the parties on an existing chain (None: a dev account)."""
    from cairn.identity import LocalSigner, WalletStore

    if key is not None and wallet is not None:
        raise ConfigError("pass --funder-key or --funder-wallet, not both")
    if key is not None:
        return LocalSigner.from_hex(key)
    if wallet is None:
        return None
    passphrase = os.environ.get("CAIRN_PASSPHRASE")
    if passphrase is None:
        raise ConfigError("set CAIRN_PASSPHRASE to unlock the funder wallet")
    return WalletStore(state(ctx).data_dir.keystore).unlock(wallet, passphrase)


@testnet_app.command("up")
def up(
    ctx: typer.Context,
    nodes: Annotated[int, typer.Option("--nodes", help="Inference nodes to start.", min=1)] = 2,
    validators: Annotated[
        int, typer.Option("--validators", help="Validators to start.", min=0)
    ] = 1,
    chain: Annotated[
        str | None,
        typer.Option("--chain", help="An existing chain's RPC URL (default: cairn starts Anvil)."),
    ] = None,
    funder_key: Annotated[
        str | None,
        typer.Option(
            "--funder-key",
            help="Private key (hex) that deploys and funds, with --chain "
            "(default: a dev chain's first account).",
        ),
    ] = None,
    funder_wallet: Annotated[
        str | None,
        typer.Option(
            "--funder-wallet", help="Wallet that deploys and funds (needs CAIRN_PASSPHRASE)."
        ),
    ] = None,
    fund: Annotated[
        str, typer.Option("--fund", help="What each party is funded with, e.g. 10eth.")
    ] = "10eth",
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", metavar="MODEL", help="A model every node serves (repeat; as `cairn up`)."
        ),
    ] = None,
    batch_seconds: Annotated[
        float, typer.Option("--batch-seconds", help="Nodes anchor every T seconds.", min=0.1)
    ] = 2.0,
    loopback: Annotated[
        bool,
        typer.Option(
            "--loopback", help="No network namespaces: every party on 127.0.0.1, own port."
        ),
    ] = False,
    reset: Annotated[
        bool,
        typer.Option("--reset", help="Delete a stopped testnet's data dirs first."),
    ] = False,
    anvil: Annotated[
        Path | None,
        typer.Option(
            "--anvil",
            envvar="CAIRN_ANVIL",
            show_envvar=False,
            help="The anvil executable (env CAIRN_ANVIL; default node_modules/.bin/anvil).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start NODES nodes and VALIDATORS validators as separate processes; return when all
    are healthy, leaving them running. Pins the network profile `testnet`."""
    from cairn.cli._chain import parse_amount
    from cairn.node.testnet import Testnet

    dd = state(ctx).data_dir
    with err_console.status("starting the testnet") as status:

        def step(msg: str) -> None:
            status.update(msg)
            err_console.print(msg, highlight=False, soft_wrap=True)

        net = Testnet.up(
            dd.root,
            nodes,
            validators,
            chain,
            funder=_funder(ctx, funder_key, funder_wallet),
            anvil=anvil,
            isolate=False if loopback else None,
            reset=reset,
            fund_wei=parse_amount(fund),
            batch_seconds=batch_seconds,
            models=tuple(model or ()),
            step=step,
        )
    if as_json:
        typer.echo(json.dumps({"ok": True, **net.status()}))
        return
    console.print(f"[bold green]testnet is up[/] on {net.network.rpc} (profile `testnet`)")
    _print_parties(net.status())
    console.print("stop it with: cairn testnet down", highlight=False)


@testnet_app.command("status")
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The parties (role, address, endpoint, pid, stake onchain), anchored batches,
    reputation and disputes."""
    from cairn.node.testnet import Testnet

    found = Testnet.load(state(ctx).data_dir.root).status()
    if as_json:
        typer.echo(json.dumps({"ok": True, **found}))
        return
    console.print(f"chain {found['chain']}  disputes {found['disputes']}", highlight=False)
    if found["chain_error"]:
        err_console.print(f"chain unreadable: {found['chain_error']}", highlight=False)
    _print_parties(found)


def _print_parties(found: dict[str, Any]) -> None:
    """One line per party (plain text: addresses and URLs are never cut)."""
    for p in found["parties"]:
        stake = "stake ?" if p["stake"] is None else f"stake {p['stake'] / 10**18:g} ETH"
        pid = f"pid {p['pid']}" + ("" if p["alive"] else " (gone)")
        extra = (
            f"batches {p.get('anchored_batches', '?')}  score {p.get('reputation', '?')}"
            if p["role"] == "node"
            else ("in the juror pool" if p.get("in_pool") else "not in the pool")
        )
        link = f"  chain link {p['chain_link']}" if p["chain_link"] else ""
        console.print(
            f"{p['name']:<12} {p['address']}  {p['endpoint'] or p['host']}  {pid}  {stake}  "
            f"{extra}{link}",
            highlight=False,
            soft_wrap=True,
        )


@testnet_app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop every process `up` started (SIGTERM, then SIGKILL), remove its namespaces;
    the data dirs stay."""
    from cairn.node.testnet import Testnet

    root = state(ctx).data_dir.root
    net = Testnet.find(root)
    if net is None:
        console.print(f"no testnet is running from {root}", highlight=False)
        return
    stopped = net.down()
    console.print(
        f"testnet stopped ({', '.join(stopped) or 'nothing was still running'}); "
        f"data dirs kept in {net.root}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(testnet_app, name="testnet")
