"""``cairn audit --live`` reads the chain: counts, stakes, owners and jail from real contracts.

A real embedded chain (py-evm) holds a network built by _chainnet.py: three
staked nodes, one unbonding, one jailed, two validators in the juror pool, one
model with a one-hour update delay. The auditor reads it from a pinned profile;
a saved /v1/network document that lies about it is reported by what the chain
says, with each lie flagged; addresses whose code is not cairn's are refused.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _chainnet import ETHER, OWNER_DELAY, STAKES, account, build

from cairn.audit import audit_live
from cairn.chain import Network, save_network
from cairn.cli.main import main
from cairn.config import DataDir
from cairn.errors import AuditError


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataDir, Network]:
    return build(tmp_path_factory.mktemp("audited"))


def test_the_chain_says_how_many_operators_and_validators(net: tuple[DataDir, Network]) -> None:
    dd, network = net
    report = audit_live(network=network, data_dir=dd)
    assert report.live is not None
    assert report.live.counts == {
        "inference_operators": 3,  # the unbonding and the jailed node do not count
        "validators": 2,
        "jurors": 2,
        "jailed": 1,
        "disputes_open": 0,
        "disputes_resolved": 0,
    }
    assert report.nakamoto["inference"].coefficient == 2  # 3 + 2 of 6 ether > 1/2
    assert report.nakamoto["verification"].coefficient == 1  # 1 of 2 equal > 1/3
    assert "after 1 hour" in report.rosette["governance"].reason
    assert "embedded chain" in report.rosette["identity_payments"].reason
    assert "no node was asked" in report.live.node_word[0]
    assert "taken at its worst" in report.rosette["storage"].reason
    assert report.to_dict()["live"]["checked"].startswith("network profile 'emb'")


def _lying_document(network: Network) -> dict[str, Any]:
    nodes = [{"address": account(n).address, "stake": 50 * ETHER} for n in STAKES]
    return {
        "chain": {
            "url": "embedded://",
            "chain_id": network.chain_id,
            "kind": "embedded",
            "contracts": {
                "ReceiptAnchor": network.anchor,
                "Staking": network.staking,
                "ModelRegistry": network.registry,
                "Disputes": network.disputes,
            },
        },
        "nodes": [*nodes, {"address": account("cheat").address, "stake": ETHER}],
        "registry": {"update_delay_s": 604800, "owners": ["0x" + "77" * 20]},
        "inference": {"operators": 9, "runtime": "onnxruntime", "sealed_requests": True},
        "verification": {"sampling_rate": 0.5, "slashing": True, "min_stake": 1},
    }


def test_a_lying_node_is_reported_by_what_the_chain_says(
    net: tuple[DataDir, Network], tmp_path: Path
) -> None:
    dd, network = net
    saved = tmp_path / "network.json"
    saved.write_text(json.dumps(_lying_document(network)))
    report = audit_live(saved.as_uri(), chain="embedded://", data_dir=dd)
    lies = [f.evidence for f in report.red_flags if f.id == "node-contradicts-chain"]
    text = "\n".join(lies)
    assert f"stakes {50 * ETHER} wei; the chain: {3 * ETHER}" in text
    assert f"{account('cheat').address} staking {ETHER} wei; the chain: jailed" in text
    assert "9 inference operators; the chain counts 3" in text
    assert f"the chain: {account('n1').address}" in text  # the registry owner
    assert f"updates wait 604800 s; the chain: {OWNER_DELAY} s" in text
    assert "it says 50.00% of receipts are sampled; the chain: 5.00%" in text
    assert all(line.endswith("the chain's answer is used") for line in lies)
    # ... and the report stands on the chain's answers
    assert report.live is not None and report.live.counts["inference_operators"] == 3
    assert report.nakamoto["inference"].coefficient == 2
    assert "after 1 hour" in report.rosette["governance"].reason
    # what only a node can say is used, and marked as its word
    assert any("whether requests are sealed" in w for w in report.live.node_word)
    assert report.questions[5].answer.endswith("(rests on the node's word)")
    assert "encrypted: prompts (inference)" in report.questions[5].answer


def test_an_honest_document_raises_no_flag(net: tuple[DataDir, Network], tmp_path: Path) -> None:
    dd, network = net
    doc = _lying_document(network)
    doc |= {
        "nodes": [{"address": account(n).address, "stake": s} for n, s in STAKES.items()],
        "registry": {"update_delay_s": OWNER_DELAY, "owners": [account("n1").address]},
        "inference": {"operators": 1},
        "verification": {"sampling_rate": 0.05, "slashing": True},
    }
    saved = tmp_path / "network.json"
    saved.write_text(json.dumps(doc))
    report = audit_live(saved.as_uri(), chain="embedded://", data_dir=dd)
    assert [f for f in report.red_flags if f.id == "node-contradicts-chain"] == []


@pytest.mark.parametrize(
    ("swap", "message"),
    [
        ({"staking": "registry"}, "is not cairn's Staking: its runtime code hash"),
        ({"anchor": "disputes"}, "is not cairn's ReceiptAnchor"),
        ({"registry": "anchor"}, "is not cairn's ModelRegistry"),
        (
            {"disputes": "0x" + "12" * 20},
            "Disputes 0x1212121212121212121212121212121212121212: no contract",
        ),
    ],
)
def test_addresses_whose_code_is_not_cairns_are_refused(
    net: tuple[DataDir, Network], swap: dict[str, str], message: str
) -> None:
    dd, network = net
    field, to = next(iter(swap.items()))
    changes: dict[str, Any] = {field: getattr(network, to, None) or to}
    forged = replace(network, **changes)
    with pytest.raises(AuditError, match=message):
        audit_live(network=forged, data_dir=dd)


def test_the_cli_refuses_foreign_code_in_one_line(
    net: tuple[DataDir, Network],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dd, network = net
    monkeypatch.setenv("CAIRN_DATA_DIR", str(dd.root))
    save_network(dd, replace(network, name="forged", staking=network.registry or ""))
    assert main(["audit", "--network", "forged", "--json"]) == 1
    err = capsys.readouterr().err
    assert "is not cairn's Staking" in err and err.strip().count("\n") == 0
    save_network(dd, network)
    assert main(["audit", "--network", "emb", "--json"]) == 0
    live = json.loads(capsys.readouterr().out)["live"]
    assert (live["counts"]["inference_operators"], live["counts"]["validators"]) == (3, 2)
