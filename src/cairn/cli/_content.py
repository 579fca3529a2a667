"""``cairn add|cat|get|car|fetch``: the content layer on the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cairn.cli._common import console, progress_bytes, state
from cairn.errors import ContentValueError

__all__ = ["register"]

_BAR_MIN_BYTES = 16 << 20

car_app = typer.Typer(help="Export and import CAR v1 archives (the interchange with Kubo).")


def _size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def add(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File or directory to import.", exists=True)],
    profile: Annotated[
        str | None,
        typer.Option(help="Import profile: unixfs-v1-2025 (default) or unixfs-v0-2015."),
    ] = None,
    only_hash: Annotated[
        bool, typer.Option("--only-hash", help="Compute the CID; store nothing.")
    ] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only the root CID.")] = False,
    workers: Annotated[
        int, typer.Option(help="Threads hashing leaves (0 = one per core).", min=0)
    ] = 0,
) -> None:
    """Import a file or folder as UnixFS; print its root CID (identical to Kubo's)."""
    from cairn import content

    profile = profile or content.DEFAULT_PROFILE
    content.get_profile(profile)
    store = content.NullBlockstore() if only_hash else content.open_blockstore(state(ctx).data_dir)
    total = _size_of(path)
    threads = workers or os.cpu_count() or 1
    with progress_bytes(f"adding {path.name}", total, not quiet and total >= _BAR_MIN_BYTES) as bar:
        task = bar.task_ids[0]
        cid = content.add_path(
            path, store, profile, workers=threads, progress=lambda n: bar.advance(task, n)
        )
    if quiet:
        typer.echo(str(cid))
    else:
        console.print(f"added [bold]{cid}[/] {path.name} ({total} bytes, {profile})")


def cat(ctx: typer.Context, cid: Annotated[str, typer.Argument(help="CID of a file.")]) -> None:
    """Write a file's bytes to stdout (every block verified)."""
    from cairn import content

    store = content.open_blockstore(state(ctx).data_dir)
    out = sys.stdout.buffer
    for piece in content.iter_file(content.Cid.parse(cid), store):
        out.write(piece)
    out.flush()


def get(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID of a file or directory.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write it.")],
) -> None:
    """Write a file or directory tree out of the blockstore."""
    from cairn import content

    store = content.open_blockstore(state(ctx).data_dir)
    content.write_to(content.Cid.parse(cid), store, output)
    console.print(f"wrote {cid} to {output}")


@car_app.command("export")
def car_export(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="Root CID to export.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .car file to write.")],
) -> None:
    """Export a DAG as a CAR v1 (depth-first, no duplicate blocks)."""
    from cairn import content

    store = content.open_blockstore(state(ctx).data_dir)
    count = content.export_car(content.Cid.parse(cid), store, output)
    console.print(f"exported {count} blocks of {cid} to {output}")


@car_app.command("import")
def car_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A CAR v1 (or v2) file.", exists=True)],
) -> None:
    """Import a CAR; every block verified, nothing stored unless all of it is good."""
    from cairn import content

    store = content.open_blockstore(state(ctx).data_dir)
    header = content.import_car(path, store)
    for root in header.roots:
        typer.echo(str(root))


def fetch(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID to fetch.")],
    gateway: Annotated[str, typer.Option(help="Trustless gateway URL, e.g. http://host:8080.")],
    raw: Annotated[bool, typer.Option("--raw", help="Block by block instead of one CAR.")] = False,
) -> None:
    """Fetch a DAG from any trustless HTTP gateway, verifying every block."""
    from cairn import content

    if not gateway.startswith(("http://", "https://")):
        raise ContentValueError(f"gateway must be an http(s) URL, not {gateway!r}")
    store = content.open_blockstore(state(ctx).data_dir)
    count = content.fetch(content.Cid.parse(cid), gateway, store, car=not raw)
    console.print(f"fetched {count} verified blocks of {cid}")


def register(app: typer.Typer) -> None:
    app.command()(add)
    app.command()(cat)
    app.command()(get)
    app.command()(fetch)
    app.add_typer(car_app, name="car")
