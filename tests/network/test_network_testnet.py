"""`cairn testnet`: separate node and validator processes on one machine (issue 12, part 3).

One testnet (2 nodes, 1 validator, on an Anvil cairn starts) serves the module: its
status read from the chain, every node answering with a receipt that verifies
against the pinned `testnet` profile, a second `up` refused, a cut that severs the
chain link and not the clients', and a `down` that stops every pid and removes the
namespaces but keeps the data dirs. The guards of the state file (a forged pid, a
file others may write) are tested without any of that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from cairn.chain import load_network
from cairn.client import GatewayClient
from cairn.config import DataDir
from cairn.errors import ConfigError, NodeError
from cairn.node import _netns
from cairn.node.testnet import Testnet

ROOT = Path(__file__).resolve().parents[2]


def _cli(data_dir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    return subprocess.run(
        [sys.executable, "-m", "cairn", "--data-dir", str(data_dir), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Testnet]:
    data = tmp_path_factory.mktemp("testnet")
    started = _cli(data, "testnet", "up", "--nodes", "2", "--validators", "1")
    assert started.returncode == 0, started.stderr
    found = Testnet.load(data)
    try:
        yield found
    finally:
        if Testnet.find(data) is not None:
            Testnet.load(data).down()


def _reaches(netns: str | None, url: str) -> bool:
    """Whether a TCP connection to ``url`` opens from inside ``netns`` (2 s at most)."""
    where = urlsplit(url)
    code = (
        "import socket\n"
        f"socket.create_connection(({where.hostname!r}, {where.port}), timeout=2).close()\n"
    )
    cmd = [sys.executable, "-c", code]
    done = subprocess.run(
        ["ip", "netns", "exec", netns, *cmd] if netns else cmd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0 and "Error" not in done.stderr:  # not the refusal we look for
        raise AssertionError(done.stderr)
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.integration
def test_status_lists_every_party_with_its_stake_onchain(net: Testnet) -> None:
    shown = _cli(net.data_dir.root, "testnet", "status", "--json")
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    assert found["ok"] is True and found["chain_error"] is None
    assert [p["role"] for p in found["parties"]] == ["node", "node", "validator"]
    chain = net.chain()
    try:
        for p in found["parties"]:
            assert p["alive"] is True and isinstance(p["pid"], int)
            assert p["stake"] == chain.staking.participant(p["address"]).stake > 0
            assert p["staked"] is True
        node = found["parties"][0]
        assert chain.staking.participant(node["address"]).endpoint == node["endpoint"]
        assert found["parties"][2]["in_pool"] is True
    finally:
        chain.close()
    if net.isolated:  # each party its own address
        assert len({p["host"] for p in found["parties"]}) == 3


@pytest.mark.slow
@pytest.mark.integration
def test_every_node_answers_with_a_receipt_that_verifies_against_the_profile(
    net: Testnet,
) -> None:
    pinned = load_network(DataDir(net.data_dir.root), "testnet")
    assert pinned.rpc == net.network.rpc
    for node in net.nodes:
        assert node.endpoint is not None
        with GatewayClient(node.endpoint) as client:
            answer = client.embed([f"hello from {node.name}"])
            receipt = client.verify(answer, domain=pinned.domain)
            assert receipt.node == node.address
            client.verify_online(receipt, pinned, wait_s=60)
    # the CLI, by the profile's name: its nodes found onchain, the receipt checked onchain
    cli = _cli(net.data_dir.root, "embed", "--network", "testnet", "--online", "hello")
    assert cli.returncode == 0, cli.stderr
    assert "verified offline and onchain" in cli.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_a_second_up_is_refused_in_one_line(net: Testnet) -> None:
    again = _cli(net.data_dir.root, "testnet", "up", "--nodes", "1", "--validators", "0")
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already running" in again.stderr
    assert all(p.alive for p in net.parties)


@pytest.mark.slow
@pytest.mark.integration
def test_cut_severs_the_chain_link_and_not_the_clients(net: Testnet) -> None:
    if not net.isolated:
        pytest.skip("no network namespaces on this machine (needs root and ip netns)")
    node, rpc = net.nodes[1], net.network.rpc
    assert node.endpoint is not None
    assert _reaches(node.netns, rpc)
    net.cut(node)
    try:
        assert not _reaches(node.netns, rpc)  # the chain: gone
        assert _reaches(net.nodes[0].netns, rpc)  # for this party only
        assert httpx.get(f"{node.endpoint}/healthz", timeout=10).status_code == 200
        with GatewayClient(node.endpoint) as client:  # its clients: still served
            answer = client.embed(["served while cut off from the chain"])
            assert client.verify(answer, domain=net.network.domain).node == node.address
        shown = {p["name"]: p for p in net.status()["parties"]}
        assert shown[node.name]["chain_link"] == "down"
        assert shown[net.nodes[0].name]["chain_link"] == "up"
    finally:
        net.restore(node)
    assert _reaches(node.netns, rpc)


@pytest.mark.slow
@pytest.mark.integration
def test_down_stops_every_pid_removes_the_namespaces_and_keeps_the_data(net: Testnet) -> None:
    pids = [p.pid for p in net.parties]
    stopped = _cli(net.data_dir.root, "testnet", "down")
    assert stopped.returncode == 0, stopped.stderr
    for pid in pids:
        assert pid is not None
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert not any(p.alive for p in net.parties)
    assert not any(_netns.exists(f"cairn-tn-{i}", netns=True) for i in range(3))
    assert not _netns.exists(_netns.CLIENT_BRIDGE) and not _netns.exists(_netns.CHAIN_BRIDGE)
    for p in net.parties:
        assert (p.data_dir / "keystore").is_dir() and p.log.is_file()
    again = _cli(net.data_dir.root, "testnet", "down")
    assert again.returncode == 0 and "no testnet is running" in again.stdout
    refused = _cli(net.data_dir.root, "testnet", "up", "--nodes", "1", "--validators", "0")
    assert refused.returncode == 1 and "--reset" in refused.stderr


# -- the state file's guards (no processes needed) --------------------------------


def _forged(data_dir: Path, pid: int, started: int) -> Path:
    state = {
        "version": 1,
        "isolated": False,
        "passphrase": "x",
        "chain": None,
        "anvil": None,
        "network": None,
        "namespaces": [GUARD_NS],  # not names a testnet gives: never deleted
        "links": [GUARD_LINK],
        "bridges": False,
        "parties": [
            {
                "name": "node-0",
                "role": "node",
                "index": 0,
                "address": "0x" + "11" * 20,
                "data_dir": str(data_dir / "testnet" / "node-0"),
                "host": "127.0.0.1",
                "endpoint": "http://127.0.0.1:1",
                "netns": None,
                "argv": [],
                "pid": pid,
                "started": started,
            }
        ],
    }
    path = data_dir / "testnet" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(state))
    path.chmod(0o600)
    return path


GUARD_NS, GUARD_LINK = "cairn-tn-guard", "tn-guard0"


def test_a_reused_pid_or_a_foreign_name_is_never_touched(tmp_path: Path) -> None:
    """A state file naming a live process that is not the one started (another start
    time: a reused pid, or a forged file) leaves that process alone; namespaces and
    links a testnet would not have made are not deleted."""
    root = _netns.available() is None
    if root:
        subprocess.run(["ip", "link", "add", GUARD_LINK, "type", "bridge"], check=True)
        subprocess.run(["ip", "netns", "add", GUARD_NS], check=True)
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _forged(tmp_path, victim.pid, 1)
        net = Testnet.load(tmp_path)
        assert net.running() == []
        with pytest.raises(NodeError, match="not running"):
            net.kill("node-0", signal.SIGKILL)
        assert net.down() == []
        time.sleep(0.2)
        assert victim.poll() is None
        if root:
            assert _netns.exists(GUARD_LINK) and _netns.exists(GUARD_NS, netns=True)
    finally:
        victim.kill()
        victim.wait()
        if root:
            subprocess.run(["ip", "link", "del", GUARD_LINK], check=False)
            subprocess.run(["ip", "netns", "del", GUARD_NS], check=False)


def test_a_state_file_others_may_write_is_refused(tmp_path: Path) -> None:
    path = _forged(tmp_path, 1, 1)
    path.chmod(0o666)
    with pytest.raises(ConfigError, match="writable by others"):
        Testnet.load(tmp_path)


def test_cut_needs_namespaces_and_parties_are_named(tmp_path: Path) -> None:
    _forged(tmp_path, 1, 1)
    net = Testnet.load(tmp_path)
    with pytest.raises(ConfigError, match="loopback"):
        net.cut("node-0")
    with pytest.raises(ConfigError, match="no party 'node-9'"):
        net.restore("node-9")


def test_bad_counts_and_nothing_to_stop(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="1 or more nodes"):
        Testnet.up(tmp_path, nodes=0)
    assert not (tmp_path / "testnet" / "state.json").exists()
    quiet = _cli(tmp_path, "testnet", "down")
    assert quiet.returncode == 0 and "no testnet is running" in quiet.stdout
    missing = _cli(tmp_path, "testnet", "status")
    assert missing.returncode == 1 and "no testnet in" in missing.stderr
