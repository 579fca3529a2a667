"""``cairn zk setup|prove|verify``: the zk tier (EZKL) on the command line.

``setup MODEL`` compiles the model's circuit, makes its keys and stores the zk
artifact content-addressed in the data dir (a node serving that model then
proves its receipts in the background). ``prove RECEIPT_ID`` proves a receipt
of a node's; ``verify PROOF`` checks a proof against the receipt's input and
output as the node retained them. The SRS is generated locally with
``--dev-srs`` (development only: its maker can forge proofs); production passes
a ceremony SRS with ``--srs PATH`` (docs/verification.md, "zk tier").
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cairn.cli._common import console, state
from cairn.errors import ConfigError

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.receipts import Receipt
    from cairn.verification import RetainedIO

__all__ = ["register"]

zk_app = typer.Typer(help="zk proofs (EZKL) for small models.", no_args_is_help=True)
NodeOpt = Annotated[str, typer.Option("--node", help="The node's gateway URL.")]
AccessOpt = Annotated[
    str | None,
    typer.Option(
        "--access",
        envvar="CAIRN_ACCESS",
        help="The answer's Cairn-Access secret: the node hands retained I/O only to the "
        "request's client (and staked validators).",
    ),
]


def _index(ctx: typer.Context) -> Path:
    return state(ctx).data_dir.root / "zk" / "index.json"


@zk_app.command("setup")
def zk_setup(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A model CID in the blockstore, or a model folder.")],
    srs: Annotated[Path | None, typer.Option("--srs", help="A ceremony KZG SRS file.")] = None,
    dev_srs: Annotated[
        bool, typer.Option("--dev-srs", help="Generate a local SRS (tests and development only).")
    ] = False,
    scale: Annotated[int, typer.Option("--scale", help="Fixed-point scale, as log2.")] = 12,
) -> None:
    """Compile MODEL's circuit, make its keys, store the zk artifact; print its CID."""
    from cairn import content
    from cairn.inference import DIGITS_NAME, digits_samples, load_model
    from cairn.verification import zk

    if (srs is None) == (not dev_srs):
        raise ConfigError("pass exactly one of --srs PATH (production) and --dev-srs")
    dd = state(ctx).data_dir
    store = content.open_blockstore(dd)
    cid = str(content.add_path(Path(model), store)) if Path(model).is_dir() else model
    samples = (
        list(digits_samples()[0][:16]) if load_model(cid, store).spec.name == DIGITS_NAME else []
    )
    started = time.perf_counter()
    art = zk.setup(
        cid, store, srs=srs.read_bytes() if srs else None, scale=scale, calibration=samples
    )
    artifact_cid = art.store(store, dd.root / "zk" / "artifacts" / cid)
    zk.record_artifact(_index(ctx), cid, artifact_cid)
    console.print(
        f"model     {cid}\nartifact  {artifact_cid}\nvk sha256 {art.vk_sha256}\n"
        f"logrows   {art.manifest['logrows']} ({art.manifest['srs_kind']} SRS)\n"
        f"setup     {time.perf_counter() - started:.2f} s",
        soft_wrap=True,
        highlight=False,
    )


def _receipt_and_io(node: str, receipt_id: str, access: str | None) -> tuple[Receipt, RetainedIO]:
    from cairn.client import GatewayClient

    try:
        request_id = bytes.fromhex(receipt_id.removeprefix("0x"))
    except ValueError:
        raise ConfigError(f"{receipt_id!r} is not a receipt id (0x + 64 hex digits)") from None
    with GatewayClient(node) as gateway:
        receipt = gateway.receipt(request_id)
        return receipt, gateway.retained(receipt.request_id, access=access)


@zk_app.command("prove")
def zk_prove(
    ctx: typer.Context,
    receipt_id: Annotated[str, typer.Argument(help="The receipt's request id (0x…).")],
    node: NodeOpt = "http://127.0.0.1:8000",
    out: Annotated[Path | None, typer.Option("--out", help="Write the proof here.")] = None,
    access: AccessOpt = None,
) -> None:
    """Prove a node's receipt with the model's local zk artifact."""
    from cairn import content
    from cairn.receipts import wire
    from cairn.verification import zk
    from cairn.verification.zk.prover import ZkProver

    receipt, io = _receipt_and_io(node, receipt_id, access)
    known = json.loads(_index(ctx).read_bytes()) if _index(ctx).is_file() else {}
    if receipt.model not in known:
        raise ConfigError(f"no zk artifact for {receipt.model}: run cairn zk setup first")
    art = zk.load_artifact(known[receipt.model], content.open_blockstore(state(ctx).data_dir))
    started = time.perf_counter()
    call = wire.call_of_retained(io.input, "tensors")
    proof = ZkProver(art).prove(receipt, dict(call.tensors or {})).to_bytes()
    if out is None:
        typer.echo(proof.decode())
        return
    out.write_bytes(proof)
    console.print(f"proved in {time.perf_counter() - started:.2f} s → {out}", highlight=False)


@zk_app.command("verify")
def zk_verify(
    ctx: typer.Context,
    proof: Annotated[Path, typer.Argument(help="A cairn-zk-proof/v1 JSON file.")],
    node: NodeOpt = "http://127.0.0.1:8000",
    access: AccessOpt = None,
) -> None:
    """Verify a proof against the receipt it names (receipt and I/O fetched from --node)."""
    from cairn import content
    from cairn.client import GatewayNodeSource
    from cairn.verification import zk
    from cairn.verification.zk.verifier import ZkVerifier

    raw = proof.read_bytes()
    parsed = zk.ZkProof.from_bytes(raw)
    receipt, io = _receipt_and_io(node, "0x" + parsed.request_id.hex(), access)
    verifier = ZkVerifier(content.open_blockstore(state(ctx).data_dir))
    started = time.perf_counter()
    reason = verifier.verify(receipt, io, raw, GatewayNodeSource(node))
    console.print(
        f"ok: {reason} ({(time.perf_counter() - started) * 1000:.0f} ms with artifact checks)",
        soft_wrap=True,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(zk_app, name="zk")
