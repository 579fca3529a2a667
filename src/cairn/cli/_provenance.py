"""``cairn publish|verify|lineage``: signed manifests on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.tree import Tree

from cairn.cli._arweave import push
from cairn.cli._common import JsonOpt, console, resolve_address, state
from cairn.cli._identity import unlock_wallet
from cairn.errors import ConfigError, ManifestError, VerificationFailed

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.provenance import LineageNode

__all__ = ["register"]


_MARK = {
    "ok": "[green]✓[/]",
    "missing": "[red]✗ missing[/]",
    "unsigned": "[red]✗ unsigned[/]",
    "invalid": "[red]✗ invalid[/]",
    "cycle": "[red]✗ cycle[/]",
}


def publish(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File or directory to publish.", exists=True)],
    name: Annotated[str, typer.Option(help="Model or dataset name.")],
    version: Annotated[str, typer.Option(help="Version, e.g. 1.0.0.")],
    license: Annotated[str, typer.Option("--license", help="SPDX license id, e.g. Apache-2.0.")],
    base: Annotated[str | None, typer.Option(help="CID of the base model.")] = None,
    dataset: Annotated[list[str] | None, typer.Option(help="CID of a dataset (repeat).")] = None,
    config: Annotated[str | None, typer.Option(help="CID of the training config.")] = None,
    eval_: Annotated[
        list[str] | None, typer.Option("--eval", help="CID of an evaluation (repeat).")
    ] = None,
    contributor: Annotated[list[str] | None, typer.Option(help="A contributor (repeat).")] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="Output comparison: exact, tolerance:ATOL, ulp:N, topk:K, cosine:MIN "
            "or JSON. Default for models: exact."
        ),
    ] = None,
    kind: Annotated[str, typer.Option(help="model or dataset.")] = "model",
    profile: Annotated[
        str | None,
        typer.Option(help="Import profile: unixfs-v1-2025 (default) or unixfs-v0-2015."),
    ] = None,
    wallet: Annotated[str | None, typer.Option(help="Signing wallet (default wallet).")] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Also store it permanently: arweave://HOST[:PORT] (see docs/arweave.md).",
        ),
    ] = None,
    arweave_wallet: Annotated[
        Path | None,
        typer.Option(help="Arweave JWK that pays for --to (default: one in the data dir)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="Print only the manifest CID.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import PATH, sign a manifest for it with a wallet, store it; print the manifest CID."""
    if kind not in ("model", "dataset"):
        raise ManifestError(f"--kind must be model or dataset, got {kind!r}")
    from cairn import content

    if to is not None and not content.is_arweave_url(to):
        raise ConfigError(f"--to takes arweave://HOST[:PORT], not {to!r}")
    from cairn.inference.policies import Exact, parse_policy_text
    from cairn.provenance import Card, ManifestIndex
    from cairn.provenance import publish as publish_artifact

    profile = profile or content.DEFAULT_PROFILE
    content.get_profile(profile)

    chosen = parse_policy_text(policy) if policy else None
    if chosen is None and kind == "model":
        chosen = Exact()
    card = Card(
        kind,  # type: ignore[arg-type]
        name,
        version,
        license,
        base,
        tuple(dataset or ()),
        config,
        tuple(eval_ or ()),
        tuple(contributor or ()),
        chosen,
    )
    signer = unlock_wallet(ctx, wallet)
    data_dir = state(ctx).data_dir
    store = content.open_blockstore(data_dir)
    done = publish_artifact(path, card, signer, store, ManifestIndex.at(data_dir), profile=profile)
    stored: dict[str, str] = {}
    if to is not None:
        for artifact, tags in (
            (done.artifact_cid, {"Manifest-CID": str(done.manifest_cid)}),
            (done.manifest_cid, {"Artifact-CID": str(done.artifact_cid)}),
        ):
            sent = push(
                data_dir, to, artifact, store, signer, tags=tags, wallet_file=arweave_wallet
            )
            stored[str(artifact)] = sent.index_id
    if as_json:
        doc: dict[str, object] = {
            "artifact": str(done.artifact_cid),
            "manifest": str(done.manifest_cid),
        }
        if to is not None:
            doc["arweave"] = {"gateway": to, "index": stored}
        typer.echo(json.dumps({**doc, "signer": signer.address, "card": card.to_dict()}))
        return
    if quiet:
        typer.echo(str(done.manifest_cid))
        return
    console.print(
        f"artifact [bold]{done.artifact_cid}[/] {path.name}", highlight=False, soft_wrap=True
    )
    console.print(
        f"manifest [bold]{done.manifest_cid}[/] signed by {signer.address}",
        highlight=False,
        soft_wrap=True,
    )
    for stored_cid, index_id in stored.items():
        console.print(
            f"arweave  {stored_cid} index {index_id} on {to}", highlight=False, soft_wrap=True
        )


def verify(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID of an artifact or of its manifest.")],
    signer: Annotated[
        str | None, typer.Option(help="Require this signer: a 0x address or a wallet name.")
    ] = None,
    no_lineage: Annotated[
        bool, typer.Option("--no-lineage", help="Skip checking base models and datasets.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a manifest's signature, its artifact's bytes and its lineage."""
    from cairn import content
    from cairn.provenance import ManifestIndex
    from cairn.provenance import verify as verify_manifest

    data_dir = state(ctx).data_dir
    store = content.open_blockstore(data_dir)
    content.Cid.parse(cid)
    expected = resolve_address(ctx, signer) if signer is not None else None
    result = verify_manifest(
        cid,
        store,
        ManifestIndex.at(data_dir),
        expected_signer=expected,
        check_lineage=not no_lineage,
    )
    card = result.card
    if as_json:
        doc = {"verified": True, "manifest": result.manifest, "signer": result.signer}
        subjects = [
            {"cid": s.cid, "sha256": s.sha256, "filename": s.filename, "type": s.type}
            for s in result.subjects
        ]
        tree = None if result.lineage is None else result.lineage.to_dict()
        typer.echo(
            json.dumps({**doc, "subjects": subjects, "card": card.to_dict(), "lineage": tree})
        )
        return
    links = "" if result.lineage is None else f", lineage ok ({_count(result.lineage)} links)"
    console.print(
        f"[green]verified[/] {card.kind} {card.name}@{card.version} ({card.license}) "
        f"manifest {result.manifest} signed by {result.signer}{links}",
        highlight=False,
        soft_wrap=True,
    )


def _count(node: LineageNode) -> int:
    return 1 + sum(_count(p) for p in node.parents)


def _label(node: LineageNode) -> str:
    title = f"{node.name}@{node.version}" if node.name else "(unknown)"
    text = f"{_MARK[node.status]} {node.role} [bold]{title}[/] {node.cid}"
    if node.signer:
        text += f" [dim]signed by {node.signer}[/]"
    if node.problem:
        text += f" [red]— {node.problem}[/]"
    return text


def _tree(node: LineageNode, tree: Tree | None = None) -> Tree:
    branch = Tree(_label(node)) if tree is None else tree.add(_label(node))
    for parent in node.parents:
        _tree(parent, branch)
    return branch


def lineage(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID of an artifact or of its manifest.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the tree as one JSON object.")
    ] = False,
) -> None:
    """Show what an artifact was made from, back to its roots; exit 1 if a link is bad."""
    from cairn import content
    from cairn.provenance import ManifestIndex
    from cairn.provenance import lineage as build_lineage

    data_dir = state(ctx).data_dir
    content.Cid.parse(cid)
    tree = build_lineage(cid, content.open_blockstore(data_dir), ManifestIndex.at(data_dir))
    if as_json:
        typer.echo(json.dumps(tree.to_dict(), indent=2))
    else:
        console.print(_tree(tree), highlight=False)
    problems = tree.problems()
    if problems:
        raise VerificationFailed(f"{len(problems)} bad link(s) in the lineage: {problems[0]}")


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
    app.command("verify")(verify)
    app.command("lineage")(lineage)
