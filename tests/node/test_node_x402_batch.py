"""x402 ``batch-settlement`` on a real gateway, paid by the official x402 Python SDK.

A node serves the digits model at :data:`PRICE` a call with scheme
``batch-settlement`` only, on the embedded chain and on Anvil, with x402's
BatchSettlement and EIP-3009 collector at their canonical addresses (the node
installs them on a development chain). The SDK's batch-settlement client,
unmodified (tests/node/x402_batch_peer.py, in .venv-x402), deposits once and pays
each later call with a cumulative voucher; every answer's receipt verifies and
carries the price, and one claim moves exactly what was charged. A second client
process, which knows only what the chain says, resyncs from the node's corrective
402; a cooperative refund returns the rest. Bad payments are refused with one line
each and nothing is served; 50 concurrent requests with one voucher are served once.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from eth_hash.auto import keccak
from sklearn.datasets import load_digits

from cairn.chain.batch import (
    ERC3009_COLLECTOR_ADDRESS,
    ChannelConfig,
    channel_id,
    deposit_nonce,
    sign_voucher,
)
from cairn.chain.token import sign_authorization
from cairn.client.gateway import verify_answer
from cairn.identity import LocalSigner
from cairn.node.bootstrap import Claimer
from cairn.payments import BatchScheme, Offer, Payment, Requirement
from cairn.payments.batch import MISMATCH
from cairn.payments.x402 import PAYMENT_REQUIRED, PAYMENT_SIGNATURE

ROOT = Path(__file__).resolve().parents[2]
X402_PYTHON = ROOT / ".venv-x402" / "bin" / "python"
HERE = Path(__file__).parent
PRICE = 1000
DEPOSIT = 10 * PRICE  # what the SDK deposits: minDeposit, within 5 × its per-call cap
MODEL = "digits-logreg"

_digits = load_digits()
REQUEST = {
    "inputs": {
        "pixels": {
            "dtype": "float32",
            "shape": [1, 64],
            "data": _digits.data[:1].astype(np.float32).ravel().tolist(),
        }
    }
}


def payer(name: str) -> LocalSigner:
    return LocalSigner(keccak(f"cairn-test-x402-batch-{name}".encode()))


PAYERS = {name: payer(name) for name in ("session", "resync", "refund", "bad", "crowd")}


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.integration)]
)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A node paid with batch-settlement only; each payer holds CairnUSD."""
    chain = (
        "embedded://"
        if request.param == "embedded"
        else request.getfixturevalue("wall_clock_anvil")
    )
    start = request.getfixturevalue("start")
    node, server, thread = start(
        tmp_path_factory.mktemp("x402-batch"),
        chain,
        models=(MODEL,),
        prices={MODEL: PRICE},
        payment_schemes=("batch-settlement",),
        claim_interval_s=3600,  # the tests claim; the node claims at shutdown
    )
    ctx = node.ctx
    with ctx.chain_lock:
        deployer = ctx.chain.dev_keys()[0]
        for p in PAYERS.values():
            ctx.chain.token.mint(deployer, p.address, 10**9)
    yield node
    server.should_exit = True
    thread.join(timeout=30)
    node.ctx.close()


def _url(live: Any) -> str:
    return f"{live.url}/v1/infer/{MODEL}"


def _scheme(live: Any) -> BatchScheme:
    scheme = live.ctx.cashier.schemes["batch-settlement"]
    assert isinstance(scheme, BatchScheme)
    return scheme


def _receiver(live: Any) -> str:
    """Where the node is paid: its revenue splitter (the validator pool takes its share
    there), as the batch-settlement offer names it."""
    return str(live.ctx.cashier.schemes["batch-settlement"].pay_to)


def _balance(live: Any, address: str) -> int:
    with live.ctx.chain_lock:
        return int(live.ctx.chain.token.balance_of(address))


def _claim(live: Any) -> Any:
    return _scheme(live).claim_and_settle()


def _sdk(live: Any, who: str, calls: int, *, rpc: bool = False, refund: str = "") -> list[Any]:
    """The SDK's client pays ``calls`` calls as ``who``; its output lines, decoded."""
    if not X402_PYTHON.exists():
        pytest.fail("x402 venv missing: run `make test` (it builds .venv-x402)")
    ctx = live.ctx
    args = [
        str(X402_PYTHON),
        str(HERE / "x402_batch_peer.py"),
        _url(live),
        "0x" + PAYERS[who].private_key.hex(),
        json.dumps(REQUEST),
        f"eip155:{ctx.chain.chain_id}",
        ctx.chain.token.address,
        str(2 * PRICE),
        str(calls),
        f"{live.url}/v1/chain/rpc" if rpc else "-",
        *([refund] if refund else []),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _sdk_channel(live: Any, who: str) -> bytes:
    """The channel the SDK client opens: its own address as payerAuthorizer, a zero salt."""
    p = PAYERS[who]
    config = ChannelConfig(
        payer=p.address,
        payer_authorizer=p.address,
        receiver=_receiver(live),
        receiver_authorizer=live.ctx.signer.address,
        token=live.ctx.chain.token.address,
    )
    return channel_id(config, live.ctx.chain.chain_id)


def _check_answers(live: Any, lines: list[Any], charged_before: int = 0) -> None:
    for n, out in enumerate(lines, start=1):
        assert out["status"] == 200, out
        receipt = verify_answer(
            out["body"], REQUEST, domain=live.ctx.domain, expected_node=live.ctx.signer.address
        )
        assert receipt.price == PRICE
        settled = out["settled"]
        assert settled["success"] is True and settled["amount"] == str(PRICE)
        assert settled["extra"]["chargedAmount"] == str(PRICE)
        state = settled["extra"]["channelState"]
        assert state["chargedCumulativeAmount"] == str(charged_before + n * PRICE)


# -- the offer and a session ----------------------------------------------------------


def test_an_unpaid_call_gets_402_with_the_batch_settlement_offer(live: Any) -> None:
    resp = httpx.post(_url(live), json=REQUEST, timeout=60)
    assert resp.status_code == 402
    (req,) = Offer.from_header(resp.headers[PAYMENT_REQUIRED]).accepts
    ctx = live.ctx
    assert (req.scheme, req.network) == ("batch-settlement", f"eip155:{ctx.chain.chain_id}")
    assert (req.asset, req.amount, req.pay_to) == (
        ctx.chain.token.address,
        PRICE,
        _receiver(live),
    )
    assert req.extra["receiverAuthorizer"] == ctx.signer.address
    assert req.extra["withdrawDelay"] == 900 and req.extra["minDeposit"] == str(DEPOSIT)
    assert (req.extra["name"], req.extra["version"]) == ("CairnUSD", "2")


def test_the_sdk_deposits_pays_vouchers_tops_up_and_one_claim_moves_exactly_the_charge(
    live: Any,
) -> None:
    """Twelve calls: a deposit of ten calls' worth, nine vouchers, a top-up deposit when
    the eleventh would pass the balance, a voucher; then one claim."""
    p, calls = PAYERS["session"], 12
    node_before, payer_before = _balance(live, _receiver(live)), _balance(live, p.address)
    lines = _sdk(live, "session", calls)
    _check_answers(live, lines)
    deposits = [n for n, out in enumerate(lines) if out["settled"]["transaction"]]
    assert deposits == [0, 10]  # paid for by the node; the vouchers touch no chain
    assert all(len(lines[n]["settled"]["transaction"]) == 66 for n in deposits)
    assert _balance(live, p.address) == payer_before - 2 * DEPOSIT
    assert _balance(live, _receiver(live)) == node_before  # nothing claimed yet
    report = _claim(live)
    assert report.claimed == calls * PRICE and report.settled == calls * PRICE
    assert _balance(live, _receiver(live)) == node_before + calls * PRICE
    with live.ctx.chain_lock:
        escrow = _scheme(live).settlement.channel(_sdk_channel(live, "session"))
    assert (escrow.balance, escrow.unclaimed) == (2 * DEPOSIT, 2 * DEPOSIT - calls * PRICE)


def test_a_second_sdk_process_resyncs_from_the_corrective_402(live: Any) -> None:
    """The second process has no record of the channel: it reads the chain (nothing
    claimed yet), signs a voucher the node has already passed, and the node's 402 hands
    it the charged total and its own last voucher, which the SDK checks and resumes from."""
    first = _sdk(live, "resync", 3)
    _check_answers(live, first)
    second = _sdk(live, "resync", 2, rpc=True)
    _check_answers(live, second, charged_before=3 * PRICE)
    record = _scheme(live).channel(_sdk_channel(live, "resync"))
    assert record is not None and record.charged == 5 * PRICE
    node_before = _balance(live, _receiver(live))
    assert _claim(live).claimed == 5 * PRICE
    assert _balance(live, _receiver(live)) == node_before + 5 * PRICE


def test_the_sdk_refund_returns_what_was_not_charged(live: Any) -> None:
    p = PAYERS["refund"]
    payer_before, node_before = _balance(live, p.address), _balance(live, _receiver(live))
    lines = _sdk(live, "refund", 2, refund="refund")
    _check_answers(live, lines[:2])
    refund = lines[2]["refund"]
    assert refund["success"] is True and refund["transaction"].startswith("0x")
    assert refund["extra"]["refundedAmount"] == str(DEPOSIT - 2 * PRICE)
    assert _balance(live, p.address) == payer_before - 2 * PRICE
    with live.ctx.chain_lock:
        escrow = _scheme(live).settlement.channel(_sdk_channel(live, "refund"))
    assert (escrow.balance, escrow.total_claimed) == (2 * PRICE, 2 * PRICE)  # claimed first
    assert _claim(live).settled == 2 * PRICE
    assert _balance(live, _receiver(live)) == node_before + 2 * PRICE


# -- bad payments ----------------------------------------------------------------------


class Client:
    """A hand-built client of one channel, to send what the SDK never would."""

    def __init__(self, live: Any, who: str, **config: Any) -> None:
        self.live, self.payer = live, PAYERS[who]
        ctx = live.ctx
        fields: dict[str, Any] = {
            "payer": self.payer.address,
            "payer_authorizer": self.payer.address,
            "receiver": _receiver(live),
            "receiver_authorizer": ctx.signer.address,
            "token": ctx.chain.token.address,
            "salt": os.urandom(32),
        }
        self.config = ChannelConfig(**{**fields, **config})
        self.chain_id = ctx.chain.chain_id
        self.cid = channel_id(self.config, self.chain_id)
        self.offered = _scheme(live).requirement(PRICE)
        self.first_deposit = ""

    def _body(self, kind: str, ceiling: int, by: LocalSigner | None, cid: bytes | None) -> Any:
        c, cid = self.config, cid or self.cid
        sig = sign_voucher(by or self.payer, cid, ceiling, self.chain_id)
        return {
            "type": kind,
            "channelConfig": {
                "payer": c.payer,
                "payerAuthorizer": c.payer_authorizer,
                "receiver": c.receiver,
                "receiverAuthorizer": c.receiver_authorizer,
                "token": c.token,
                "withdrawDelay": c.withdraw_delay,
                "salt": "0x" + c.salt.hex(),
            },
            "voucher": {
                "channelId": "0x" + cid.hex(),
                "maxClaimableAmount": str(ceiling),
                "signature": "0x" + sig.hex(),
            },
        }

    def voucher(self, ceiling: int, by: LocalSigner | None = None, cid: bytes | None = None) -> str:
        return Payment(self.offered, self._body("voucher", ceiling, by, cid)).header()

    def deposit(self, amount: int, ceiling: int) -> str:
        body = self._body("deposit", ceiling, None, None)
        salt, before = os.urandom(32), int(time.time()) + 3600
        sig = sign_authorization(
            self.payer,
            self.live.ctx.chain.token.domain(),
            kind="receive",
            from_=self.payer.address,
            to=ERC3009_COLLECTOR_ADDRESS,
            value=amount,
            valid_after=0,
            valid_before=before,
            nonce=deposit_nonce(self.cid, salt),
        )
        auth = {"validAfter": "0", "validBefore": str(before), "salt": "0x" + salt.hex()}
        auth["signature"] = "0x" + sig.to_bytes().hex()
        body["deposit"] = {"amount": str(amount), "authorization": {"erc3009Authorization": auth}}
        return Payment(self.offered, body).header()

    def send(self, header: str) -> httpx.Response:
        return httpx.post(
            _url(self.live), json=REQUEST, headers={PAYMENT_SIGNATURE: header}, timeout=60
        )

    def charged(self) -> int:
        record = _scheme(self.live).channel(self.cid)
        return record.charged if record is not None else 0


@pytest.fixture(scope="module")
def bad(live: Any) -> Client:
    """A channel with a deposit of :data:`DEPOSIT` and two calls paid."""
    client = Client(live, "bad")
    first = client.deposit(DEPOSIT, PRICE)
    assert client.send(first).status_code == 200
    assert client.send(client.voucher(2 * PRICE)).status_code == 200
    client.first_deposit = first
    return client


def _refused(client: Client, header: str, reason: str) -> httpx.Response:
    live = client.live
    node_before = _balance(live, _receiver(live))
    charged = client.charged()
    resp = client.send(header)
    assert resp.status_code == 402, resp.text
    body = resp.json()
    assert reason in body["detail"], body["detail"]
    assert "\n" not in body["detail"]
    assert "receipt" not in body and "Cairn-Receipt" not in resp.headers
    assert client.charged() == charged  # nothing charged, nothing served
    assert _balance(live, _receiver(live)) == node_before
    return resp


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("lower", "voucher lower than the last: 1000 < 2000"),
        ("spent", "voucher already spent: 2000 was used"),
        ("over_deposit", f"voucher over the deposit: {100 * PRICE} > the channel's balance"),
        ("someone_else", "voucher signed by"),
        ("wrong_receiver", "wrong channel receiver"),
        ("wrong_token", "wrong channel token"),
        ("wrong_chain", "signed for another chain or contract"),
        ("wrong_chain_terms", "wrong chain: payment is for eip155:1"),
        ("replayed_deposit", "deposit authorization already used"),
        ("garbage_header", "not base64 of JSON"),
        ("garbage_type", "is not deposit, voucher or refund"),
        ("garbage_voucher", "payload.voucher must be an object"),
    ],
)
def test_a_bad_payment_is_refused_with_its_reason_and_nothing_is_served(
    bad: Client, case: str, reason: str
) -> None:
    other = payer("other")
    offered = bad.offered
    headers = {
        "lower": lambda: bad.voucher(PRICE),
        "spent": lambda: bad.voucher(2 * PRICE),
        "over_deposit": lambda: bad.voucher(100 * PRICE),
        "someone_else": lambda: bad.voucher(3 * PRICE, by=other),
        "wrong_receiver": lambda: Client(bad.live, "bad", receiver=other.address).voucher(PRICE),
        "wrong_token": lambda: Client(bad.live, "bad", token=other.address).voucher(PRICE),
        "wrong_chain": lambda: bad.voucher(3 * PRICE, cid=channel_id(bad.config, bad.chain_id + 1)),
        "wrong_chain_terms": lambda: Payment(
            replace(offered, network="eip155:1"),
            Payment.from_header(bad.voucher(3 * PRICE)).payload,
        ).header(),
        "replayed_deposit": lambda: bad.first_deposit,
        "garbage_header": lambda: "not base64!",
        "garbage_type": lambda: Payment(offered, {"type": "gift"}).header(),
        "garbage_voucher": lambda: Payment(
            offered, {**Payment.from_header(bad.voucher(3 * PRICE)).payload, "voucher": 7}
        ).header(),
    }
    resp = _refused(bad, headers[case](), reason)
    offer = Offer.from_header(resp.headers[PAYMENT_REQUIRED])
    if case in ("lower", "spent"):  # the SDK client's corrective 402: its code and our state
        assert offer.error == MISMATCH
        state = offer.accepts[0].extra["channelState"]
        assert state["chargedCumulativeAmount"] == str(2 * PRICE)
        assert offer.accepts[0].extra["voucherState"]["signedMaxClaimable"] == str(2 * PRICE)
    else:
        assert offer.error == resp.json()["detail"]


def test_fifty_concurrent_requests_with_one_voucher_are_served_once(live: Any) -> None:
    client = Client(live, "crowd")
    assert client.send(client.deposit(DEPOSIT, PRICE)).status_code == 200
    header = client.voucher(2 * PRICE)
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _i: client.send(header), range(50)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(402) == 49
    assert all(
        a.json()["detail"].startswith("voucher already spent: ")
        for a in answers
        if a.status_code == 402
    )
    assert client.charged() == 2 * PRICE


def test_requirements_are_compared_as_offered(live: Any) -> None:
    """A client's ``accepted`` naming another price is refused by the till, before the scheme."""
    client = Client(live, "crowd")
    cheap: Requirement = replace(client.offered, amount=PRICE - 1)
    payload = Payment.from_header(client.voucher(PRICE)).payload
    resp = client.send(Payment(cheap, payload).header())
    assert resp.status_code == 402
    assert "payment of 999 for a call that costs 1000" in resp.json()["detail"]


def test_the_node_claims_in_the_background(live: Any) -> None:
    """The claimer the node runs every ``claim_interval_s`` (here a fast one beside it)."""
    client = Client(live, "crowd")
    assert client.send(client.deposit(DEPOSIT, PRICE)).status_code == 200
    assert live.ctx.claimer is not None and live.ctx.claimer.interval_s == 3600
    claimer = Claimer(live.ctx.cashier, 0.2).start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = _scheme(live).channel(client.cid)
            if record is not None and record.claimed == PRICE:
                break
            time.sleep(0.1)
        assert record is not None and record.claimed == PRICE
    finally:
        claimer.stop()
