"""``cairn network add|list|show``: the networks this client pins for ``--online``.

A profile (``<data dir>/networks/NAME.json``) holds a chain id, an RPC URL and
the contract addresses a receipt must belong to. ``cairn chain deploy`` and
``cairn up`` write one for the network they create; ``network add NAME --from
GATEWAY`` imports another's from its ``/v1/network`` — and then checks it
onchain (chain id, code at every address, the anchor's and the Disputes
contract's Staking), because a gateway's word is not enough. A pinned profile is
also how a validator or a reputation reader joins someone else's network from
its own data dir (``cairn validator run --network NAME``, ``cairn node show
--network NAME``); on an embedded network its RPC is the node's
``/v1/chain/rpc``, which also relays transactions the validator signs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cairn.cli._common import JsonOpt, console, gateway_url, state
from cairn.errors import ConfigError

__all__ = ["register"]

network_app = typer.Typer(
    help="Networks pinned for online receipt checks (chain id, RPC, contracts).",
    no_args_is_help=True,
)


@network_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name.")],
    source: Annotated[str, typer.Option("--from", help="A gateway URL (reads /v1/network).")],
    rpc: Annotated[
        str | None,
        typer.Option(
            help="RPC URL to read the chain through (default: the document's).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a gateway's network, check it onchain, and pin it as NAME."""
    from cairn.chain import check_network, save_network
    from cairn.client import GatewayClient

    gateway = gateway_url(source)
    with GatewayClient(gateway, timeout=30.0) as client:
        doc = client.network()
    network = _from_document(name, doc, gateway, rpc)
    check_network(network, state(ctx).data_dir)
    path = save_network(state(ctx).data_dir, network)
    if as_json:
        typer.echo(json.dumps({**network.to_json(), "path": str(path)}))
        return
    console.print(f"pinned {network.describe()} via {network.rpc} in {path}", soft_wrap=True)
    console.print(
        f"  use it    cairn validator run --network {name} --key 0x… (or --wallet NAME); "
        f"cairn node show ADDRESS --network {name}",
        soft_wrap=True,
        highlight=False,
    )


def _from_document(name: str, doc: dict[str, Any], gateway: str, rpc: str | None) -> Any:
    from cairn.chain import Network

    chain = doc.get("chain")
    if not isinstance(chain, dict) or not isinstance(chain.get("contracts"), dict):
        raise ConfigError(f"{gateway}/v1/network has no chain contracts")
    contracts = chain["contracts"]
    embedded = chain.get("kind") == "embedded" or str(chain.get("url", "")).startswith("embedded")
    return Network.from_json(
        {
            "chain_id": chain.get("chain_id"),
            "rpc": rpc or (f"{gateway}/v1/chain/rpc" if embedded else chain.get("url")),
            "anchor": contracts.get("ReceiptAnchor"),
            "staking": contracts.get("Staking"),
            "registry": contracts.get("ModelRegistry"),
            "disputes": contracts.get("Disputes"),
        },
        name,
    )


@network_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The pinned networks."""
    from cairn.chain import list_networks

    found = list_networks(state(ctx).data_dir)
    if as_json:
        typer.echo(json.dumps({"networks": [n.to_json() for n in found]}))
        return
    for n in found:
        console.print(f"{n.name:16} chain {n.chain_id:<16} anchor {n.anchor}  {n.rpc}")


@network_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name.")],
    as_json: JsonOpt = False,
) -> None:
    """One pinned network, as JSON (indented for reading; --json: one line, for scripts)."""
    from cairn.chain import load_network

    found = json.dumps(load_network(state(ctx).data_dir, name).to_json())
    if as_json:
        typer.echo(found)
    else:
        console.print_json(found)


def register(app: typer.Typer) -> None:
    app.add_typer(network_app, name="network")
