"""``cairn audit``: rate a stack manifest or a running cairn network.

cairn audit examples/stacks/cairn-embedded.yaml
cairn audit stack.yaml --format html -o report.html
cairn audit --live http://127.0.0.1:8000 --json      # the node's contracts, checked onchain
cairn audit --network testnet                          # a pinned network, from its chain alone
cairn audit --live http://127.0.0.1:8000 --network testnet  # ... and the node for the rest
cairn audit --explain

A live audit reads stakes, owners, delays, validators, jail and disputes from
the contracts; the node's /v1/network is asked only what a chain cannot know.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cairn._atomic import atomic_write_bytes
from cairn.cli._common import console, state
from cairn.errors import AuditError

if TYPE_CHECKING:
    from cairn.audit import Report

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command to ``app``."""
    app.command("audit")(audit_command)


def audit_command(
    ctx: typer.Context,
    manifest: Annotated[
        Path | None, typer.Argument(help="A stack manifest (YAML).", show_default=False)
    ] = None,
    live: Annotated[
        str | None,
        typer.Option(
            "--live",
            help="Audit a running network: a node's URL (or file://JSON) publishing its contracts.",
        ),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option("--network", help="Audit a pinned network profile (chain and contracts)."),
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option("--chain", help="Read the chain through this RPC URL, not the node's."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or html.")] = "table",
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    show_explain: Annotated[
        bool, typer.Option("--explain", help="What each rating and flag means, and why.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Rate a decentralized-AI stack layer by layer (after L2BEAT's risk rosette)."""
    from cairn.audit import FORMATS, audit, explain, load_stack_manifest, render
    from cairn.audit.render import table

    if show_explain:
        if as_json:
            raise AuditError("--explain prints text, not JSON: drop --json")
        _emit(explain(), out)
        return
    if as_json and fmt not in ("table", "json"):
        raise AuditError(f"--json and --format {fmt} disagree: give one of them")
    fmt = "json" if as_json else fmt
    if fmt not in FORMATS:
        raise AuditError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    is_live = live is not None or network is not None
    if manifest is not None and is_live:
        raise AuditError("give a stack manifest FILE.yaml or --live URL / --network NAME, not both")
    if chain is not None and not is_live:
        raise AuditError("--chain goes with --live URL or --network NAME")
    if is_live:
        report = _audit_live(ctx, live, network, chain)
    elif manifest is not None:
        report = audit(load_stack_manifest(manifest))
    else:
        raise AuditError("give a stack manifest FILE.yaml, --live URL, --network NAME or --explain")
    if fmt == "table" and out is None:
        console.print(table(report))
        return
    _emit(render(report, fmt), out)


def _audit_live(
    ctx: typer.Context, live: str | None, name: str | None, chain: str | None
) -> Report:
    from cairn.audit import audit_live

    data_dir = state(ctx).data_dir
    if name is None:
        return audit_live(live, chain=chain, data_dir=data_dir)
    from cairn.chain import load_network

    return audit_live(live, network=load_network(data_dir, name), chain=chain, data_dir=data_dir)


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_bytes(out, text.encode("utf-8"))
