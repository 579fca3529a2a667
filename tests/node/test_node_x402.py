"""x402 v2 on a real gateway: a priced model answers 402 until paid, and is paid by the
official clients (the x402 Python SDK and @x402/fetch, unmodified) with scheme
``exact`` — one EIP-3009 transfer of CairnUSD per call — on the embedded chain and on
Anvil. Every bad payment is refused with a one-line reason in the 402 body, nothing is
served and nothing moves; 50 concurrent requests carrying one authorization are served
once and paid once.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from eth_hash.auto import keccak
from sklearn.datasets import load_digits

from cairn.chain.token import TokenDomain, new_nonce, sign_authorization
from cairn.client.gateway import verify_answer
from cairn.identity import LocalSigner
from cairn.payments.exact import Authorization
from cairn.payments.x402 import (
    PAYMENT_REQUIRED,
    PAYMENT_RESPONSE,
    PAYMENT_SIGNATURE,
    V1_PAYMENT,
    V1_PAYMENT_RESPONSE,
    Offer,
    Payment,
    Requirement,
    Settled,
)

ROOT = Path(__file__).resolve().parents[2]
X402_PYTHON = ROOT / ".venv-x402" / "bin" / "python"
HERE = Path(__file__).parent
PRICE = 1000
MODEL = "digits-logreg"
PAYER_KEY = keccak(b"cairn-test-x402-payer")
PAYER = LocalSigner(PAYER_KEY)

_digits = load_digits()
REQUEST = {
    "inputs": {
        "pixels": {
            "dtype": "float32",
            "shape": [2, 64],
            "data": _digits.data[:2].astype(np.float32).ravel().tolist(),
        }
    }
}


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.integration)]
)
def paid(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A node serving the digits model at :data:`PRICE` per call; the payer holds CairnUSD."""
    chain = (
        "embedded://"
        if request.param == "embedded"
        else request.getfixturevalue("wall_clock_anvil")
    )
    start = request.getfixturevalue("start")
    live, server, thread = start(
        tmp_path_factory.mktemp("x402"), chain, models=(MODEL,), prices={MODEL: PRICE}
    )
    ctx = live.ctx
    with ctx.chain_lock:
        deployer = ctx.chain.dev_keys()[0]
        ctx.chain.token.mint(deployer, PAYER.address, 10**9)
    yield live
    server.should_exit = True
    thread.join(timeout=30)
    live.ctx.close()


def _url(live: Any) -> str:
    return f"{live.url}/v1/infer/{MODEL}"


def _payee(live: Any) -> str:
    """Where the node is paid: its revenue splitter (the validator pool's share is taken
    there), computed offline from the pool, as a client does."""
    from cairn.chain import splitter_address

    pool = live.ctx.chain.pool
    return splitter_address(pool.address, pool.implementation(), live.ctx.signer.address)


def _balances(live: Any) -> tuple[int, int]:
    ctx = live.ctx
    with ctx.chain_lock:
        token = ctx.chain.token
        return token.balance_of(PAYER.address), token.balance_of(_payee(live))


def _offer(live: Any) -> Offer:
    resp = httpx.post(_url(live), json=REQUEST, timeout=60)
    assert resp.status_code == 402, resp.text
    return Offer.from_header(resp.headers[PAYMENT_REQUIRED])


def _exact(offer: Offer) -> Requirement:
    (req,) = [r for r in offer.accepts if r.scheme == "exact"]
    return req


def _authorize(
    live: Any,
    *,
    value: int = PRICE,
    to: str | None = None,
    valid_after: int = 0,
    valid_before: int | None = None,
    domain: TokenDomain | None = None,
    signer: LocalSigner = PAYER,
    nonce: bytes | None = None,
) -> Authorization:
    ctx = live.ctx
    with ctx.chain_lock:
        domain = domain or ctx.chain.token.domain()
    to = to or _payee(live)
    valid_before = valid_before or int(time.time()) + 300
    nonce = nonce or new_nonce()
    signature = sign_authorization(
        signer,
        domain,
        from_=PAYER.address,
        to=to,
        value=value,
        valid_after=valid_after,
        valid_before=valid_before,
        nonce=nonce,
    )
    return Authorization(
        PAYER.address, to, value, valid_after, valid_before, nonce, signature.to_bytes()
    )


def _header(offered: Requirement, auth: Authorization, **accepted: Any) -> str:
    from dataclasses import replace

    return Payment(replace(offered, **accepted), auth.to_payload()).header()


def _pay(live: Any, header: str, name: str = PAYMENT_SIGNATURE) -> httpx.Response:
    return httpx.post(_url(live), json=REQUEST, headers={name: header}, timeout=60)


def test_an_unpaid_call_gets_402_with_the_x402_v2_offer(paid: Any) -> None:
    before = _balances(paid)
    resp = httpx.post(_url(paid), json=REQUEST, timeout=60)
    assert resp.status_code == 402
    offer = Offer.from_header(resp.headers[PAYMENT_REQUIRED])
    assert [r.scheme for r in offer.accepts] == ["exact", "batch-settlement"]
    req = _exact(offer)
    ctx = paid.ctx
    assert req.network == f"eip155:{ctx.chain.chain_id}"
    assert req.asset == ctx.chain.token.address
    assert (req.amount, req.pay_to) == (PRICE, _payee(paid))
    assert offer.extensions["sign-in-with-x"]["info"]["uri"] == paid.url
    assert req.extra == {"name": "CairnUSD", "version": "2"}
    body = resp.json()
    assert body["x402Version"] == 2 and "payment required" in body["detail"]
    assert "receipt" not in body and "Cairn-Receipt" not in resp.headers
    assert _balances(paid) == before


def test_the_agent_card_and_model_list_carry_the_price(paid: Any) -> None:
    card = httpx.get(f"{paid.url}/.well-known/agent-card.json", timeout=30).json()
    assert card["x402Support"] is True
    (model,) = card["cairn"]["models"]
    assert model["price"] == str(PRICE)
    assert card["cairn"]["payment"]["asset"] == paid.ctx.chain.token.address
    listed = httpx.get(f"{paid.url}/v1/models/{MODEL}", timeout=30).json()
    assert listed["price"] == str(PRICE)


def _check_paid_answer(live: Any, out: dict[str, Any], before: tuple[int, int]) -> None:
    assert out["status"] == 200, out
    receipt = verify_answer(
        out["body"],
        REQUEST,
        domain=live.ctx.domain,
        expected_node=live.ctx.signer.address,
    )
    assert receipt.price == PRICE
    settled = out["settled"]
    assert settled["success"] is True
    assert settled["network"] == f"eip155:{live.ctx.chain.chain_id}"
    assert settled["transaction"].startswith("0x") and len(settled["transaction"]) == 66
    payer, node = _balances(live)
    assert (payer, node) == (before[0] - PRICE, before[1] + PRICE)


def test_the_official_x402_python_sdk_pays_and_gets_a_verified_receipt(paid: Any) -> None:
    if not X402_PYTHON.exists():
        pytest.fail("x402 venv missing: run `make test` (it builds .venv-x402)")
    before = _balances(paid)
    done = subprocess.run(
        [
            str(X402_PYTHON),
            str(HERE / "x402_python_peer.py"),
            _url(paid),
            "0x" + PAYER_KEY.hex(),
            json.dumps(REQUEST),
            f"eip155:{paid.ctx.chain.chain_id}",
            paid.ctx.chain.token.address,
            str(PRICE),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    _check_paid_answer(paid, json.loads(done.stdout.strip().splitlines()[-1]), before)


def test_the_official_x402_fetch_client_pays_and_gets_a_verified_receipt(paid: Any) -> None:
    before = _balances(paid)
    done = subprocess.run(
        [
            "node",
            str(HERE / "x402_fetch_peer.mjs"),
            _url(paid),
            "0x" + PAYER_KEY.hex(),
            json.dumps(REQUEST),
            f"eip155:{paid.ctx.chain.chain_id}",
            paid.ctx.chain.token.address,
            str(PRICE),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
        env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    _check_paid_answer(paid, json.loads(done.stdout.strip().splitlines()[-1]), before)


def test_a_v1_client_pays_with_x_payment_and_reads_x_payment_response(paid: Any) -> None:
    offered = _exact(_offer(paid))
    header = _header(offered, _authorize(paid))
    resp = _pay(paid, header, V1_PAYMENT)
    assert resp.status_code == 200, resp.text
    assert V1_PAYMENT_RESPONSE in resp.headers and PAYMENT_RESPONSE not in resp.headers
    assert Settled.from_header(resp.headers[V1_PAYMENT_RESPONSE]).success


def _refused(live: Any, header: str, reason: str) -> None:
    before = _balances(live)
    resp = _pay(live, header)
    assert resp.status_code == 402, resp.text
    body = resp.json()
    assert reason in body["detail"], body["detail"]
    assert "\n" not in body["detail"]
    assert "receipt" not in body and "Cairn-Receipt" not in resp.headers
    assert Offer.from_header(resp.headers[PAYMENT_REQUIRED]).error == body["detail"]
    assert _balances(live) == before


def test_a_replayed_authorization_is_refused(paid: Any) -> None:
    offered = _exact(_offer(paid))
    header = _header(offered, _authorize(paid))
    assert _pay(paid, header).status_code == 200
    _refused(paid, header, "already used")


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired"),
        ("not_yet_valid", "not valid until"),
        ("under_paying", "costs exactly"),
        ("under_paying_terms", "for a call that costs"),
        ("wrong_recipient", "wrong recipient"),
        ("wrong_recipient_terms", "wrong recipient"),
        ("wrong_chain", "not 0x"),
        ("wrong_chain_terms", "wrong chain"),
        ("wrong_token", "another chain or token"),
        ("wrong_token_terms", "wrong token"),
        ("forged", "signature is by"),
        ("contract_wallet", "EIP-1271"),
        ("garbage", "not base64 of JSON"),
        ("nested", "not base64 of JSON"),  # past the JSON parser's depth, inside the size cap
        ("wrong_scheme", "not accepted here"),
    ],
)
def test_a_bad_payment_is_refused_with_its_reason_and_nothing_moves(
    paid: Any, case: str, reason: str
) -> None:
    offered = _exact(_offer(paid))
    ctx = paid.ctx
    now = int(time.time())
    other = LocalSigner(keccak(b"someone-else")).address
    domain = ctx.chain.token.domain()
    from dataclasses import replace

    headers = {
        "expired": lambda: _header(offered, _authorize(paid, valid_before=now - 1)),
        "not_yet_valid": lambda: _header(offered, _authorize(paid, valid_after=now + 3600)),
        "under_paying": lambda: _header(offered, _authorize(paid, value=PRICE - 1)),
        "under_paying_terms": lambda: _header(
            offered, _authorize(paid, value=PRICE - 1), amount=PRICE - 1
        ),
        "wrong_recipient": lambda: _header(offered, _authorize(paid, to=other)),
        "wrong_recipient_terms": lambda: _header(offered, _authorize(paid), pay_to=other),
        "wrong_chain": lambda: _header(
            offered, _authorize(paid, domain=replace(domain, chain_id=domain.chain_id + 1))
        ),
        "wrong_chain_terms": lambda: _header(offered, _authorize(paid), network="eip155:1"),
        "wrong_token": lambda: _header(
            offered, _authorize(paid, domain=replace(domain, verifying_contract=other))
        ),
        "wrong_token_terms": lambda: _header(offered, _authorize(paid), asset=other),
        "forged": lambda: _header(offered, _authorize(paid, signer=LocalSigner(keccak(b"thief")))),
        "contract_wallet": lambda: Payment(
            offered,
            {**_authorize(paid).to_payload(), "signature": "0x" + "11" * 200},
        ).header(),
        "garbage": lambda: "this is not base64!",
        "nested": lambda: base64.b64encode(b"[" * 5000 + b"]" * 5000).decode(),
        "wrong_scheme": lambda: _header(offered, _authorize(paid), scheme="upto"),
    }
    if case == "wrong_chain":
        reason = f"not {PAYER.address}"
    _refused(paid, headers[case](), reason)


def test_fifty_concurrent_requests_with_one_authorization_are_served_and_paid_once(
    paid: Any,
) -> None:
    offered = _exact(_offer(paid))
    header = _header(offered, _authorize(paid))
    before = _balances(paid)
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda _i: _pay(paid, header).status_code, range(50)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(402) == 49
    assert _balances(paid) == (before[0] - PRICE, before[1] + PRICE)


def test_the_node_is_paid_through_its_splitter_and_the_validators_get_their_share(
    paid: Any,
) -> None:
    offered = _exact(_offer(paid))
    assert _pay(paid, _header(offered, _authorize(paid))).status_code == 200
    ctx = paid.ctx
    token, pool = ctx.chain.token, ctx.chain.pool
    with ctx.chain_lock:
        held = token.balance_of(_payee(paid))
        node_before = token.balance_of(ctx.signer.address)
        pool_before = token.balance_of(pool.address)
    assert held >= PRICE
    assert ctx.cashier is not None
    got = ctx.cashier.collect()
    assert (got.to_node, got.to_pool) == (held - held // 10, held // 10)
    with ctx.chain_lock:
        assert token.balance_of(_payee(paid)) == 0
        assert token.balance_of(ctx.signer.address) == node_before + got.to_node
        assert token.balance_of(pool.address) == pool_before + got.to_pool


def test_the_cairn_client_pays_a_one_off_exactly_then_opens_a_channel_for_repeats(
    paid: Any,
) -> None:
    from cairn.client import GatewayClient
    from cairn.errors import ClientError
    from cairn.payments.payer import DEPOSIT_CALLS, Payer

    ctx = paid.ctx
    me = LocalSigner(keccak(b"cairn-test-x402-repeat-payer"))
    with ctx.chain_lock:
        ctx.chain.token.mint(ctx.chain.dev_keys()[0], me.address, 10**9)
    network, asset = f"eip155:{ctx.chain.chain_id}", ctx.chain.token.address
    limit = PRICE + DEPOSIT_CALLS * PRICE
    payer = Payer(me, limit, network=network, asset=asset)
    with GatewayClient(paid.url, payer=payer, payee=_payee(paid)) as gw:
        answers = [gw.infer(MODEL, REQUEST["inputs"]) for _ in range(5)]
        assert [gw.verify(a, domain=ctx.domain).price for a in answers] == [PRICE] * 5
        # one exact transfer, then one deposit for DEPOSIT_CALLS calls, then vouchers
        assert payer.spent == limit
        with pytest.raises(ClientError, match="spending limit"):
            for _ in range(DEPOSIT_CALLS):  # the deposit runs out, and the limit with it
                gw.infer(MODEL, REQUEST["inputs"])
    batch = ctx.cashier.schemes["batch-settlement"]
    (channel,) = payer._channels.values()
    record = batch.channel(channel.channel_id)
    assert record is not None and record.charged == DEPOSIT_CALLS * PRICE
    with ctx.chain_lock:
        assert ctx.chain.token.balance_of(me.address) == 10**9 - limit  # no more than the limit


def test_the_cairn_client_refuses_an_offer_to_pay_someone_else(paid: Any) -> None:
    from cairn.client import GatewayClient
    from cairn.errors import ClientError
    from cairn.payments.payer import Payer

    ctx = paid.ctx
    payer = Payer(
        PAYER, 10 * PRICE, network=f"eip155:{ctx.chain.chain_id}", asset=ctx.chain.token.address
    )
    someone = LocalSigner(keccak(b"someone-else")).address
    with (
        GatewayClient(paid.url, payer=payer, payee=someone) as gw,
        pytest.raises(ClientError, match="not 0x"),
    ):
        gw.infer(MODEL, REQUEST["inputs"])
    assert payer.spent == 0
