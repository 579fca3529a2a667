"""``cairn audit``: rate a stack manifest or a running cairn network.

cairn audit examples/stacks/cairn-embedded.yaml
cairn audit stack.yaml --format html -o report.html
cairn audit --live http://127.0.0.1:8000 --json
cairn audit --explain
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cairn._atomic import atomic_write_bytes
from cairn.cli._common import console
from cairn.errors import AuditError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command to ``app``."""
    app.command("audit")(audit_command)


def audit_command(
    manifest: Annotated[
        Path | None, typer.Argument(help="A stack manifest (YAML).", show_default=False)
    ] = None,
    live: Annotated[
        str | None,
        typer.Option("--live", help="Audit a running network: its gateway URL (or file://JSON)."),
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
    from cairn.audit import FORMATS, audit, audit_live, explain, load_stack_manifest, render
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
    if manifest is not None and live is not None:
        raise AuditError("give a stack manifest FILE.yaml or --live URL, not both")
    if live is not None:
        report = audit_live(live)
    elif manifest is not None:
        report = audit(load_stack_manifest(manifest))
    else:
        raise AuditError("give a stack manifest FILE.yaml, --live URL, or --explain")
    if fmt == "table" and out is None:
        console.print(table(report))
        return
    _emit(render(report, fmt), out)


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_bytes(out, text.encode("utf-8"))
