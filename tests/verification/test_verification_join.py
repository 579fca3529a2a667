"""A newcomer joins a running network from its own data dir, through the node's RPC proxy.

``cairn up`` runs in one data dir, as its own process: its embedded chain lives
inside that process, so the node's ``/v1/chain/rpc`` is the only way to it.
Everything else runs from other data dirs, the way a newcomer would: ``cairn
network add n --from GATEWAY``, ``cairn validator run --network n`` (registers,
stakes and joins the juror pool with transactions it signs and the proxy
relays) and ``cairn node show``. The assertions read the chain, through the
proxy too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))
from _up import start_up, up_env

from cairn.chain import Disputes, Role, Staking, check_network, load_network
from cairn.chain.devnet import free_port
from cairn.config import DataDir

pytestmark = pytest.mark.slow

# eth-tester's second prefunded account (the first deployed the contracts); a newcomer
# on a real network brings its own funded key.
FUNDED = "0x" + "00" * 31 + "02"
UNFUNDED = "0x" + "77" * 32
LOOP = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP: burns every unit of gas it is given


@dataclass
class Up:
    gateway: str
    node: str  # the node's address
    data: Path  # the node's own data dir
    newcomer: Path  # another data dir, with the network pinned as "n"

    @property
    def rpc(self) -> str:
        return f"{self.gateway}/v1/chain/rpc"


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cairn", *args],
        env=up_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _rpc(up: Up, method: str, params: list[Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply: dict[str, Any] = httpx.post(up.rpc, json=body, timeout=60).json()
    return reply


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root, port = tmp_path_factory.mktemp("join"), free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CAIRN_MODELS", "digits-logreg")  # the small model: a quick start
        proc = start_up(root / "node", port)
    try:
        gateway = f"http://127.0.0.1:{port}"
        node = httpx.get(f"{gateway}/healthz").json()["node"]
        added = _cli(root / "newcomer", "network", "add", "n", "--from", gateway, "--json")
        assert added.returncode == 0, added.stderr
        pinned = json.loads(added.stdout)  # one JSON object, nothing else on stdout
        assert pinned["name"] == "n" and pinned["rpc"] == f"{gateway}/v1/chain/rpc"
        yield Up(gateway, node, root / "node", root / "newcomer")
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def test_a_validator_joins_from_its_own_data_dir_through_the_node_proxy(
    up: Up, tmp_path: Path
) -> None:
    lost = _cli(tmp_path, "validator", "run", "--chain", up.rpc, "--key", FUNDED, "--once")
    assert lost.returncode == 1 and "cairn network add" in lost.stderr, lost.stderr
    assert len(lost.stderr.strip().splitlines()) == 1

    broke = _cli(up.newcomer, "validator", "run", "--network", "n", "--key", UNFUNDED, "--once")
    assert broke.returncode == 1 and "fund it" in broke.stderr, broke.stderr

    joined = _cli(up.newcomer, "validator", "run", "--network", "n", "--key", FUNDED, "--once")
    assert joined.returncode == 0, joined.stderr
    assert "in the juror pool" in joined.stdout

    network = load_network(DataDir(up.newcomer), "n")
    assert network.rpc == up.rpc  # an embedded network is read through its node
    chain = check_network(network)
    me = joined.stdout.split()[1]
    assert network.disputes is not None
    assert chain._at(Staking, network.staking).is_staked(me, Role.VALIDATOR)
    assert chain._at(Disputes, network.disputes).in_pool(me)
    # the profile's contracts were used, not recorded as this data dir's own deployment
    assert not (up.newcomer / "chain" / "deployments.json").exists()

    again = _cli(up.newcomer, "validator", "run", "--chain", up.rpc, "--key", FUNDED, "--once")
    assert again.returncode == 0, again.stderr  # --chain alone finds the pinned profile


def test_the_proxy_relays_signed_transactions_and_nothing_that_signs(up: Up) -> None:
    for method in ("eth_sendTransaction", "eth_sign", "eth_accounts", "evm_mine"):
        assert _rpc(up, method, [])["error"]["code"] == -32601, method
    for method in ("eth_gasPrice", "eth_maxPriorityFeePerGas"):
        assert _rpc(up, method, [])["result"].startswith("0x"), method
    assert "baseFeePerGas" in _rpc(up, "eth_feeHistory", ["0x2", "latest", []])["result"]
    missing = _rpc(up, "eth_getTransactionByHash", ["0x" + "00" * 32])
    assert "error" not in missing and missing["result"] is None
    garbage = _rpc(up, "eth_sendRawTransaction", ["0x02c0"])
    assert garbage["error"]["code"] != -32601  # relayed, and refused by the chain
    started = time.monotonic()
    heavy = _rpc(up, "eth_estimateGas", [{"from": up.node, "data": LOOP, "gas": hex(2**62)}])
    assert "error" in heavy and time.monotonic() - started < 10  # still capped

    # a signed transaction is capped like a call: it would hold the chain as long
    from eth_account import Account

    me = Account.from_key(FUNDED)
    nonce = int(_rpc(up, "eth_getTransactionCount", [me.address, "pending"])["result"], 16)
    fields = {
        "to": "0x000000000000000000000000000000000000dEaD",
        "value": 1,
        "nonce": nonce,
        "chainId": int(_rpc(up, "eth_chainId", [])["result"], 16),
        "gasPrice": int(_rpc(up, "eth_gasPrice", [])["result"], 16),
    }

    def signed(gas: int) -> str:
        return "0x" + Account.sign_transaction({**fields, "gas": gas}, FUNDED).raw_transaction.hex()

    over = _rpc(up, "eth_sendRawTransaction", [signed(29_000_000)])
    assert "over this node's relay cap of 5000000" in over["error"]["message"]
    sent = _rpc(up, "eth_sendRawTransaction", [signed(21_000)])["result"]
    mined = _rpc(up, "eth_getTransactionReceipt", [sent])["result"]
    assert mined is not None and int(mined["status"], 16) == 1


def test_node_show_reads_through_the_proxy_and_counts_no_audit_nobody_made(up: Up) -> None:
    ids = []
    for i in range(5):
        pixels = {"dtype": "float32", "shape": [1, 64], "data": [float(i)] * 64}
        body = {"inputs": {"pixels": pixels}}
        answer = httpx.post(f"{up.gateway}/v1/infer/digits-logreg", json=body, timeout=60)
        ids.append(answer.json()["receipt"]["requestId"])
    deadline = time.monotonic() + 60
    while not all(
        httpx.get(f"{up.gateway}/v1/receipts/{rid}/proof").json().get("anchored") for rid in ids
    ):
        assert time.monotonic() < deadline, "receipts not anchored"
        time.sleep(0.5)
    # the sample is drawn from the block after the anchor: the embedded chain mines it when
    # a request finds its clock a second ahead (a read of /v1/network is one such request)
    deadline = time.monotonic() + 30
    while True:
        time.sleep(1.1)
        httpx.get(f"{up.gateway}/v1/network", timeout=30)
        shown = _cli(up.newcomer, "node", "show", up.node, "--chain", up.rpc, "--json")
        assert shown.returncode == 0, shown.stderr
        rep = json.loads(shown.stdout)
        if rep["sampled"] >= 5 or time.monotonic() > deadline:
            break
    assert rep["receipts"] >= 5 and rep["sampled"] >= 5, rep
    assert (rep["audited"], rep["passed"], rep["failed"]) == (0, 0, 0)

    text = _cli(up.newcomer, "node", "show", up.node, "--network", "n")
    assert text.returncode == 0 and "none onchain" in text.stdout, text.stderr

    by_name = _cli(up.data, "node", "show", "node", "--chain", up.rpc, "--json")  # a wallet
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads(by_name.stdout)["node"] == up.node

    for garbage, says in (("0xnothex", "not an address"), ("nobody", "nor a wallet name")):
        refused = _cli(up.newcomer, "node", "show", garbage, "--network", "n")
        assert refused.returncode == 1 and says in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
