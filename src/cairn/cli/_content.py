"""``cairn add|cat|get|car|fetch``: the content layer on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cairn.cli import _fast
from cairn.cli._common import GATEWAY_ENV, JsonOpt, console, gateway_url, state
from cairn.errors import ConfigError

__all__ = ["register"]

car_app = typer.Typer(
    help="Export and import CAR v1 archives (the interchange with Kubo).", no_args_is_help=True
)


def _echo_json(doc: dict[str, Any]) -> None:
    typer.echo(json.dumps(doc))


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
    as_json: JsonOpt = False,
) -> None:
    """Import a file or folder as UnixFS; print its root CID (identical to Kubo's)."""
    _fast.add(
        state(ctx).data_dir,
        path,
        profile=profile,
        only_hash=only_hash,
        quiet=quiet,
        workers=workers,
        as_json=as_json,
    )


def cat(ctx: typer.Context, cid: Annotated[str, typer.Argument(help="CID of a file.")]) -> None:
    """Write a file's bytes to stdout (every block verified)."""
    _fast.cat(state(ctx).data_dir, cid)


def get(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID of a file or directory.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write it (must not exist).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Write a file or directory tree out of the blockstore."""
    from cairn import content

    store = content.open_blockstore(state(ctx).data_dir)
    content.write_to(content.Cid.parse(cid), store, output)
    if as_json:
        _echo_json({"cid": cid, "output": str(output)})
    else:
        console.print(f"wrote {cid} to {output}", highlight=False, soft_wrap=True)


@car_app.command("export")
def car_export(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="Root CID to export.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .car file to write.")],
    as_json: JsonOpt = False,
) -> None:
    """Export a DAG as a CAR v1 (depth-first, no duplicate blocks)."""
    from cairn import content

    store = content.open_blockstore(state(ctx).data_dir)
    count = content.export_car(content.Cid.parse(cid), store, output)
    if as_json:
        _echo_json({"root": cid, "blocks": count, "output": str(output)})
    else:
        console.print(
            f"exported {count} blocks of {cid} to {output}", highlight=False, soft_wrap=True
        )


@car_app.command("import")
def car_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A CAR v1 (or v2) file.", exists=True)],
    as_json: JsonOpt = False,
) -> None:
    """Import a CAR; every block verified, nothing stored unless all of it is good.

    Prints the CAR's root CIDs, one a line.
    """
    from cairn import content

    store = content.open_blockstore(state(ctx).data_dir)
    header = content.import_car(path, store)
    if as_json:
        _echo_json({"roots": [str(r) for r in header.roots], "version": header.version})
        return
    for root in header.roots:
        typer.echo(str(root))


def _gateway_url(option: str | None) -> str:
    return gateway_url(option, default=None)  # fetch has no default gateway


def fetch(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID to fetch.")],
    gateway: Annotated[
        str | None,
        typer.Option(envvar=GATEWAY_ENV, help="Trustless gateway URL, e.g. http://host:8080."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Permanent storage: arweave://HOST[:PORT] (docs/arweave.md)."),
    ] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Block by block instead of one CAR.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fetch a DAG from any trustless HTTP gateway or from Arweave, verifying every block."""
    from cairn import content

    if from_ is not None:
        _fetch_arweave(ctx, cid, from_, as_json)
        return
    url = _gateway_url(gateway)
    root = content.Cid.parse(cid)
    store = content.open_blockstore(state(ctx).data_dir)
    count = content.fetch(root, url, store, car=not raw)
    if as_json:
        _echo_json({"cid": cid, "blocks": count, "gateway": url})
    else:
        console.print(f"fetched {count} verified blocks of {cid}", highlight=False, soft_wrap=True)


def _fetch_arweave(ctx: typer.Context, cid: str, url: str, as_json: bool) -> None:
    from cairn import content
    from cairn.cli._arweave import pull

    if not content.is_arweave_url(url):
        raise ConfigError(f"--from takes arweave://HOST[:PORT], not {url!r}")
    data_dir = state(ctx).data_dir
    root = content.Cid.parse(cid)
    got = pull(data_dir, url, root, content.open_blockstore(data_dir), show_progress=not as_json)
    if as_json:
        doc = {"cid": cid, "blocks": got.blocks, "bytes": got.size, "from": url}
        _echo_json({**doc, "index": got.index_id, "signer": got.signer, "tags": got.tags})
        return
    console.print(
        f"fetched {got.blocks} verified blocks of {cid} from Arweave "
        f"(index {got.index_id}, signed by {got.signer})",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command()(add)
    app.command()(cat)
    app.command()(get)
    app.command()(fetch)
    app.add_typer(car_app, name="car")
