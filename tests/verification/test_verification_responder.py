"""A running node answers objective challenges onchain by itself (an input, a leaf, an
inclusion proof); one that lost the input is slashed when the window passes.

Real processes: the embedded chain over JSON-RPC, two gateways composed by
``bootstrap`` (an honest one, and one whose store lost every input:
``cairn.testing.RefusingStore``, the ``refuses`` fault of ``_node_server.py``). A
staked validator challenges one receipt of each; money is checked to the wei.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _vnet import DPARAMS, PARAMS
from test_verification_adversarial import (  # the same process harness
    HERE,
    PY,
    Procs,
    _free_port,
    _gas_spent,
    _key,
    _signer,
    _start_chain,
    _wait,
    procs,  # noqa: F401 - a fixture
)

from cairn.chain import BURN, Role, connect
from cairn.chain.challenges import ChallengeStatus
from cairn.identity import LocalSigner
from cairn.inference import digits_split
from cairn.receipts import Receipt
from cairn.verification import evidence_for
from cairn.verification.economics import convict

ETHER = 10**18
NODES = ("honest", "refuses")

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _receipt_and_batch(url: str, pixels: Any) -> tuple[Receipt, list[Receipt], int]:
    body = {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": list(pixels)}}}
    reply = httpx.post(f"{url}/v1/infer/digits-logreg", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    request_id = reply.json()["receipt"]["requestId"]

    def anchored() -> Any:
        got = httpx.get(f"{url}/v1/receipts/{request_id}", timeout=10).json()
        return got if got.get("batch_id") is not None else None

    batch_id = int(_wait("the receipt anchored", anchored)["batch_id"])
    listed = httpx.get(f"{url}/v1/batches/{batch_id}", timeout=10).json()
    members = [Receipt.from_json(r) for r in listed["receipts"]]
    receipt = next(r for r in members if "0x" + r.request_id.hex() == request_id)
    return receipt, members, batch_id


def _answered(chain: Any, challenge_id: int) -> None:
    _wait(
        f"the honest node's answer to challenge {challenge_id}",
        lambda: chain.challenges.challenge(challenge_id).status == ChallengeStatus.ANSWERED,
        timeout=60,
    )


def test_a_node_answers_challenges_itself_and_one_that_lost_the_input_is_slashed(
    procs: Procs,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    url, keys = _start_chain("embedded", procs)
    deployer = tmp_path / "deployer"
    chain = connect(url, deployer)
    funder = LocalSigner.from_hex(keys[0])
    chain.deploy(funder, PARAMS, disputes=DPARAMS)
    validator = _signer("v1")
    for name in (*NODES, "v1"):
        chain.transfer(funder, _signer(name).address, 20 * ETHER)
    chain.staking.register(validator, Role.VALIDATOR, "")
    chain.staking.stake(validator, ETHER)
    urls = {}
    for fault in NODES:
        (tmp_path / fault / "chain").mkdir(parents=True)
        shutil.copy(deployer / "chain" / "deployments.json", tmp_path / fault / "chain")
        port = _free_port()
        args = [PY, str(HERE / "_node_server.py"), str(tmp_path / fault), url, str(port)]
        procs.start(f"node-{fault}", [*args, _key(fault), fault], ready="READY")
        urls[fault] = f"http://127.0.0.1:{port}"
    pixels = digits_split()[1]
    evidence = {
        f: evidence_for(*_receipt_and_batch(urls[f], [float(x) for x in pixels[i]]))
        for i, f in enumerate(NODES)
    }
    start = chain.head() + 1
    honest, refuses = (_signer(f).address for f in NODES)
    before = {a: chain.balance(a) for a in (honest, validator.address, BURN)}
    opened = {f: chain.challenges.challenge_input(validator, evidence[f]) for f in NODES}

    # the honest node answers by itself, and pulls the bond the challenger lost
    _wait(
        "the honest node's answer",
        lambda: (
            chain.challenges.challenge(opened["honest"].value).status == ChallengeStatus.ANSWERED
        ),
        timeout=60,
    )
    [posted] = chain.challenges.input_answers(start, node=honest)
    assert posted.answerer == honest
    assert hashlib.sha256(posted.input).digest() == evidence["honest"].receipt.input_hash
    _wait("the node's claim", lambda: chain.disputes.claimable(honest) == 0, timeout=30)
    gained = DPARAMS.challenge_bond - _gas_spent(chain, honest, start)
    assert chain.balance(honest) == before[honest] + gained
    assert chain.staking.participant(honest).stake == 2 * ETHER
    assert not chain.disputes.is_jailed(honest)

    # the node whose store lost the input stays silent: slashed once the window passes
    time.sleep(3)  # several responder ticks
    assert chain.challenges.challenge(opened["refuses"].value).status == ChallengeStatus.OPEN
    chain.increase_time(DPARAMS.response_window + 1)
    slashable = chain.staking.participant(refuses).stake
    expected = convict(DPARAMS, slashable, DPARAMS.challenge_bond)
    done = chain.challenges.resolve(validator, opened["refuses"].value)
    assert (done.value.slashed, done.value.reward) == (expected.slashed, expected.reward)
    assert chain.staking.participant(refuses).stake == slashable - expected.slashed
    assert chain.disputes.is_jailed(refuses)
    assert chain.balance(BURN) == before[BURN] + expected.burned
    chain.disputes.claim(validator)
    spent = _gas_spent(chain, validator.address, start)
    assert chain.balance(validator.address) == (
        before[validator.address] - 2 * DPARAMS.challenge_bond - spent + expected.challenger_credit
    )

    # a leaf the validator could not list, and a client's "never anchored?": the honest
    # node posts the leaf with its proof and proves the inclusion, by itself
    e = evidence["honest"]
    anchored = chain.anchor.get(honest, e.batch_id)
    assert anchored is not None
    leaf = chain.challenges.challenge_leaf(
        validator, honest, e.batch_id, e.leaf_index, anchored.root, anchored.receipt_count
    )
    _answered(chain, leaf.value)
    chain.increase_time(DPARAMS.anchor_deadline + 400)  # past the anchoring deadline and skew
    client = _signer("refuses")  # any holder of the receipt may ask, staked or not
    _answered(chain, chain.challenges.challenge_anchor(client, e.receipt).value)
    [answer] = chain.challenges.leaf_answers(chain.disputes.receipt_domain, start, node=honest)
    assert answer.evidence == e  # the posted leaf is the dispute evidence, proof and all
    assert chain.staking.participant(honest).stake == 2 * ETHER
    assert not chain.disputes.is_jailed(honest)
