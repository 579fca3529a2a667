"""``cairn up``, ``cairn embed``, ``cairn infer``, ``cairn receipt verify``: serving and checking.

``up`` runs the network in a box; it checks that its port is free before it sets
anything up. ``embed`` and ``infer`` with ``--network NAME`` ask a whole network:
its nodes for the model are found onchain, every receipt is verified offline and
onchain against that pinned profile, and a node that fails (unreachable, slow, a
5xx, an invalid or unanchored receipt) is reported and the next one asked
(:class:`cairn.client.FailoverClient`). Otherwise the client commands talk to one
gateway (``--gateway``, else ``$CAIRN_GATEWAY``, else http://127.0.0.1:8000); the two
options exclude each other. Either way they check every receipt they get:
offline always (the contract could judge it, signature, input and output hashes,
the model asked for, by name or CID), online with ``--online`` (inclusion in the
anchored root, node staked) against the *pinned* network — ``--network NAME`` (a
profile, see ``cairn network``), else the data dir's own deployment on the chain
behind ``--chain`` — never the addresses the receipt names. The model is checked
against the pinned network's ModelRegistry when online, else against the gateway's
own ``/v1/models`` (and the output says so).

Every command takes ``--json``: one JSON object on stdout, ``{"ok": true, ...}``, or
``{"ok": false, "error": ...}`` beside the one-line error on stderr and exit 1.
``-o FILE`` saves an answer with its receipt, atomically (:mod:`cairn._atomic`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli._common import (
    GatewayOpt,
    JsonOpt,
    console,
    err_console,
    fmt_time,
    gateway_url,
    state,
)
from cairn.errors import CairnError, ConfigError

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.chain import Network, OnchainView
    from cairn.client import FailoverClient, GatewayClient, Served
    from cairn.config import DataDir
    from cairn.payments import Payer
    from cairn.receipts import Receipt

__all__ = ["register"]


receipt_app = typer.Typer(help="Check receipts saved from a gateway.", no_args_is_help=True)
NetworkOpt = Annotated[
    str | None,
    typer.Option(
        "--network",
        help="Pinned network profile for --online (default: this data dir's deployment "
        "on the chain behind --chain).",
    ),
]
ClientNetworkOpt = Annotated[
    str | None,
    typer.Option(
        "--network",
        help="Ask this pinned network's nodes (found onchain), verify every receipt "
        "onchain and fail over to the next node (not with --gateway).",
    ),
]
OnlineOpt = Annotated[
    bool,
    typer.Option(
        "--online", help="Also check its inclusion in the root anchored onchain, node staked."
    ),
]
ChainOpt = Annotated[
    str | None,
    typer.Option(
        "--chain", help="Chain RPC for --online (default: the gateway's read-only proxy)."
    ),
]
WaitOpt = Annotated[
    float, typer.Option("--wait", help="With --online: seconds to wait for the anchor.")
]
MaxSpendOpt = Annotated[
    int,
    typer.Option(
        "--max-spend",
        min=0,
        help="With --network: pay priced nodes (x402) up to this many atomic units of the "
        "network's payment token in all, from --wallet (default 0: never pay).",
    ),
]
PayWalletOpt = Annotated[
    str | None,
    typer.Option(
        "--wallet",
        help="With --max-spend: the wallet that pays (default: the default wallet; "
        "CAIRN_PASSPHRASE unlocks it).",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        help="Save the answer with its receipt here (for `cairn receipt verify`).",
    ),
]


def _gateway(url: str | None) -> str:
    return gateway_url(url)


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
    from cairn.errors import ClientError

    try:
        with GatewayClient(url) as client:
            return dict(client.send(path, request).body)
    except ClientError as exc:
        if exc.status:  # the gateway's own one-line refusal
            raise
        raise ClientError(
            f"{exc} (is a gateway running there? --gateway or $CAIRN_GATEWAY)"
        ) from None


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


@contextmanager
def _reporting(as_json: bool) -> Iterator[None]:
    """With ``--json``, a failure is one JSON object on stdout too (the CLI's edge still
    prints the one-line error on stderr and exits 1)."""
    try:
        yield
    except CairnError as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": str(exc)}))
        raise


def _read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from a file the user named, or a one-line error saying what is wrong."""
    try:
        value = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file ({what})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{path} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path} must hold a JSON object ({what})")
    return value


def _save(path: Path, answer: dict[str, Any]) -> None:
    """Write an answer with its receipt, whole or not at all (temp file, then rename)."""
    from cairn._atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, json.dumps(answer).encode() + b"\n")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def _verdict(receipt: Receipt, online: bool, how: str) -> dict[str, Any]:
    """What was checked, for ``--json``."""
    return {
        "request_id": "0x" + receipt.request_id.hex(),
        "node": receipt.node,
        "model": receipt.model,
        "model_check": how,
        "issued_at": receipt.issued_at,
        "offline": True,
        "onchain": online,
    }


def _say_verified(receipt: Receipt, online: bool, how: str, out: Any = err_console) -> None:
    where = "offline and onchain" if online else "offline"
    out.print(
        f"receipt 0x{receipt.request_id.hex()[:16]}… signed by {receipt.node}, issued "
        f"{fmt_time(receipt.issued_at)}: [green]verified {where}[/]; model {receipt.model}: "
        f"{how}",
        soft_wrap=True,
        highlight=False,
    )


def _values(data: Any, limit: int = 8) -> str:
    """The first values of a tensor (``data`` flat, as the gateway answers), for a person."""
    flat = data if isinstance(data, list) else [data]
    shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat[:limit])
    return f"[{shown}{', …' if len(flat) > limit else ''}]"


def _one_of(ctx: typer.Context, gateway: str | None, network: str | None) -> None:
    """``--network`` asks a network, ``--gateway`` one node: not both (``$CAIRN_GATEWAY``
    alone gives way to ``--network``)."""
    if network is None or gateway is None:
        return
    if ctx.get_parameter_source("gateway").name == "COMMANDLINE":  # type: ignore[union-attr]
        raise typer.BadParameter(
            "cannot be combined with --gateway (one node by URL, or a network's nodes)",
            param_hint="'--network'",
        )


def _failover(
    ctx: typer.Context, network: str, wait: float, max_spend: int = 0, wallet: str | None = None
) -> FailoverClient:
    from cairn.chain import load_network
    from cairn.client import FailoverClient

    dd = state(ctx).data_dir
    net = load_network(dd, network)
    payer = _payer(ctx, net, max_spend, wallet) if max_spend else None
    return FailoverClient(net, data_dir=dd, anchor_wait_s=wait, payer=payer)


def _payer(ctx: typer.Context, net: Network, max_spend: int, wallet: str | None) -> Payer:
    """Who pays priced nodes, in the pinned network's token only, up to ``max_spend``."""
    from cairn.cli._chain import _wallet
    from cairn.payments import Payer

    if net.token is None:
        raise ConfigError(f"network {net.name!r} has no payment token: nothing to pay with")
    return Payer(_wallet(ctx, wallet), max_spend, network=f"eip155:{net.chain_id}", asset=net.token)


def _model_check(model: str) -> str:
    from cairn.content import Cid

    try:
        Cid.parse(model)
    except CairnError:
        return f"the pinned registry's current {model!r}"
    return "the CID asked for"


def _say_served(served: Served) -> None:
    """Which node answered, and the ones that failed before it."""
    for a in served.attempts[:-1]:
        err_console.print(f"failed over: {a.describe()}", markup=False, highlight=False)
    err_console.print(
        f"answered by {served.node} at {served.endpoint} in {served.seconds * 1000:.0f} ms",
        markup=False,
        highlight=False,
    )


def _served_json(served: Served) -> dict[str, Any]:
    return {
        "gateway": served.endpoint,
        "failovers": served.failovers,
        "attempts": [
            {"node": a.node, "endpoint": a.endpoint, "kind": a.kind, "reason": a.reason}
            for a in served.attempts
        ],
    }


def _finish(
    response: dict[str, Any],
    receipt: Receipt,
    online: bool,
    how: str,
    served: Served | None,
    output: Path | None,
    as_json: bool,
) -> bool:
    """Save the answer; with --json print it (True: nothing more to print)."""
    if output:
        _save(output, response)
    if as_json:
        extra = _served_json(served) if served is not None else {}
        typer.echo(
            json.dumps({"ok": True, "answer": response, **_verdict(receipt, online, how), **extra})
        )
        return True
    if served is not None:
        _say_served(served)
    return False


def embed(
    ctx: typer.Context,
    texts: Annotated[
        list[str], typer.Argument(help="Texts to embed, each one argument.", metavar="TEXT")
    ],
    gateway: GatewayOpt = None,
    model: Annotated[str, typer.Option("--model", help="Model name or CID.")] = "all-MiniLM-L6-v2",
    online: OnlineOpt = False,
    network: ClientNetworkOpt = None,
    chain: ChainOpt = None,
    wait: WaitOpt = 30.0,
    max_spend: MaxSpendOpt = 0,
    wallet: PayWalletOpt = None,
    output: OutputOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Embed texts through a gateway, or a network's nodes, and verify the answer's receipt.

    Prints each vector's dimension and first values (--json: the whole answer).
    """
    with _reporting(as_json):
        _one_of(ctx, gateway, network)
        served = None
        if network is not None:
            with _failover(ctx, network, wait, max_spend, wallet) as client:
                served = client.embed(texts, model)
            response, receipt, how = dict(served.answer.body), served.receipt, _model_check(model)
            online = served.onchain
        else:
            request = {"model": model, "input": texts}
            response, receipt, how = _call(
                ctx, _gateway(gateway), "/v1/embeddings", request, model, online, None, chain, wait
            )
        if _finish(response, receipt, online, how, served, output, as_json):
            return
    for item in response["data"]:
        vec = item["embedding"]
        console.print(f"[{item['index']}] dim={len(vec)} {_values(vec, 4)}", markup=False)
    _say_verified(receipt, online, how)


def infer(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(help="Model name or CID (GET /v1/models lists them).", metavar="MODEL"),
    ],
    input_file: Annotated[
        Path,
        typer.Argument(
            help='The request, a JSON file: {"inputs": {NAME: {"dtype", "shape", "data"}}}.',
            metavar="REQUEST_FILE",
        ),
    ],
    gateway: GatewayOpt = None,
    online: OnlineOpt = False,
    network: ClientNetworkOpt = None,
    chain: ChainOpt = None,
    wait: WaitOpt = 30.0,
    max_spend: MaxSpendOpt = 0,
    wallet: PayWalletOpt = None,
    output: OutputOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a model on tensors through a gateway, or a network's nodes, and verify the
    answer's receipt.

    REQUEST_FILE names each input tensor of the model (GET /v1/models lists them
    with their dtype and shape), e.g. for digits-logreg:

      {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64],
                             "data": [0.0, 0.0, 5.0, 13.0, ...]}}}

    dtype is float16, float32, float64, int8 to int64, uint8 to uint64 or bool;
    shape a list of integers; data a list of numbers, flat in C order or nested
    as the shape (NaN and infinities as "NaN", "Infinity", "-Infinity"), or a
    base64 string of the little-endian bytes. A malformed request is refused with
    one line naming the field (inputs.pixels.shape: expected a list of integers).

    Prints each output tensor (--json: the whole answer); -o saves the answer and
    its receipt for: cairn receipt verify FILE --input REQUEST_FILE.
    """
    with _reporting(as_json):
        _one_of(ctx, gateway, network)
        request = _read_json(input_file, 'the request: {"inputs": {...}}')
        served = None
        if network is not None:
            inputs = request.get("inputs")
            if not isinstance(inputs, dict):
                raise ConfigError(f'{input_file}: expected {{"inputs": {{NAME: tensor}}}}')
            with _failover(ctx, network, wait, max_spend, wallet) as client:
                served = client.infer(model, inputs)
            response, receipt, how = dict(served.answer.body), served.receipt, _model_check(model)
            online = served.onchain
        else:
            path = f"/v1/infer/{model}"
            response, receipt, how = _call(
                ctx, _gateway(gateway), path, request, model, online, None, chain, wait
            )
        if _finish(response, receipt, online, how, served, output, as_json):
            return
    for name, tensor in sorted(response["outputs"].items()):
        kind = f"{tensor['dtype']}{tensor['shape']}"
        console.print(f"{name}  {kind}  {_values(tensor['data'])}", markup=False, highlight=False)
    _say_verified(receipt, online, how)


@receipt_app.command("verify")
def receipt_verify(
    ctx: typer.Context,
    response_file: Annotated[
        Path,
        typer.Argument(
            help="An answer saved with its receipt (`cairn embed|infer -o FILE`).",
            metavar="ANSWER_FILE",
        ),
    ],
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="The request sent: checks the receipt's inputHash too."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="The model asked for, name or CID (default: the request's model)."
        ),
    ] = None,
    online: OnlineOpt = False,
    network: NetworkOpt = None,
    gateway: GatewayOpt = None,
    chain: ChainOpt = None,
    wait: WaitOpt = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Verify a saved answer: exit 0 if its receipt verifies, else 1 with the reason.

    Offline it needs no node; a model name is resolved with --online (the pinned
    registry) or --gateway (the gateway's word).
    """
    with _reporting(as_json):
        response = _read_json(response_file, "an answer saved with its receipt")
        request = _read_json(input_file, "the request sent") if input_file else None
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
            wait_s=wait,
            ask_gateway=gateway is not None,  # a saved answer verifies offline without a node
        )
    if as_json:
        typer.echo(
            json.dumps({"ok": True, "receipt": receipt.to_json(), **_verdict(receipt, online, how)})
        )
        return
    _say_verified(receipt, online, how, console)


def _port_free(host: str, port: int) -> None:
    """Fail at once, before any setup, if ``host:port`` cannot be listened on (uvicorn
    would only find out after the chain, models and stake are set up)."""
    import errno
    import socket

    if port == 0:  # any free port
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(
            f"cannot listen on {host!r}: {exc.strerror} (--host, CAIRN_HOST)"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use (another cairn up?): "
                    "stop it, or pick another port with --port or CAIRN_PORT"
                ) from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def up(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option("--port", help="Gateway port. (env CAIRN_PORT; default 8000)")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Interface to listen on. (env CAIRN_HOST; default 127.0.0.1)"),
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain", help="embedded:// or an RPC URL. (env CAIRN_CHAIN; default embedded://)"
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="A model to serve (repeat): a model folder, a CID in the blockstore, or a "
            "bundled model's name. (env CAIRN_MODELS, comma-separated; default "
            "all-MiniLM-L6-v2 and digits-logreg)",
        ),
    ] = None,
    price: Annotated[
        list[str] | None,
        typer.Option(
            "--price",
            metavar="MODEL=AMOUNT",
            help="Charge AMOUNT atomic units of the network's payment token (CairnUSD, 6 "
            "decimals) per call of MODEL, paid over x402 (repeat; a model not named is free). "
            "(env CAIRN_PRICES, comma-separated)",
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", help="Anchor every N receipts... (env CAIRN_BATCH_SIZE; default 100)"
        ),
    ] = None,
    batch_seconds: Annotated[
        float | None,
        typer.Option(
            "--batch-seconds",
            help="...or every T seconds. (env CAIRN_BATCH_SECONDS; default 5)",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Once serving, print one JSON object (node, gateway, models)."),
    ] = False,
) -> None:
    """Run the network in a box: chain, contracts, models published and staked, gateway.

    Every setting is also read from CAIRN_<NAME> (see cairn.node.NodeSettings); a flag wins.
    """
    from cairn.node import NodeSettings, bootstrap, from_flags, serve

    settings = from_flags(
        NodeSettings,
        data_dir=state(ctx).data_dir_option,  # else CAIRN_DATA_DIR, else ~/.cairn
        port=port,
        host=host,
        chain=chain,
        models=tuple(model) if model else None,
        prices=",".join(price) if price else None,
        batch_size=batch_size,
        batch_seconds=batch_seconds,
        signer=state(ctx).signer_url,
    )
    _port_free(settings.host, settings.port)  # before anything is created, asked or staked
    passphrase = "" if settings.signer else _passphrase()  # a wallet keeps its own key
    settings = settings.model_copy(update={"data_dir": state(ctx).data_dir.root})
    with err_console.status("starting cairn") as status:
        node = bootstrap(settings, passphrase, lambda msg: status.update(msg))

    def ready(url: str) -> None:
        profile = _pin_own_network(node.data_dir, node.chain, settings.chain, url)
        if as_json:
            models = [
                {"name": m.name, "cid": m.cid, "price": m.price} for m in node.models.values()
            ]
            typer.echo(
                json.dumps(
                    {
                        "ok": True,
                        "node": node.signer.address,
                        "chain": settings.chain,
                        "network": profile,
                        "gateway": url,
                        "models": models,
                        "data_dir": str(settings.data_dir),
                    }
                )
            )
            return
        _say_up(node, settings, profile, url)

    serve(node, ready)
    (err_console if as_json else console).print("cairn stopped cleanly")


def _say_up(node: Any, settings: Any, profile: str, url: str) -> None:
    console.print(f"[bold green]cairn is up[/] node {node.signer.address} on {settings.chain}")
    console.print(f"  network   {profile}   (pinned for `--online`)")
    console.print(f"  gateway   {url}   (OpenAPI: {url}/docs)")
    console.print(f"  models    {', '.join(f'{m.name} {m.cid}' for m in node.models.values())}")
    priced = [f"{m.name} {m.price}" for m in node.models.values() if m.price]
    if priced:
        console.print(f"  prices    {', '.join(priced)} (CairnUSD atomic units a call, x402)")
    text = next((m.name for m in node.models.values() if m.embedder is not None), None)
    if text is not None:
        console.print(
            f"  try       curl -s {url}/v1/embeddings -H 'content-type: application/json' "
            f'-d \'{{"model": "{text}", "input": "hello"}}\''
        )
        console.print(f"  or        cairn embed --gateway {url} --model {text} hello")
    console.print("Ctrl-C stops it; state is kept in " + str(settings.data_dir))


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
