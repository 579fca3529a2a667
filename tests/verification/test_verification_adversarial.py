"""Cheaters against real processes: a chain, five nodes, four validators, one bad challenger.

Every party is its own process — the chain (Anvil, or the embedded py-evm chain
served over JSON-RPC), the nodes (the real gateway, faults injected by a test
double of the runtime or store), three honest validators (``cairn validator
run``) and one that votes against its findings. The test only sends requests,
moves the chain's clock past the voting windows and checks the ledger: the
right parties slashed, paid and jailed, every balance to the wei.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_hash.auto import keccak

from cairn.chain import (
    BURN,
    DeployParams,
    DisputeKind,
    DisputeParams,
    Outcome,
    Role,
    connect,
)
from cairn.chain.challenges import ChallengeKind, ChallengeStatus
from cairn.identity import LocalSigner
from cairn.inference import digits_split
from cairn.verification import reputation
from cairn.verification.economics import convict, settle

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
PY = sys.executable
ETHER = 10**18
DPARAMS = DisputeParams(
    # Seats are drawn by stake with replacement, never to the dispute's challenger. The
    # liar (1 of the validators' 10 ETH) opens no disputes, so it is drawn on all four
    # juries: it holds 1/7 of the stake on the three honest validators open and 1/10 on the
    # bad challenger's. Odds per run (binomial, 15 seats): it wins some jury's majority
    # ~1.3e-3, it draws no seat at all ~2e-4; the contract caps a committee at 15.
    committee_size=15,
    draw_window=100,
    # chain time follows the wall clock here: on a loaded machine (CI, the whole suite on
    # two cores) a juror needed more than 100 s to commit or reveal; windows of 300 s
    # leave room, and the test moves the clock past each one itself
    leave_delay=1000,  # more than draw + commit + reveal
    commit_window=300,
    reveal_window=300,
    jail_period=5000,
    juror_penalty=ETHER // 50,
    challenge_bond=ETHER // 10,
    full_audit_receipts=1000,
    response_window=100,
)
NODE_STAKE = 2 * ETHER
FAULTS = {"honest": 3, "wrong": 100, "other-model": 1, "cached": 2, "refuses": 1, "unlisted": 1}
WITHHOLDS = {"refuses": ChallengeKind.WITHHELD_INPUT, "unlisted": ChallengeKind.WITHHELD_LEAF}
HONEST, DISHONEST, BAD_CHALLENGER = ("v1", "v2", "v3"), "v4", "v5"
STAKE = {"v1": 3 * ETHER, "v2": 3 * ETHER, "v3": 3 * ETHER, "v4": ETHER, "v5": ETHER}

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _key(name: str) -> str:
    return "0x" + keccak(f"cairn-adversarial-{name}".encode()).hex()


def _signer(name: str) -> LocalSigner:
    return LocalSigner.from_hex(_key(name))


def _addr(name: str) -> str:
    return _signer(name).address


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain(proc: subprocess.Popen[bytes], log: Any) -> None:
    """Keep reading a process's stdout so it never blocks on a full pipe."""
    assert proc.stdout is not None
    for line in proc.stdout:
        log.write(line)
        log.flush()


class Procs:
    def __init__(self, log_dir: Path) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.log_dir = log_dir

    def start(
        self, name: str, args: list[str], ready: str | None = None, timeout: float = 120
    ) -> tuple[subprocess.Popen[bytes], list[str]]:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )  # anvil's npm wrapper has a child
        self.procs.append((name, proc))
        lines: list[str] = []
        if ready is None:
            return proc, lines
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            if not line and proc.poll() is not None:
                err = (self.log_dir / f"{name}.log").read_text()[-2000:]
                raise AssertionError(f"{name} exited {proc.returncode}: {err}")
            lines.append(line.strip())
            if ready in line:
                threading.Thread(target=_drain, args=(proc, log), daemon=True).start()
                return proc, lines
        raise AssertionError(f"{name} not ready in {timeout}s")

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.stop()


def _start_chain(backend: str, procs: Procs) -> tuple[str, list[str]]:
    port = _free_port()
    if backend == "anvil":
        exe = ROOT / "node_modules" / ".bin" / "anvil"
        procs.start(
            "anvil", [str(exe), "--port", str(port), "--host", "127.0.0.1"], ready="Listening on"
        )
        return f"http://127.0.0.1:{port}", []
    _proc, lines = procs.start(
        "chain", [PY, str(HERE / "_chain_server.py"), str(port)], ready="READY"
    )
    keys = json.loads(next(x for x in lines if x.startswith("KEYS "))[5:])
    return f"http://127.0.0.1:{port}", keys


def _wait(
    what: str, cond: Callable[[], Any], timeout: float = 180, mine: Callable[[], None] | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = cond()
        if found:
            return found
        if mine is not None:
            mine()
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _ledger(chain: Any, opened: list[Any], outcome: dict[int, Outcome]) -> Any:
    """What each dispute must have paid, from its seats and revealed votes (docs/verification.md).

    Returns (wei gained per address, stake penalized per address, wei burned).
    """
    gained: Counter[str] = Counter()
    penalized: Counter[str] = Counter()
    burned = 0
    for d in opened:
        info = chain.disputes.dispute(d.id)
        seats = Counter(info.committee)
        votes = {j: chain.disputes.vote_of(d.id, j) for j in seats}
        result = settle(DPARAMS, seats, votes, NODE_STAKE)
        assert result.outcome is outcome[d.id]
        gained[d.challenger] += result.challenger_credit - DPARAMS.challenge_bond
        gained.update(result.paid)
        penalized.update(result.penalties)
        burned += result.burned
    return gained, penalized, burned


def _gas_spent(chain: Any, address: str, start: int) -> int:
    total = 0
    for n in range(start, chain.head() + 1):
        for tx in chain.rpc("eth_getBlockByNumber", [hex(n), True])["transactions"]:
            if tx["from"].lower() == address.lower():
                r = chain.rpc("eth_getTransactionReceipt", [tx["hash"]])
                total += int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16)
    return total


def _infer(url: str, pixels: Any) -> dict[str, Any]:
    body = {
        "inputs": {
            "pixels": {"dtype": "float32", "shape": [1, 64], "data": [float(x) for x in pixels]}
        }
    }
    reply = httpx.post(f"{url}/v1/infer/digits-logreg", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["receipt"])


@pytest.mark.parametrize("backend", ["embedded", "anvil"])
def test_cheaters_are_slashed_and_honest_parties_are_not(
    backend: str, procs: Procs, tmp_path: Path
) -> None:
    url, keys = _start_chain(backend, procs)
    dirs = {n: tmp_path / n for n in ("deployer", *FAULTS, *HONEST, DISHONEST)}
    chain = connect(url, dirs["deployer"])
    funder = LocalSigner.from_hex(keys[0]) if keys else chain.dev_keys()[0]
    chain.deploy(funder, DeployParams(unbonding_delay=1000), disputes=DPARAMS)
    for name, d in dirs.items():
        (d / "chain").mkdir(parents=True, exist_ok=True)
        if name != "deployer":
            shutil.copy(dirs["deployer"] / "chain" / "deployments.json", d / "chain")
    for name in (*FAULTS, *HONEST, DISHONEST, BAD_CHALLENGER):
        chain.transfer(funder, _addr(name), 20 * ETHER)
    for name in (*HONEST, DISHONEST, BAD_CHALLENGER):
        chain.staking.register(_signer(name), Role.VALIDATOR, "")
        chain.staking.stake(_signer(name), STAKE[name])
        if name != BAD_CHALLENGER:  # it only challenges; it never sits on a committee
            chain.disputes.join(_signer(name))
    chain.mine(DPARAMS.activation_blocks)  # the pool counts from here on
    start = chain.head() + 1
    watched = [_addr(n) for n in (*HONEST, DISHONEST, BAD_CHALLENGER)]
    before = {a: chain.balance(a) for a in [*watched, BURN]}

    def mine() -> None:
        chain.increase_time(0)  # mines a block (the clock moves at most a second)

    nodes = {}
    for fault in FAULTS:
        port = _free_port()
        procs.start(
            f"node-{fault}",
            [
                PY,
                str(HERE / "_node_server.py"),
                str(dirs[fault]),
                url,
                str(port),
                _key(fault),
                fault,
            ],
            ready="READY",
        )
        nodes[fault] = f"http://127.0.0.1:{port}"
    for name in HONEST:
        procs.start(
            name,
            [
                PY,
                "-m",
                "cairn",
                "--data-dir",
                str(dirs[name]),
                "validator",
                "run",
                "--chain",
                url,
                "--key",
                _key(name),
                "--interval",
                "0.3",
                "--patience",
                "1",
            ],
            ready="juror pool",
        )
    procs.start(
        DISHONEST,
        [PY, str(HERE / "_dishonest_validator.py"), str(dirs[DISHONEST]), url, _key(DISHONEST)],
        ready="READY",
    )

    pixels = digits_split()[1]
    honest_receipts = []
    for fault, count in FAULTS.items():
        for i in range(count):
            r = _infer(nodes[fault], pixels[i])
            if fault == "honest":
                honest_receipts.append(r)

    # the bad challenger disputes an honest receipt once it is anchored
    from cairn.receipts import Receipt
    from cairn.verification import evidence_for

    def honest_batch() -> Any:
        got = httpx.get(f"{nodes['honest']}/v1/receipts/{honest_receipts[0]['requestId']}").json()
        return (
            got
            if got["batch_id"] is not None
            and chain.anchor.commitment_of(_addr("honest"), got["batch_id"])
            else None
        )

    batch_id = _wait("honest anchor", honest_batch)["batch_id"]
    members = [
        Receipt.from_json(r)
        for r in httpx.get(f"{nodes['honest']}/v1/batches/{batch_id}").json()["receipts"]
    ]
    target = next(r for r in members if r.request_id.hex() == honest_receipts[0]["requestId"][2:])
    chain.disputes.open(
        _signer(BAD_CHALLENGER),
        evidence_for(target, members, batch_id),
        b"\7" * 32,
        DisputeKind.WRONG_OUTPUT,
    )

    faulty = [f for f in FAULTS if f != "honest" and f not in WITHHOLDS]  # a withheld input
    # or leaf is not judged by a jury (jurors would abstain): the contract judges it

    def every_cheater_disputed() -> Any:
        found = chain.disputes.opened()
        return found if {x.node for x in found} >= {_addr(f) for f in faulty} else None

    opened = _wait(
        "a dispute against every cheater", every_cheater_disputed, mine=mine, timeout=240
    )
    for withholder in WITHHOLDS:
        _wait(
            f"a challenge against the node that withholds ({withholder})",
            lambda w=withholder: chain.challenges.challenges(node=_addr(w)),
            mine=mine,
        )

    def all_committed() -> bool:
        infos = [chain.disputes.dispute(d.id) for d in opened]
        return all(
            i.commit_deadline and all(chain.disputes.commitment_of(i.id, j) for j in i.committee)
            for i in infos
        )

    _wait("every juror's commitment", all_committed, mine=mine, timeout=300)
    chain.increase_time(DPARAMS.commit_window + 1)
    _wait(
        "every juror's reveal",
        lambda: all(
            all(chain.disputes.vote_of(d.id, j) for j in chain.disputes.dispute(d.id).committee)
            for d in opened
        ),
        mine=mine,
        timeout=300,
    )
    chain.increase_time(DPARAMS.reveal_window + 1)
    _wait(
        "every dispute resolved",
        lambda: all(chain.disputes.dispute(d.id).status is not Outcome.OPEN for d in opened),
        mine=mine,
    )
    for withholder in WITHHOLDS:
        _wait(  # silent past the response window (the clock moved past it): convicted by anyone
            f"the withholding node convicted ({withholder})",
            lambda w=withholder: chain.challenges.convictions(node=_addr(w)),
            mine=mine,
        )
    _wait(  # payouts are pulled: each validator claims its own on a later tick
        "every payout claimed",
        lambda: all(chain.disputes.claimable(_addr(n)) == 0 for n in (*HONEST, DISHONEST)),
        mine=mine,
    )

    # -- the ledger ---------------------------------------------------------------------------
    opened = chain.disputes.opened()
    outcome = {d.id: chain.disputes.dispute(d.id).status for d in opened}
    by_node: dict[str, list[Any]] = {}
    for d in opened:
        by_node.setdefault(d.node, []).append(d)
    convicted = convict(DPARAMS, NODE_STAKE, DPARAMS.challenge_bond)
    for withholder, kind in WITHHOLDS.items():
        assert _addr(withholder) not in by_node  # no jury: the contract convicted it
        (withheld,) = chain.challenges.convictions(node=_addr(withholder))
        assert withheld.kind is kind
        assert (withheld.slashed, withheld.reward) == (convicted.slashed, convicted.reward)
        assert chain.staking.participant(_addr(withholder)).stake == NODE_STAKE - convicted.slashed
        assert chain.disputes.is_jailed(_addr(withholder))
    for fault in faulty:
        (d,) = by_node[_addr(fault)]  # exactly one wrong receipt each, disputed once
        assert outcome[d.id] is Outcome.GUILTY, fault
        assert d.kind is DisputeKind.WRONG_OUTPUT
        assert chain.staking.participant(_addr(fault)).stake == NODE_STAKE // 2
        assert chain.disputes.is_jailed(_addr(fault))
    (bogus,) = by_node[_addr("honest")]
    assert bogus.challenger == _addr(BAD_CHALLENGER) and outcome[bogus.id] is Outcome.CLEARED
    assert chain.staking.participant(_addr("honest")).stake == NODE_STAKE
    assert not chain.disputes.is_jailed(_addr("honest"))

    gained, penalized, burned = _ledger(chain, opened, outcome)
    for c in chain.challenges.challenges():  # objective challenges, to the wei
        info = chain.challenges.challenge(c.id)
        if info.status == ChallengeStatus.UPHELD:
            assert info.node in {_addr(w) for w in WITHHOLDS}
            result = convict(DPARAMS, NODE_STAKE, DPARAMS.challenge_bond)
            gained[c.challenger] += result.challenger_credit - DPARAMS.challenge_bond
            burned += result.burned
        else:  # answered: the challenger's bond went to the node
            assert info.status == ChallengeStatus.ANSWERED, c
            gained[c.challenger] -= DPARAMS.challenge_bond
    for a in watched:
        assert chain.balance(a) == before[a] - _gas_spent(chain, a, start) + gained[a], a
    liar = _addr(DISHONEST)
    liar_seats = sum(chain.disputes.dispute(d.id).committee.count(liar) for d in opened)
    assert liar_seats > 0, "the liar drew no seat on any jury (odds ~2e-4 per run)"
    assert penalized[liar] == liar_seats * DPARAMS.juror_penalty  # it voted against each
    assert chain.staking.participant(liar).stake == STAKE[DISHONEST] - penalized[liar]
    for name in HONEST:
        assert gained[_addr(name)] > 0  # jurors voting with the outcome are paid
        assert chain.staking.participant(_addr(name)).stake == STAKE[name]
    assert chain.balance(BURN) == before[BURN] + burned
    assert chain.balance(chain.disputes.address) == 0

    # -- reputation, as a client sees it -------------------------------------------------------
    assert reputation(chain, _addr("honest")).score > 0.5
    assert reputation(chain, _addr("wrong")).score == 0.0
    shown = subprocess.run(
        [
            PY,
            "-m",
            "cairn",
            "--data-dir",
            str(dirs["deployer"]),
            "node",
            "show",
            _addr("wrong"),
            "--chain",
            url,
            "--json",
        ],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    rep = json.loads(shown.stdout)
    assert rep["disputes_lost"] == 1 and rep["jailed"] and rep["sampled"] == FAULTS["wrong"]
    assert rep["audited"] >= rep["failed"] >= 1  # what validators disputed, not the sample
