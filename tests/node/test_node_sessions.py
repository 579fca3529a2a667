"""Sign in with a wallet on a real gateway (EIP-4361 / x402 sign-in-with-x).

A client proves its address once and gets a ``Cairn-Session``: with it, it reads the
retained input of the calls it made (and nobody else's), and it has its own quota,
apart from anonymous callers. The domain is checked against the node's configured
origin, never the ``Host`` header; a nonce works once; an expired message is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from eth_hash.auto import keccak
from sklearn.datasets import load_digits

from cairn.identity import LocalSigner, sign_message
from cairn.identity.siwe import SiweMessage

MODEL = "digits-logreg"
ALICE = LocalSigner(keccak(b"cairn-test-siwe-alice"))
BOB = LocalSigner(keccak(b"cairn-test-siwe-bob"))
REQUEST = {
    "inputs": {
        "pixels": {
            "dtype": "float32",
            "shape": [1, 64],
            "data": load_digits().data[:1].astype(np.float32).ravel().tolist(),
        }
    }
}
QUOTA = 4
ANONYMOUS_QUOTA = 3


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    start = request.getfixturevalue("start")
    node, server, thread = start(
        tmp_path_factory.mktemp("siwe"),
        models=(MODEL,),
        quota_per_minute=QUOTA,
        anonymous_quota_per_minute=ANONYMOUS_QUOTA,
    )
    yield node
    server.should_exit = True
    thread.join(timeout=30)
    node.ctx.close()


def _message(live: Any, signer: LocalSigner, **changes: Any) -> str:
    challenge = httpx.get(f"{live.url}/v1/auth/siwe", timeout=30).json()
    fields = {
        "domain": challenge["domain"],
        "address": signer.address,
        "statement": challenge["statement"],
        "uri": challenge["uri"],
        "version": "1",
        "chain_id": challenge["chainId"],
        "nonce": challenge["nonce"],
        "issued_at": challenge["issuedAt"],
        **changes,
    }
    return SiweMessage(**fields).text()


def _sign_in(live: Any, message: str, signer: LocalSigner, **headers: str) -> httpx.Response:
    signature = "0x" + sign_message(signer, message).to_bytes().hex()
    return httpx.post(
        f"{live.url}/v1/auth/siwe",
        json={"message": message, "signature": signature},
        headers=headers,
        timeout=30,
    )


def _session(live: Any, signer: LocalSigner) -> str:
    resp = _sign_in(live, _message(live, signer), signer)
    assert resp.status_code == 200, resp.text
    assert resp.json()["address"] == signer.address
    return str(resp.json()["session"])


def test_the_challenge_names_the_configured_origin(live: Any) -> None:
    challenge = httpx.get(f"{live.url}/v1/auth/siwe", timeout=30).json()
    assert challenge["uri"] == live.url and challenge["domain"] == live.url.split("//")[1]
    assert challenge["chainId"] == live.ctx.chain.chain_id
    ext = challenge["extensions"]["sign-in-with-x"]
    assert ext["info"]["nonce"] == challenge["nonce"]
    assert ext["supportedChains"] == [
        {"chainId": f"eip155:{challenge['chainId']}", "type": "eip191"}
    ]


def test_a_signed_in_address_reads_its_own_calls_and_nobody_elses(live: Any) -> None:
    alice, bob = _session(live, ALICE), _session(live, BOB)
    resp = httpx.post(
        f"{live.url}/v1/infer/{MODEL}", json=REQUEST, headers={"Cairn-Session": alice}, timeout=60
    )
    assert resp.status_code == 200, resp.text
    request_id = resp.json()["receipt"]["requestId"]
    url = f"{live.url}/v1/receipts/{request_id}/input"
    own = httpx.get(url, headers={"Cairn-Session": alice}, timeout=30)
    assert own.status_code == 200 and own.json()["pixels"]["shape"] == [1, 64]
    other = httpx.get(url, headers={"Cairn-Session": bob}, timeout=30)
    assert other.status_code == 403 and ALICE.address not in other.text
    assert httpx.get(url, timeout=30).status_code == 401
    forged = httpx.get(url, headers={"Cairn-Session": "ab" * 32}, timeout=30)
    assert forged.status_code == 401 and "unknown or expired session" in forged.json()["detail"]
    # the per-call secret still works, and is the one an address-bound call gets
    secret = resp.headers["Cairn-Access"]
    assert (
        httpx.get(url, headers={"Authorization": f"Bearer {secret}"}, timeout=30).status_code == 200
    )


def test_a_nonce_works_once(live: Any) -> None:
    message = _message(live, ALICE)
    assert _sign_in(live, message, ALICE).status_code == 200
    again = _sign_in(live, message, ALICE)
    assert again.status_code == 401 and "nonce" in again.json()["detail"]


def test_the_domain_is_the_configured_one_whatever_the_host_header_says(live: Any) -> None:
    evil = _message(live, ALICE, domain="evil.example")
    resp = _sign_in(live, evil, ALICE, Host="evil.example")
    assert resp.status_code == 401 and "evil.example" in resp.json()["detail"]
    elsewhere = _message(live, ALICE, uri="https://evil.example/")
    assert _sign_in(live, elsewhere, ALICE).status_code == 401


def test_expired_forged_and_malformed_sign_ins_are_refused(live: Any) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = _sign_in(live, _message(live, ALICE, expiration_time=past), ALICE)
    assert expired.status_code == 401 and "expir" in expired.json()["detail"]
    message = _message(live, ALICE)
    forged = _sign_in(live, message, BOB)  # Bob signs a message naming Alice
    assert forged.status_code == 401
    garbled = httpx.post(
        f"{live.url}/v1/auth/siwe",
        json={"message": "hello\nworld", "signature": "0x00"},
        timeout=30,
    )
    assert garbled.status_code == 401 and "\n" not in garbled.json()["detail"]
    # the refused attempts did not spend the nonce: the right signature still signs in
    assert _sign_in(live, message, ALICE).status_code == 200


def test_each_address_has_its_own_quota_apart_from_anonymous_callers(live: Any) -> None:
    time.sleep(0.1)
    carol = LocalSigner(keccak(b"cairn-test-siwe-carol"))
    token = _session(live, carol)
    url = f"{live.url}/v1/infer/{MODEL}"
    mine = [
        httpx.post(url, json=REQUEST, headers={"Cairn-Session": token}, timeout=60)
        for _ in range(QUOTA + 1)
    ]
    assert [r.status_code for r in mine] == [200] * QUOTA + [429]
    assert "quota" in mine[-1].json()["detail"] and mine[-1].headers["Retry-After"] == "60"
    others = [httpx.post(url, json=REQUEST, timeout=60) for _ in range(ANONYMOUS_QUOTA + 1)]
    statuses = [r.status_code for r in others]
    assert statuses[-1] == 429 and 200 in statuses  # anonymous calls share one bucket
    dave = _session(live, LocalSigner(keccak(b"cairn-test-siwe-dave")))
    ok = httpx.post(url, json=REQUEST, headers={"Cairn-Session": dave}, timeout=60)
    assert ok.status_code == 200  # neither Carol nor the anonymous crowd used up Dave's
