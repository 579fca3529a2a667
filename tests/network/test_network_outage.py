"""Operators go offline, and nothing is lost (issue 12, part 4).

A testnet of 3 nodes and 3 validators on Anvil, each party its own process in
its own network namespace. :func:`cairn.node.drill.run_outage` — the scenario
``bench/network.py`` runs too — sends 300 requests from 8 threads; a third of the
way in, the client's first choice is killed (SIGKILL), its second frozen for
10 s (SIGSTOP, SIGCONT) and the third cut off from the chain for 30 s; then the
killed node restarts. Every request must be answered, every receipt must verify
online (or, the killed node's, be provably withheld), the killed node must
rejoin, and the validators must keep auditing. Timings are the bench's business:
nothing here asserts a wall-clock bound.

Last, a receipt the killed node signed and never anchored (signed here with its
key: a node that withholds) must be challengeable onchain once its anchor
deadline passes — the path the drill takes for such a receipt.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cairn.chain import ChallengeKind, ChallengeStatus
from cairn.client import GatewayClient
from cairn.config import DataDir
from cairn.errors import ConfigError
from cairn.identity import WalletStore
from cairn.node import _netns
from cairn.node.drill import OutageReport, prove_withheld, run_outage
from cairn.node.testnet import Testnet


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Testnet]:
    why = _netns.available()
    if why is not None:
        pytest.skip(f"the drill cuts a node off the chain: needs network namespaces ({why})")
    data = tmp_path_factory.mktemp("outage")
    started = Testnet.up(data, nodes=3, validators=3, isolate=True)
    try:
        yield started
    finally:
        started.down()
        assert started.running() == []


@pytest.fixture(scope="module")
def report(net: Testnet) -> OutageReport:
    return run_outage(net, requests=300, concurrency=8, freeze_s=10.0, cut_s=30.0)


@pytest.mark.slow
@pytest.mark.integration
def test_every_request_is_answered(report: OutageReport) -> None:
    assert report.errors == []
    assert report.answered == report.requests == 300, report.to_json()["unanswered"]
    assert sorted(report.roles.values()) == ["cut", "frozen", "killed"]
    assert list(report.faults) == ["faults", "thawed", "restored", "restarted"]
    assert report.failovers >= 1  # the killed and the frozen node were asked, and left


@pytest.mark.slow
@pytest.mark.integration
def test_every_receipt_verifies_online_or_is_provably_withheld(report: OutageReport) -> None:
    # the drill lets only the killed node's receipts be withheld (anchor challenge opened)
    assert report.unverified == []
    assert report.verified_online + len(report.withheld) == report.answered
    # the cut node anchored what it signed while cut off, once it could reach the chain
    cut = next(n for n, role in report.roles.items() if role == "cut")
    served_by_cut = sum(1 for r in report.records if r.node == cut)
    assert report.anchored[cut]["end"] >= served_by_cut


@pytest.mark.slow
@pytest.mark.integration
def test_the_killed_node_rejoins(report: OutageReport) -> None:
    back = report.rejoined
    assert back["alive"] and back["staked"] and not back["jailed"], back
    assert back["anchored"] == 3, back  # new receipts from it verify online
    killed = back["party"]
    assert report.anchored[killed]["end"] >= report.anchored[killed]["at_faults"] + 3


@pytest.mark.slow
@pytest.mark.integration
def test_validators_keep_auditing(report: OutageReport) -> None:
    assert len(report.audits) == 3
    for name, seen in report.audits.items():
        assert seen["before_faults"] >= 0, name
        assert seen["after_faults"] > seen["before_faults"], (name, seen)
        assert seen["end"] >= seen["after_faults"], (name, seen)


@pytest.mark.slow
@pytest.mark.integration
def test_an_unanchored_receipt_is_challengeable(report: OutageReport, net: Testnet) -> None:
    """Runs last (it moves the chain's clock): a receipt the node signed and never
    anchored is accepted by the Challenges contract once its deadline passes."""
    node = net.party(report.rejoined["party"])
    assert node.endpoint is not None
    with GatewayClient(node.endpoint) as gw:
        served = gw.verify(gw.embed(["a receipt to withhold"]), domain=net.network.domain)
    passphrase = net._state["passphrase"]  # the testnet's own record of its wallets
    key = WalletStore(DataDir(node.data_dir).keystore).unlock("node", passphrase)
    withheld = replace(served, request_id=secrets.token_bytes(32), signature=None).sign(key)
    opened, refused = prove_withheld(net, [withheld])
    assert refused == []
    rid = f"0x{withheld.request_id.hex()}"
    c = net.chain()
    try:
        found = c.challenges.challenge(opened[rid])
        assert found.kind is ChallengeKind.UNANCHORED and found.status is ChallengeStatus.OPEN
        assert found.node.lower() == node.address.lower()
    finally:
        c.close()


def test_the_drill_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    """Too few nodes, no namespaces to cut, or a timeout of nothing: one line, nothing run."""
    parties = [
        {
            "name": f"node-{i}",
            "role": "node",
            "index": i,
            "address": "0x" + f"{i + 1:02x}" * 20,
            "data_dir": str(tmp_path / f"node-{i}"),
            "host": "127.0.0.1",
            "endpoint": f"http://127.0.0.1:{i + 1}",
        }
        for i in range(3)
    ]
    state = {"isolated": False, "parties": parties}
    with pytest.raises(ConfigError, match="needs 3 nodes"):
        run_outage(Testnet(tmp_path, {**state, "parties": parties[:2]}))
    with pytest.raises(ConfigError, match="network namespaces"):
        run_outage(Testnet(tmp_path, state))
    with pytest.raises(ConfigError, match="must be positive"):
        run_outage(Testnet(tmp_path, {**state, "isolated": True}), timeout_s=0)
    assert not (tmp_path / "drill").exists()
