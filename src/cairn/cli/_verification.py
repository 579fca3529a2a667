"""``cairn validator run`` and ``cairn node show``: the verification layer on the command line.

``cairn validator run`` joins the juror pool (registering and staking the
minimum if needed) and then audits, disputes and votes until Ctrl-C, printing
one line per tick that did something. ``cairn node show ADDRESS`` prints a
node's reputation from onchain history.
Signing uses the same ``--key`` / ``--wallet`` rules as ``cairn stake``.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Annotated, Any

import typer

from cairn import chain as chainlib
from cairn.cli._chain import ChainOpt, JsonOpt, KeyOpt, WalletOpt, _eth, _open, _signer
from cairn.cli._common import console, err_console, state

__all__ = ["register"]

validator_app = typer.Typer(help="Audit nodes, dispute wrong answers, vote.", no_args_is_help=True)
node_app = typer.Typer(help="Nodes of a network and their reputation.", no_args_is_help=True)


@validator_app.command("run")
def validator_run(
    ctx: typer.Context,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between ticks.")] = 2.0,
    patience: Annotated[
        int,
        typer.Option(
            "--patience", help="Ticks a node gets to hand over an input before it is disputed."
        ),
    ] = 2,
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
    zk: Annotated[
        bool,
        typer.Option(
            help="Accept a node's zk proof instead of re-executing (needs the zk extra). Without "
            "--trusted-srs any SRS is accepted, which is safe on a development network only: "
            "whoever made an SRS can forge proofs under it."
        ),
    ] = False,
    trusted_srs: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-srs", help="sha256 of a ceremony SRS to accept (repeat); implies --zk."
        ),
    ] = None,
) -> None:
    """Join the juror pool, then watch anchors, audit, dispute and vote until stopped."""
    from cairn import content
    from cairn.verification import Reexecutor, Validator, ValidatorState

    dd = state(ctx).data_dir.ensure()
    c = _open(ctx, chain)
    account = _signer(ctx, c, key, wallet)
    store = content.open_blockstore(dd)
    state_path = dd.root / "validator" / f"{account.address.lower()}-{c.chain_id}.sqlite"
    v = Validator(
        c,
        account,
        Reexecutor(store, zk=_zk_verifier(store, zk, trusted_srs)),
        ValidatorState(state_path),
        patience=patience,
    )
    v.ensure_joined()
    console.print(f"validator {account.address} in the juror pool of {c.url}", soft_wrap=True)
    if once:
        _print_tick(v.tick())
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    logging.basicConfig(level=logging.WARNING)
    v.run(stop, interval, on_tick=_print_tick)


def _print_tick(report: object) -> None:
    console.print(json.dumps(report.__dict__, default=str), soft_wrap=True, highlight=False)


@node_app.command("show")
def node_show(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The node's address.")],
    chain: ChainOpt = chainlib.EMBEDDED,
    as_json: JsonOpt = False,
) -> None:
    """A node's reputation from onchain history: audits, disputes, slashes, jail, uptime."""
    from cairn.verification import reputation

    rep = reputation(_open(ctx, chain), address)
    if as_json:
        typer.echo(json.dumps(rep.to_json()))
        return
    console.print(
        f"node      {rep.node}\nstake     {_eth(rep.stake)}"
        f"{'' if rep.staked else ' (not staked)'}\n"
        f"receipts  {rep.receipts} anchored, {rep.audited} audited, {rep.passed} passed\n"
        f"disputes  {rep.disputes_lost} lost, {rep.disputes_won} won; "
        f"slashed {_eth(rep.slashed_wei)}\n"
        f"jailed    {'yes' if rep.jailed else 'no'}\nuptime    {rep.uptime:.3f}\n"
        f"score     {rep.score:.3f}",
        soft_wrap=True,
        highlight=False,
    )


def _zk_verifier(store: Any, enabled: bool, trusted: list[str] | None) -> Any:
    """A ZkVerifier when asked for and ezkl is installed; else None (re-execute everything)."""
    if not enabled and not trusted:
        return None
    try:
        from cairn.verification.zk.verifier import ZkVerifier
    except ImportError:
        err_console.print("zk proofs ignored: ezkl is not installed (pip install 'cairn[zk]')")
        return None
    return ZkVerifier(store, trusted_srs=set(trusted) if trusted else None)


def register(app: typer.Typer) -> None:
    app.add_typer(validator_app, name="validator")
    app.add_typer(node_app, name="node")
