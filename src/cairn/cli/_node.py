"""``cairn up``, ``cairn embed``, ``cairn infer``, ``cairn receipt verify``: serving and checking.

``up`` runs the network in a box. The client commands talk to a gateway
(``--gateway``, default ``$CAIRN_GATEWAY`` else http://127.0.0.1:8000) and check
every receipt they get: offline always (the contract could judge it, signature,
input and output hashes, the model asked for), online with ``--online``
(inclusion in the anchored root, node staked) against the *pinned* network —
``--network NAME`` (a profile, see ``cairn network``), else the data dir's own
deployment on the chain behind ``--chain`` — never the addresses the receipt
names. The model is checked against the pinned network's ModelRegistry when
online, else against the gateway's own ``/v1/models`` (and the output says so).
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
    from cairn.chain import Network, OnchainView
    from cairn.client import GatewayClient
    from cairn.config import DataDir
    from cairn.receipts import Receipt

__all__ = ["register"]

receipt_app = typer.Typer(help="Check receipts saved from a gateway.")
GatewayOpt = Annotated[
    str | None, typer.Option("--gateway", help="Gateway URL (default $CAIRN_GATEWAY or :8000).")
]
NetworkOpt = Annotated[
    str | None,
    typer.Option(
        "--network",
        help="Pinned network profile for --online (default: this data dir's deployment "
        "on the chain behind --chain).",
    ),
]


def _gateway(url: str | None) -> str:
    return (url or os.environ.get("CAIRN_GATEWAY") or "http://127.0.0.1:8000").rstrip("/")


def _check(
    ctx: typer.Context,
    response: dict[str, Any],
    request: dict[str, Any] | None,
    *,
    model: str | None,
    online: bool = False,
    network: str | None = None,
    chain: str | None = None,
    gateway: str | None = None,
    wait_s: float = 0.0,
    ask_gateway: bool = True,
) -> tuple[Receipt, str]:
    """Verify a response's receipt offline (and onchain with ``online``) against the pinned
    network and the model asked for; return it and how the model was checked, or raise
    :class:`ReceiptInvalid` with the reason."""
    from cairn.client import GatewayClient, verify_answer

    url = _gateway(gateway)
    dd = state(ctx).data_dir
    pinned = _pinned(dd, network, chain or f"{url}/v1/chain/rpc") if online or network else None
    view = _view(pinned, dd) if online and pinned is not None else None
    with GatewayClient(url) as client:
        expected, how = _expected_model(model, view, client if ask_gateway else None)
        receipt = verify_answer(
            response,
            request,
            domain=pinned.domain if pinned is not None else None,
            expected_model=expected,
        )
        if view is not None:
            client.verify_online(receipt, view.checks(receipt), wait_s=wait_s)
    return receipt, how


def _pinned(dd: DataDir, name: str | None, rpc: str) -> Network:
    """The network this client trusts: a named profile, else the data dir's deployment."""
    from cairn.chain import connect, default_network, load_network

    if name is not None:
        return load_network(dd, name)
    return default_network(dd, connect(rpc, dd))


def _view(network: Network, dd: DataDir) -> OnchainView:
    from cairn.chain import OnchainView

    return OnchainView(network, dd)


def _expected_model(
    model: str | None, view: OnchainView | None, client: GatewayClient | None
) -> tuple[str | None, str]:
    """The CID the receipt must name, and where it came from (said to the user)."""
    from cairn.content import Cid
    from cairn.errors import CairnError

    if model is None:
        return None, "model not checked (pass --model)"
    try:
        return str(Cid.parse(model)), "the CID asked for"
    except CairnError:
        pass
    if view is not None:
        return view.current_model(model), f"the pinned registry's current {model!r}"
    if client is None:
        return None, f"{model!r} not checked (a name needs --online or --gateway)"
    return client.model_cid(model), f"{model!r} per the gateway's /v1/models (not the registry)"


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


def _call(
    ctx: typer.Context,
    url: str,
    path: str,
    request: dict[str, Any],
    model: str,
    online: bool,
    network: str | None,
    chain: str | None,
    wait: float,
) -> tuple[dict[str, Any], Receipt, str]:
    """Send ``request`` and check the receipt of the answer (what ``embed`` and ``infer`` do)."""
    response = _send(url, path, request)
    receipt, how = _check(
        ctx,
        response,
        request,
        model=model,
        online=online,
        network=network,
        chain=chain,
        gateway=url,
        wait_s=wait,
    )
    return response, receipt, how


def embed(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="Texts to embed.")],
    gateway: GatewayOpt = None,
    model: Annotated[str, typer.Option(help="Model name or CID.")] = "all-MiniLM-L6-v2",
    online: Annotated[bool, typer.Option(help="Also check the anchored root onchain.")] = False,
    network: NetworkOpt = None,
    chain: Annotated[str | None, typer.Option(help="Chain RPC for --online.")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the anchor.")] = 30.0,
    output: Annotated[Path | None, typer.Option("-o", help="Save the response JSON.")] = None,
) -> None:
    """Embed texts through a gateway and verify the receipt of the answer."""
    url = _gateway(gateway)
    request = {"model": model, "input": texts}
    response, receipt, how = _call(
        ctx, url, "/v1/embeddings", request, model, online, network, chain, wait
    )
    if output:
        output.write_text(json.dumps(response))
    for item in response["data"]:
        vec = item["embedding"]
        console.print(
            f"[{item['index']}] dim={len(vec)} [{', '.join(f'{v:.4f}' for v in vec[:4])}, …]"
        )
    _say_verified(receipt, online, how)


def infer(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name or CID.")],
    input_file: Annotated[
        Path, typer.Argument(help='JSON: {"inputs": {...tensors...}}', exists=True)
    ],
    gateway: GatewayOpt = None,
    online: Annotated[bool, typer.Option(help="Also check the anchored root onchain.")] = False,
    network: NetworkOpt = None,
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
    response, receipt, how = _call(
        ctx, url, f"/v1/infer/{model}", request, model, online, network, chain, wait
    )
    console.print_json(data=response["outputs"])
    _say_verified(receipt, online, how)


def _say_verified(receipt: Receipt, online: bool, how: str) -> None:
    where = "offline and onchain" if online else "offline"
    err_console.print(
        f"receipt 0x{receipt.request_id.hex()[:16]}… signed by {receipt.node}: "
        f"[green]verified {where}[/]; model {receipt.model}: {how}",
        soft_wrap=True,
    )


@receipt_app.command("verify")
def receipt_verify(
    ctx: typer.Context,
    response_file: Annotated[Path, typer.Argument(help="A saved gateway response.", exists=True)],
    input_file: Annotated[Path | None, typer.Option("--input", help="The request sent.")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="The model asked for (name or CID; default: the request's model)."),
    ] = None,
    online: Annotated[bool, typer.Option(help="Check the inclusion proof onchain.")] = False,
    network: NetworkOpt = None,
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
    asked = model or (str(request["model"]) if request and "model" in request else None)
    receipt, how = _check(
        ctx,
        response,
        request,
        model=asked,
        online=online,
        network=network,
        chain=chain,
        gateway=gateway,
        ask_gateway=gateway is not None,  # a saved answer verifies offline without a node
    )
    _say_verified(receipt, online, how)


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
        profile = _pin_own_network(node.data_dir, node.chain, settings.chain, url)
        console.print(f"[bold green]cairn is up[/] node {node.signer.address} on {settings.chain}")
        console.print(f"  network   {profile}   (pinned for `--online`)")
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


def _pin_own_network(dd: DataDir, chain: Any, chain_url: str, gateway: str) -> str:
    """Write the profile of the network ``cairn up`` runs (clients of this data dir pin it)."""
    from cairn.chain import EMBEDDED, Network, save_network

    embedded = chain_url.startswith("embedded:")
    name = "local" if embedded else f"chain-{chain.chain_id}"
    rpc = f"{gateway}/v1/chain/rpc" if embedded or chain_url == EMBEDDED else chain_url
    save_network(dd, Network.from_deployment(name, chain.deployment, rpc))
    return name


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(embed)
    app.command()(infer)
    app.add_typer(receipt_app, name="receipt")
