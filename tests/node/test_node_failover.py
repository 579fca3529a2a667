"""A client that chooses, verifies and fails over (issue 12, part 2), against real processes.

One Anvil; contracts deployed once; three real gateways, each its own process with
its own key and data dir, staked for the same model: an honest one, one whose
runtime fails (every call a 500) and one whose receipts are signed by a key other
than the staked one — the cheaper two ranked first by their price. A fourth node
is staked with an endpoint nothing listens on. The client, given only the pinned
network profile, finds the nodes onchain, skips the dead one, is refused by the
first two and answered by the honest one, receipt verified onchain; the failures
are logged, the bad receipt kept as evidence. Then nodes are killed with SIGKILL
until none is left: the error is one line naming each.

Run as a script, this file is the node: ``test_node_failover.py DATA_DIR CHAIN PORT
KEY FAULT PRICE`` (FAULT: honest, broken or wrong-key).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_hash.auto import keccak

from cairn.chain import DisputeParams, Network, Role, connect, save_network
from cairn.client import AgentCard, Candidate, FailoverClient, rank
from cairn.client._http import bounded_client
from cairn.client.card import CardModel
from cairn.client.discovery import check_card, discover, fetch_card
from cairn.client.failover import _NodeFailed
from cairn.config import DataDir
from cairn.errors import ClientError
from cairn.identity import LocalSigner, WalletStore
from cairn.inference import Tensor, WrappedRuntime
from cairn.payments.payer import Payer

ETHER = 10**18
PASSPHRASE = "failover-test-only"
PIXELS = {
    "pixels": {"dtype": "float32", "shape": [1, 64], "data": [float(i % 17) for i in range(64)]}
}
pytestmark = [pytest.mark.integration]


def _key(name: str) -> str:
    return "0x" + keccak(f"cairn-failover-{name}".encode()).hex()


def _address(name: str) -> str:
    return LocalSigner.from_hex(_key(name)).address


# -- the node, when this file runs as a script -----------------------------------------


class _Broken(WrappedRuntime):
    """Every call fails inside the handler: the gateway answers 500."""

    def _run(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        raise RuntimeError("injected fault")


def _serve(root: str, chain: str, port: str, key: str, fault: str, price: str) -> None:
    import uvicorn

    from cairn.identity import WalletStore
    from cairn.inference import DIGITS_NAME
    from cairn.node import NodeSettings, bootstrap, create_app

    dd = DataDir(Path(root)).ensure()
    wallets = WalletStore(dd.keystore)
    if "node" not in {w.name for w in wallets.list()}:
        wallets.import_key("node", key, PASSPHRASE)
    settings = NodeSettings(
        data_dir=dd.root,
        chain=chain,
        port=int(port),
        models=(DIGITS_NAME,),
        batch_size=20,
        batch_seconds=0.3,
        prices={DIGITS_NAME: int(price)} if int(price) else {},
    )
    ctx = bootstrap(settings, PASSPHRASE)
    served = ctx.models[DIGITS_NAME]
    if fault == "broken":
        served.model = replace(served.model, runtime=_Broken(served.model.runtime))
    app = create_app(ctx)  # its card names the staked signer...
    if fault == "wrong-key":  # ...and its receipts are signed by another key
        ctx.signer = LocalSigner.from_hex(_key("impostor"))
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(port), log_level="warning")).run()
    ctx.close()


# -- the test's network -----------------------------------------------------------------


@dataclass
class Net:
    network: Network
    nodes: dict[str, str]  # fault -> endpoint
    procs: dict[str, subprocess.Popen[bytes]]
    dead: str  # the address staked with an endpoint nobody listens on
    client_dir: Path


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(root: Path, chain: str, fault: str, price: int, logs: Path) -> tuple[Any, str]:
    port = _free_port()
    log = open(logs / f"{fault}.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [sys.executable, __file__, str(root), chain, str(port), _key(fault), fault, str(price)],
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return proc, f"http://127.0.0.1:{port}"


def _healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"node {url} did not come up: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def net(wall_clock_anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    anvil = wall_clock_anvil  # the client pays with EIP-3009, whose windows are wall-clock
    root = tmp_path_factory.mktemp("failover")
    chain = connect(anvil, root / "deployer")
    funder = chain.dev_keys()[0]
    chain.deploy(funder, disputes=DisputeParams())
    record = root / "deployer" / "chain" / "deployments.json"
    prices = {"honest": 2, "broken": 0, "wrong-key": 1}
    for fault in (*prices, "dead"):
        chain.transfer(funder, _address(fault), 10 * ETHER)
        (root / fault / "chain").mkdir(parents=True)
        (root / fault / "chain" / "deployments.json").write_bytes(record.read_bytes())
    procs: dict[str, subprocess.Popen[bytes]] = {}
    nodes: dict[str, str] = {}
    try:
        for group in (["honest"], ["broken", "wrong-key"]):  # the first publishes the model
            for fault in group:
                procs[fault], nodes[fault] = _start(root / fault, anvil, fault, prices[fault], root)
            for fault in group:
                _healthy(procs[fault], nodes[fault], root / f"{fault}.log")
        cid = httpx.get(f"{nodes['honest']}/v1/models").json()["data"][0]["cid"]
        dead = LocalSigner.from_hex(_key("dead"))
        chain.staking.register(dead, Role.NODE, f"http://127.0.0.1:{_free_port()}", [cid])
        chain.staking.stake(dead, chain.staking.min_stake(Role.NODE))
        network = Network.from_deployment("failover", chain.deployment, anvil)
        chain.token.mint(funder, PAYER.address, 10**6)  # what the client pays nodes with
        client_dir = root / "client"
        save_network(DataDir(client_dir).ensure(), network)
        yield Net(network, nodes, procs, dead.address, client_dir)
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait(timeout=30)
        chain.close()


PAYER_KEY = keccak(b"cairn-test-failover-payer")
PAYER = LocalSigner(PAYER_KEY)


def _client(net: Net, **kw: Any) -> FailoverClient:
    n = net.network
    assert n.token is not None
    payer = Payer(PAYER, 100, network=f"eip155:{n.chain_id}", asset=n.token)
    return FailoverClient(
        n, data_dir=net.client_dir, timeout=10, anchor_wait_s=20, cooldown_s=0, payer=payer, **kw
    )


def _failures(net: Net) -> list[dict[str, Any]]:
    path = net.client_dir / "client" / "failures.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- the tests, in order: each later one kills more ---------------------------------------


def test_discovery_finds_the_staked_nodes_ranked_and_skips_the_dead_one(net: Net) -> None:
    client = _client(net)
    found = client.discover("digits-logreg")
    order = [c.address for c in found.candidates]
    assert order == [_address("broken"), _address("wrong-key"), _address("honest")]
    assert [c.endpoint for c in found.candidates][-1] == net.nodes["honest"]
    assert all(c.card.signer == c.address and c.score is not None for c in found.candidates)
    (skipped,) = found.skipped
    assert skipped.address == net.dead and "unreachable" in skipped.reason

    with bounded_client(5) as http:  # a discovery deadline already passed reaches nobody
        late = discover(client.chain, net.network, "digits-logreg", http, deadline_s=0)
    assert not late.candidates and len(late.skipped) == 4
    assert all("discovery deadline" in s.reason for s in late.skipped if s.address != net.dead)
    client.close()


def test_the_honest_node_answers_and_the_others_are_reported(net: Net) -> None:
    with _client(net) as client:
        served = client.infer("digits-logreg", PIXELS)
        found = client.discover("digits-logreg")  # the same, from the cache
    stats = client.stats
    assert served.node == _address("honest") and served.endpoint == net.nodes["honest"]
    assert served.onchain and served.receipt.node == served.node
    assert [a.kind for a in served.attempts] == ["HTTP 500", "invalid receipt", "ok"]
    assert "expected " + _address("wrong-key") in served.attempts[1].reason
    assert (stats.requests, stats.answered, stats.failovers) == (1, 1, 2)
    assert len(stats.timings_ms) == 1
    assert served.answer.outputs["label"].to_numpy().shape == (1,)
    honest = next(c for c in found.candidates if c.address == served.node)
    assert served.receipt.price == 2  # paid over x402, as its card says
    assert client.payer is not None and client.payer.spent == 2 + 1  # the impostor was paid too
    cheaper = replace(honest, price=served.receipt.price - 1)
    with pytest.raises(_NodeFailed, match="receipt charges 2, its node's card says 1"):
        client._verified(cheaper, served.cid, served.answer)  # ranked cheap, charged more

    logged = _failures(net)
    assert [(f["node"], f["kind"]) for f in logged] == [
        (_address("broken"), "HTTP 500"),
        (_address("wrong-key"), "invalid receipt"),
    ]
    evidence = json.loads(Path(logged[1]["evidence"]).read_text())
    assert evidence["request"] == {"inputs": PIXELS}
    assert evidence["receipt"]["node"] == _address("impostor")  # the signed receipt, kept
    assert evidence["node"] == _address("wrong-key")


def test_cairn_infer_with_network_fails_over_too(net: Net, tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"inputs": PIXELS}))
    wallets = WalletStore(DataDir(net.client_dir).keystore)
    if "payer" not in {w.name for w in wallets.list()}:
        wallets.import_key("payer", PAYER_KEY.hex(), PASSPHRASE)
    cli = [sys.executable, "-m", "cairn", "--data-dir", str(net.client_dir), "infer"]
    unpaid = ["digits-logreg", str(request), "--network", "failover"]
    env = {**os.environ, "CAIRN_PASSPHRASE": PASSPHRASE}
    refused = subprocess.run([*cli, *unpaid], capture_output=True, timeout=300, check=False)
    assert refused.returncode != 0 and "payment required" in refused.stderr.decode()
    args = [*unpaid, "--max-spend", "10", "--wallet", "payer"]
    done = subprocess.run(
        [*cli, *args, "--json"], capture_output=True, timeout=300, check=False, env=env
    )
    assert done.returncode == 0, done.stderr.decode()
    out = json.loads(done.stdout)
    assert out["ok"] and out["node"] == _address("honest") and out["onchain"] is True
    assert out["gateway"] == net.nodes["honest"] and out["failovers"] == 2

    plain = subprocess.run([*cli, *args], capture_output=True, timeout=300, check=False, env=env)
    said = " ".join(plain.stderr.decode().split())
    assert plain.returncode == 0, said
    assert f"failed over: {_address('broken')}" in said
    assert f"answered by {_address('honest')} at {net.nodes['honest']}" in said
    assert "verified offline and onchain" in said and "label" in plain.stdout.decode()


def test_a_node_killed_after_discovery_is_passed_over(net: Net) -> None:
    with _client(net) as client:
        client.discover("digits-logreg")  # all three found alive...
        net.procs["broken"].send_signal(signal.SIGKILL)  # ...then one dies
        net.procs["broken"].wait(timeout=30)
        served = client.infer("digits-logreg", PIXELS)
    assert served.node == _address("honest")
    assert [a.kind for a in served.attempts] == ["unreachable", "invalid receipt", "ok"]


def test_when_every_node_fails_the_error_is_one_line_naming_each(net: Net) -> None:
    net.procs["honest"].send_signal(signal.SIGKILL)
    net.procs["honest"].wait(timeout=30)
    with _client(net) as client:
        client.discover("digits-logreg")
        with pytest.raises(ClientError) as failed:
            client.infer("digits-logreg", PIXELS)
    message = str(failed.value)
    assert "\n" not in message and message.startswith("no node answered digits-logreg")
    for name in ("wrong-key", "dead", "broken", "honest"):
        assert _address(name) in message, name
    assert "invalid receipt" in message and "unreachable" in message


# -- units: ranking and the card checks -----------------------------------------------------


def _candidate(name: str, score: float | None, price: int, latency: float) -> Candidate:
    card = AgentCard(
        name, "http://h:1", _address(name), 31337, {}, (CardModel("m", "c", "", price),)
    )
    return Candidate(_address(name), "http://h:1", ETHER, card, latency, score, price)


def test_ranking_puts_reputation_then_price_then_latency_first() -> None:
    a = _candidate("a", 0.9, 10, 0.5)
    b = _candidate("b", 0.5, 1, 0.1)
    c = _candidate("c", None, 1, 0.05)  # unread: ranks as the prior, 0.5
    d = _candidate("d", 0.5, 1, 0.2)
    assert rank([d, c, b, a]) == [a, c, b, d]
    assert rank([d, c, b, a], {c.address: 1.0}) == [a, b, d, c]  # measured beats the card's
    assert rank([]) == []


def test_a_card_for_another_signer_chain_or_contracts_is_refused() -> None:
    net = Network("n", 31337, "http://x", "0x" + "aa" * 20, "0x" + "bb" * 20)
    good = AgentCard("n", "http://h:1", _address("a"), 31337, {"Staking": net.staking}, ())
    check_card(good, _address("a"), net)
    with pytest.raises(ClientError, match="names signing address"):
        check_card(good, _address("b"), net)
    with pytest.raises(ClientError, match="for chain 1, not"):
        check_card(replace(good, chain_id=1), _address("a"), net)
    with pytest.raises(ClientError, match="names Staking"):
        check_card(replace(good, contracts={"Staking": "0x" + "cc" * 20}), _address("a"), net)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [(200, b"not json", "not JSON"), (200, b"x" * (1 << 17), "cap"), (503, b"{}", "503")],
)
def test_a_bad_card_endpoint_is_refused(status: int, body: bytes, message: str) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with bounded_client(5) as http, pytest.raises(ClientError, match=message):
            fetch_card(http, f"http://127.0.0.1:{server.server_address[1]}", 5)
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    _serve(*sys.argv[1:7])


def test_network_and_gateway_exclude_each_other(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cairn.cli.main import main

    monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path))
    args = ["embed", "--gateway", "http://127.0.0.1:9", "--network", "n", "hello"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert "'--network': cannot be combined with --gateway" in err
    monkeypatch.setenv("CAIRN_GATEWAY", "http://127.0.0.1:9")  # the environment gives way
    assert main(["embed", "--network", "n", "hello"]) == 1
    assert "no network profile 'n'" in capsys.readouterr().err


def test_a_stale_node_list_is_refreshed_by_one_thread_while_the_others_go_on(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-reading the chain and every card can take seconds (a frozen node's card): one
    thread does it, the others keep sending with the list they had, and a card is never
    waited for longer than an answer (the client's timeout)."""
    import threading

    import cairn.client.failover as failover

    with _client(net, refresh_s=0.0, card_timeout=60) as client:
        assert client.card_timeout == client.timeout == 10
        first = client.discover("digits-logreg")
        entered, release = threading.Event(), threading.Event()
        real = failover.discover

        def slow(*args: Any, **kw: Any) -> Any:
            entered.set()
            assert release.wait(60)
            return real(*args, **kw)

        monkeypatch.setattr(failover, "discover", slow)
        refresher = threading.Thread(target=client.discover, args=("digits-logreg",))
        refresher.start()
        assert entered.wait(60)
        assert client.discover("digits-logreg") is first  # not blocked behind the refresh
        release.set()
        refresher.join(60)
        assert not refresher.is_alive()
        assert client.discover("digits-logreg") is not first  # stale again: re-read
