"""``cairn up``, ``cairn embed``, ``cairn infer``, ``cairn receipt verify``: serving and checking.

``up`` runs the network in a box. The client commands talk to a gateway
(``--gateway``, default ``$CAIRN_GATEWAY`` else http://127.0.0.1:8000) and check
every receipt they get: offline always (signature, input and output hashes),
online with ``--online`` (inclusion in the anchored root, node staked).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer

from cairn.cli._common import console, err_console, state
from cairn.errors import ConfigError, NodeError, ReceiptInvalid
from cairn.inference import Tensor, tensors_from_json
from cairn.receipts import (
    InclusionProof,
    Receipt,
    tensors_hash,
    texts_hash,
    verify_offline,
    verify_online,
)

__all__ = ["check_response", "register"]

receipt_app = typer.Typer(help="Check receipts saved from a gateway.")
GatewayOpt = Annotated[
    str | None, typer.Option("--gateway", help="Gateway URL (default $CAIRN_GATEWAY or :8000).")
]


def _gateway(url: str | None) -> str:
    return (url or os.environ.get("CAIRN_GATEWAY") or "http://127.0.0.1:8000").rstrip("/")


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        resp = httpx.post(url, json=body, timeout=120)
    except httpx.HTTPError as exc:
        raise NodeError(f"gateway unreachable at {url}: {exc}") from None
    if resp.status_code != 200:
        detail = (
            resp.json().get("detail")
            if resp.headers.get("content-type", "").startswith("application/json")
            else resp.text
        )
        raise NodeError(f"gateway answered {resp.status_code}: {detail}")
    out: dict[str, Any] = resp.json()
    return out


def _output_hash(response: dict[str, Any]) -> bytes:
    """Recompute the output hash from the answer itself (a changed number must fail)."""
    if "data" in response:  # OpenAI embeddings shape
        try:
            rows = [
                item["embedding"] for item in sorted(response["data"], key=lambda d: d["index"])
            ]
            vectors = np.asarray(rows, dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptInvalid(f"malformed embeddings answer: {exc}") from None
        as32 = vectors.astype(np.float32)
        if vectors.ndim != 2 or not np.array_equal(as32.astype(np.float64), vectors):
            raise ReceiptInvalid("embedding values are not the float32 values the node returned")
        return tensors_hash({"sentence_embedding": Tensor.from_numpy(as32)})
    if "outputs" in response:
        return tensors_hash(tensors_from_json(response["outputs"]))
    raise ReceiptInvalid("response has neither 'data' nor 'outputs'")


def _input_hash(request: dict[str, Any]) -> bytes:
    if "input" in request:
        texts = request["input"]
        return texts_hash([texts] if isinstance(texts, str) else list(texts))
    if "inputs" in request:
        return tensors_hash(tensors_from_json(request["inputs"]))
    raise ReceiptInvalid("request has neither 'input' nor 'inputs'")


def check_response(
    response: dict[str, Any],
    request: dict[str, Any] | None,
    online: str | None = None,
    gateway: str | None = None,
    wait_s: float = 0.0,
) -> Receipt:
    """Verify a gateway response's receipt; raise :class:`ReceiptInvalid` with the reason."""
    if "receipt" not in response:
        raise ReceiptInvalid("response carries no receipt")
    receipt = Receipt.from_json(response["receipt"])
    verify_offline(
        receipt,
        output_hash=_output_hash(response),
        input_hash=_input_hash(request) if request is not None else None,
    )
    if online is not None:
        from cairn.receipts._onchain import OnchainView

        proof = _fetch_proof(_gateway(gateway), receipt, wait_s)
        root_of, is_staked = OnchainView(online, receipt).checks()
        verify_online(receipt, proof, root_of, is_staked)
    return receipt


def _fetch_proof(gateway: str, receipt: Receipt, wait_s: float) -> InclusionProof:
    url = f"{gateway}/v1/receipts/0x{receipt.request_id.hex()}/proof"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            resp = httpx.get(url, timeout=30)
        except httpx.HTTPError as exc:
            raise NodeError(f"gateway unreachable at {gateway}: {exc}") from None
        body = resp.json() if resp.status_code in (200, 404) else {}
        if resp.status_code == 200 and body.get("anchored"):
            return InclusionProof.from_json(body)
        if time.monotonic() >= deadline:
            raise ReceiptInvalid("receipt not anchored yet (retry later or pass --wait)")
        time.sleep(0.25)


def _passphrase() -> str:
    """The node wallet's passphrase: ``$CAIRN_PASSPHRASE`` or a hidden prompt."""
    found = os.environ.get("CAIRN_PASSPHRASE")
    if found is not None:
        return found
    return str(typer.prompt("passphrase for the node wallet", hide_input=True))


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
    response = _post(f"{url}/v1/embeddings", request)
    receipt = check_response(
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
    response = _post(f"{url}/v1/infer/{model}", request)
    receipt = check_response(
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
    receipt = check_response(
        response, request, _chain_for_online(url, chain) if online else None, url
    )
    _say_verified(receipt, online)


def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Gateway port.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    chain: Annotated[str, typer.Option(help="embedded:// or an RPC URL.")] = "embedded://",
    batch_size: Annotated[int, typer.Option(help="Anchor every N receipts...")] = 100,
    batch_seconds: Annotated[float, typer.Option(help="...or every T seconds.")] = 5.0,
) -> None:
    """Run the network in a box: chain, contracts, models published and staked, gateway."""
    from cairn.node import NodeSettings, bootstrap, serve

    settings = NodeSettings(
        data_dir=state(ctx).data_dir.root,
        port=port,
        host=host,
        chain=chain,
        batch_size=batch_size,
        batch_seconds=batch_seconds,
    )
    with err_console.status("starting cairn") as status:
        node = bootstrap(settings, _passphrase(), lambda msg: status.update(msg))

    def ready(url: str) -> None:
        console.print(f"[bold green]cairn is up[/] node {node.signer.address} on {chain}")
        console.print(f"  gateway   {url}   (OpenAPI: {url}/docs)")
        console.print(f"  models    {', '.join(f'{m.name} {m.cid}' for m in node.models.values())}")
        console.print(
            f"  try       curl -s {url}/v1/embeddings -H 'content-type: application/json' "
            '-d \'{"model": "all-MiniLM-L6-v2", "input": "hello"}\''
        )
        console.print(f"  or        cairn embed --gateway {url} hello")
        console.print("Ctrl-C stops it; state is kept in " + str(settings.data_dir))

    serve(node, ready)
    console.print("cairn stopped cleanly")


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(embed)
    app.command()(infer)
    app.add_typer(receipt_app, name="receipt")
