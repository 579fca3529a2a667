"""``cairn zk setup|prove|verify``: the zk tier (EZKL) on the command line.

``setup MODEL`` compiles the model's circuit, makes its keys and stores the zk
artifact content-addressed in the data dir (a node serving that model then
proves its receipts in the background). MODEL is what ``cairn up --model``
takes: a bundled model's name (the name ``cairn infer`` calls it by), a CID in
the blockstore, or a model folder. ``prove RECEIPT_ID`` proves a receipt of a
node's; ``verify PROOF`` checks a proof against the receipt's input and output
as the node retained them; both ask the gateway at ``--gateway`` (default
``$CAIRN_GATEWAY``, else http://127.0.0.1:8000). The SRS is generated locally
with ``--dev-srs`` (development only: its maker can forge proofs); production
passes a ceremony SRS with ``--srs PATH`` (docs/verification.md, "zk tier").
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli._common import GatewayOpt, JsonOpt, console, gateway_url, state
from cairn.errors import ConfigError, ContentValueError

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.config import DataDir
    from cairn.content import Blockstore
    from cairn.receipts import Receipt
    from cairn.verification import RetainedIO

__all__ = ["register"]


zk_app = typer.Typer(help="zk proofs (EZKL) for small models.", no_args_is_help=True)
# The option's old name, still accepted so that existing scripts keep working.
NodeOpt = Annotated[str | None, typer.Option("--node", hidden=True)]
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


def _gateway(option: str | None, old: str | None) -> str:
    # --gateway may come from $CAIRN_GATEWAY (typer reads it); --node is only ever typed
    return gateway_url(old or option)


def _model_cid(ref: str, dd: DataDir, store: Blockstore) -> str:
    """The CID of the model ``ref`` names, imported first if it is a name or a folder.

    Resolved in the order a node resolves ``cairn up --model`` (cairn.node.models):
    a bundled model's name, a CID, a model folder.
    """
    from cairn import content
    from cairn import inference as inf

    bundled = (inf.MINILM_NAME, inf.MINILM_INT8_NAME, inf.DIGITS_NAME)
    if ref == inf.DIGITS_NAME:
        folder = inf.digits_folder()
    elif ref in (inf.MINILM_NAME, inf.MINILM_INT8_NAME):
        folder = inf.build_minilm(dd.models / inf.MINILM_NAME)
        if ref == inf.MINILM_INT8_NAME:
            folder = inf.build_minilm_int8(dd.models / inf.MINILM_INT8_NAME, folder)
    else:
        try:
            content.Cid.parse(ref)
            return ref
        except ContentValueError:
            folder = Path(ref).expanduser()
        if not folder.is_dir():
            raise ConfigError(
                f"model {ref!r} is not a bundled model ({', '.join(bundled)}), "
                "a CID or a model folder"
            )
    return str(content.add_path(folder, store))


@zk_app.command("setup")
def zk_setup(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            help="A bundled model's name (e.g. digits-logreg), a model CID in the "
            "blockstore, or a model folder."
        ),
    ],
    srs: Annotated[
        Path | None,
        typer.Option("--srs", help="A ceremony KZG SRS file.", exists=True, dir_okay=False),
    ] = None,
    dev_srs: Annotated[
        bool, typer.Option("--dev-srs", help="Generate a local SRS (tests and development only).")
    ] = False,
    scale: Annotated[int, typer.Option("--scale", help="Fixed-point scale, as log2.")] = 12,
    as_json: JsonOpt = False,
) -> None:
    """Compile MODEL's circuit, make its keys, store the zk artifact; print its CID."""
    from cairn import content
    from cairn.inference import DIGITS_NAME, digits_samples, load_model
    from cairn.verification import zk

    if (srs is None) == (not dev_srs):
        raise ConfigError("pass exactly one of --srs PATH (production) and --dev-srs")
    dd = state(ctx).data_dir
    store = content.open_blockstore(dd)
    cid = _model_cid(model, dd, store)
    samples = (
        list(digits_samples()[0][:16]) if load_model(cid, store).spec.name == DIGITS_NAME else []
    )
    started = time.perf_counter()
    art = zk.setup(
        cid, store, srs=srs.read_bytes() if srs else None, scale=scale, calibration=samples
    )
    artifact_cid = art.store(store, dd.root / "zk" / "artifacts" / cid)
    zk.record_artifact(_index(ctx), cid, artifact_cid)
    seconds = time.perf_counter() - started
    if as_json:
        doc = {"model": cid, "artifact": artifact_cid, "vk_sha256": art.vk_sha256}
        more = {"logrows": art.manifest["logrows"], "srs_kind": art.manifest["srs_kind"]}
        typer.echo(json.dumps({**doc, **more, "seconds": round(seconds, 3)}))
        return
    console.print(
        f"model     {cid}\nartifact  {artifact_cid}\nvk sha256 {art.vk_sha256}\n"
        f"logrows   {art.manifest['logrows']} ({art.manifest['srs_kind']} SRS)\n"
        f"setup     {seconds:.2f} s",
        soft_wrap=True,
        highlight=False,
    )


def _receipt_and_io(url: str, receipt_id: str, access: str | None) -> tuple[Receipt, RetainedIO]:
    from cairn.client import GatewayClient

    try:
        request_id = bytes.fromhex(receipt_id.removeprefix("0x"))
    except ValueError:
        request_id = b""
    if len(request_id) != 32:
        raise ConfigError(f"{receipt_id!r} is not a receipt id (0x + 64 hex digits)")
    with GatewayClient(url) as gateway:
        receipt = gateway.receipt(request_id)
        return receipt, gateway.retained(receipt.request_id, access=access)


@zk_app.command("prove")
def zk_prove(
    ctx: typer.Context,
    receipt_id: Annotated[str, typer.Argument(help="The receipt's request id (0x…).")],
    gateway: GatewayOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the proof here.")] = None,
    access: AccessOpt = None,
    as_json: JsonOpt = False,
    node: NodeOpt = None,
) -> None:
    """Prove a node's receipt with the model's local zk artifact; print the proof."""
    from cairn import content
    from cairn.receipts import wire
    from cairn.verification import zk
    from cairn.verification.zk.prover import ZkProver

    receipt, io = _receipt_and_io(_gateway(gateway, node), receipt_id, access)
    known = json.loads(_index(ctx).read_bytes()) if _index(ctx).is_file() else {}
    if receipt.model not in known:
        raise ConfigError(f"no zk artifact for {receipt.model}: run cairn zk setup first")
    art = zk.load_artifact(known[receipt.model], content.open_blockstore(state(ctx).data_dir))
    started = time.perf_counter()
    call = wire.call_of_retained(io.input, "tensors")
    proof = ZkProver(art).prove(receipt, dict(call.tensors or {})).to_bytes()
    seconds = time.perf_counter() - started
    if out is not None:
        out.write_bytes(proof)
    if as_json:
        doc: dict[str, Any] = {
            "request_id": "0x" + receipt.request_id.hex(),
            "model": receipt.model,
            "artifact": known[receipt.model],
            "seconds": round(seconds, 3),
        }
        doc |= {"out": str(out)} if out is not None else {"proof": json.loads(proof)}
        typer.echo(json.dumps(doc))
    elif out is None:
        typer.echo(proof.decode())
    else:
        console.print(f"proved in {seconds:.2f} s → {out}", highlight=False, soft_wrap=True)


@zk_app.command("verify")
def zk_verify(
    ctx: typer.Context,
    proof: Annotated[
        Path,
        typer.Argument(help="A cairn-zk-proof/v1 JSON file.", exists=True, dir_okay=False),
    ],
    gateway: GatewayOpt = None,
    access: AccessOpt = None,
    as_json: JsonOpt = False,
    node: NodeOpt = None,
) -> None:
    """Verify a proof against the receipt it names (receipt and I/O fetched from --gateway)."""
    from cairn import content
    from cairn.client import GatewayNodeSource
    from cairn.verification import zk
    from cairn.verification.zk.verifier import ZkVerifier

    url = _gateway(gateway, node)
    raw = proof.read_bytes()
    parsed = zk.ZkProof.from_bytes(raw)
    receipt, io = _receipt_and_io(url, "0x" + parsed.request_id.hex(), access)
    verifier = ZkVerifier(content.open_blockstore(state(ctx).data_dir))
    started = time.perf_counter()
    reason = verifier.verify(receipt, io, raw, GatewayNodeSource(url))
    ms = (time.perf_counter() - started) * 1000
    if as_json:
        doc = {"ok": True, "reason": reason, "request_id": "0x" + receipt.request_id.hex()}
        typer.echo(json.dumps({**doc, "model": receipt.model, "ms": round(ms, 1)}))
        return
    console.print(
        f"ok: {reason} ({ms:.0f} ms with artifact checks)", soft_wrap=True, highlight=False
    )


def register(app: typer.Typer) -> None:
    app.add_typer(zk_app, name="zk")
