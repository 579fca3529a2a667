"""``cairn up``, ``cairn embed``, ``cairn infer``, ``cairn receipt verify``: serving and checking.

``up`` runs the network in a box. The client commands talk to a gateway
(``--gateway``, default ``$CAIRN_GATEWAY`` else http://127.0.0.1:8000) and check
every receipt they get: offline always (signature, input and output hashes),
online with ``--online`` (inclusion in the anchored root, node staked).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli._common import console, err_console, state
from cairn.errors import ConfigError, ReceiptInvalid

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.receipts import Receipt

__all__ = ["register"]

receipt_app = typer.Typer(help="Check receipts saved from a gateway.")
GatewayOpt = Annotated[
    str | None, typer.Option("--gateway", help="Gateway URL (default $CAIRN_GATEWAY or :8000).")
]


def _gateway(url: str | None) -> str:
    return (url or os.environ.get("CAIRN_GATEWAY") or "http://127.0.0.1:8000").rstrip("/")


def _check(
    response: dict[str, Any],
    request: dict[str, Any] | None,
    online: str | None = None,
    gateway: str | None = None,
    wait_s: float = 0.0,
) -> Receipt:
    """Verify a gateway response's receipt offline and, with ``online`` (an RPC URL), its
    inclusion in the root anchored onchain; raise :class:`ReceiptInvalid` with the reason."""
    from cairn.client import GatewayClient, verify_answer

    receipt = verify_answer(response, request)
    if online is not None:
        with GatewayClient(_gateway(gateway)) as client:
            client.verify_online(receipt, online, wait_s=wait_s)
    return receipt


def _passphrase() -> str:
    """The node wallet's passphrase: ``$CAIRN_PASSPHRASE``, else a hidden prompt in a terminal."""
    found = os.environ.get("CAIRN_PASSPHRASE")
    if found is not None:
        return found
    if sys.stdin is None or not sys.stdin.isatty():  # a service, a pipe, CI: nobody to ask
        raise ConfigError(
            "no passphrase for the node wallet: set CAIRN_PASSPHRASE "
            "(or run cairn up in a terminal)"
        )
    return str(typer.prompt("passphrase for the node wallet", hide_input=True))


def _send(url: str, path: str, request: dict[str, Any]) -> dict[str, Any]:
    from cairn.client import GatewayClient

    with GatewayClient(url) as client:
        return dict(client.send(path, request).body)


def _chain_for_online(gateway: str, chain: str | None) -> str:
    return chain or f"{gateway}/v1/chain/rpc"


def embed(
    texts: Annotated[list[str], typer.Argument(help="Texts to embed.")],
    gateway: GatewayOpt = None,
    model: Annotated[str, typer.Option(help="Model name.")] = "all-MiniLM-L6-v2",
    online: Annotated[bool, typer.Option(help="Also check the anchored root onchain.")] = False,
    chain: Annotated[str | None, typer.Option(help="Chain RPC for --online.")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the anchor.")] = 30.0,
    output: Annotated[Path | None, typer.Option("-o", help="Save the response JSON.")] = None,
) -> None:
    """Embed texts through a gateway and verify the receipt of the answer."""
    url = _gateway(gateway)
    request = {"model": model, "input": texts}
    response = _send(url, "/v1/embeddings", request)
    receipt = _check(
        response, request, _chain_for_online(url, chain) if online else None, url, wait
    )
    if output:
        output.write_text(json.dumps(response))
    for item in response["data"]:
        vec = item["embedding"]
        console.print(
            f"[{item['index']}] dim={len(vec)} [{', '.join(f'{v:.4f}' for v in vec[:4])}, …]"
        )
    _say_verified(receipt, online)


def infer(
    model: Annotated[str, typer.Argument(help="Model name or CID.")],
    input_file: Annotated[
        Path, typer.Argument(help='JSON: {"inputs": {...tensors...}}', exists=True)
    ],
    gateway: GatewayOpt = None,
    online: Annotated[bool, typer.Option(help="Also check the anchored root onchain.")] = False,
    chain: Annotated[str | None, typer.Option(help="Chain RPC for --online.")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the anchor.")] = 30.0,
) -> None:
    """Run a model on tensors through a gateway and verify the receipt."""
    url = _gateway(gateway)
    try:
        request = json.loads(input_file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{input_file} is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise ConfigError(f'{input_file} must hold a JSON object: {{"inputs": {{...}}}}')
    response = _send(url, f"/v1/infer/{model}", request)
    receipt = _check(
        response, request, _chain_for_online(url, chain) if online else None, url, wait
    )
    console.print_json(data=response["outputs"])
    _say_verified(receipt, online)


def _say_verified(receipt: Receipt, online: bool) -> None:
    where = "offline and onchain" if online else "offline"
    err_console.print(
        f"receipt 0x{receipt.request_id.hex()[:16]}… signed by {receipt.node}: "
        f"[green]verified {where}[/]"
    )


@receipt_app.command("verify")
def receipt_verify(
    response_file: Annotated[Path, typer.Argument(help="A saved gateway response.", exists=True)],
    input_file: Annotated[Path | None, typer.Option("--input", help="The request sent.")] = None,
    online: Annotated[bool, typer.Option(help="Check the inclusion proof onchain.")] = False,
    gateway: GatewayOpt = None,
    chain: Annotated[str | None, typer.Option(help="Chain RPC for --online.")] = None,
) -> None:
    """Verify a saved response: exit 0 if its receipt verifies, else 1 with the reason."""
    try:
        response = json.loads(response_file.read_text())
        request = json.loads(input_file.read_text()) if input_file else None
    except json.JSONDecodeError as exc:
        raise ReceiptInvalid(f"not JSON: {exc}") from None
    if not isinstance(response, dict) or not (request is None or isinstance(request, dict)):
        raise ReceiptInvalid("response and request must be JSON objects")
    url = _gateway(gateway)
    receipt = _check(response, request, _chain_for_online(url, chain) if online else None, url)
    _say_verified(receipt, online)


def up(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="Gateway port. (env CAIRN_PORT; default 8000)")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on. (env CAIRN_HOST; default 127.0.0.1)")
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option(help="embedded:// or an RPC URL. (env CAIRN_CHAIN; default embedded://)"),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="A model to serve (repeat): a model folder, a CID in the blockstore, or a "
            "bundled model's name. (env CAIRN_MODELS, comma-separated; default "
            "all-MiniLM-L6-v2 and digits-logreg)",
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help="Anchor every N receipts... (env CAIRN_BATCH_SIZE; default 100)"),
    ] = None,
    batch_seconds: Annotated[
        float | None,
        typer.Option(help="...or every T seconds. (env CAIRN_BATCH_SECONDS; default 5)"),
    ] = None,
) -> None:
    """Run the network in a box: chain, contracts, models published and staked, gateway.

    Every setting is also read from CAIRN_<NAME> (see cairn.node.NodeSettings); a flag wins.
    """
    from cairn.node import NodeSettings, bootstrap, from_flags, serve

    settings = from_flags(
        NodeSettings,
        data_dir=state(ctx).data_dir.root,  # --data-dir, else CAIRN_DATA_DIR, else ~/.cairn
        port=port,
        host=host,
        chain=chain,
        models=tuple(model) if model else None,
        batch_size=batch_size,
        batch_seconds=batch_seconds,
    )
    passphrase = _passphrase()
    with err_console.status("starting cairn") as status:
        node = bootstrap(settings, passphrase, lambda msg: status.update(msg))

    def ready(url: str) -> None:
        console.print(f"[bold green]cairn is up[/] node {node.signer.address} on {settings.chain}")
        console.print(f"  gateway   {url}   (OpenAPI: {url}/docs)")
        console.print(f"  models    {', '.join(f'{m.name} {m.cid}' for m in node.models.values())}")
        text = next((m.name for m in node.models.values() if m.embedder is not None), None)
        if text is not None:
            console.print(
                f"  try       curl -s {url}/v1/embeddings -H 'content-type: application/json' "
                f'-d \'{{"model": "{text}", "input": "hello"}}\''
            )
            console.print(f"  or        cairn embed --gateway {url} --model {text} hello")
        console.print("Ctrl-C stops it; state is kept in " + str(settings.data_dir))

    serve(node, ready)
    console.print("cairn stopped cleanly")


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(embed)
    app.command()(infer)
    app.add_typer(receipt_app, name="receipt")
