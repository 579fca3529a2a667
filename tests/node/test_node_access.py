"""Retained inputs are not public (session gateway, real HTTP): only the client that sent a
request (its ``Cairn-Access`` secret) and staked validators (a signed fresh nonce) read them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cairn.chain import Role
from cairn.client import GatewayClient, GatewayNodeSource, retained_access_message
from cairn.errors import ClientError, NodeUnavailable
from cairn.identity import LocalSigner, Signer, sign_message
from cairn.receipts import wire

EMBED = {"model": "all-MiniLM-L6-v2", "input": ["a private question"]}


def _staked_validator(node: Any) -> LocalSigner:
    signer = LocalSigner.generate()
    chain = node.ctx.chain
    with node.ctx.chain_lock:
        chain.fund(signer.address, 10 * 10**18)
        chain.staking.register(signer, Role.VALIDATOR, "")
        chain.staking.stake(signer, chain.staking.min_stake(Role.VALIDATOR))
    return signer


def _cairn_auth(url: str, signer: Signer, nonce: str | None = None, host: str = "") -> str:
    nonce = nonce or httpx.get(f"{url}/v1/auth/nonce").json()["nonce"]
    host = host or url.removeprefix("http://")
    signature = sign_message(signer, retained_access_message(host, nonce)).hex
    return f"{signer.address}:{nonce}:{signature}"


@pytest.fixture(scope="module")
def answered(client: httpx.Client) -> tuple[str, str]:
    resp = client.post("/v1/embeddings", json=EMBED)
    assert resp.status_code == 200
    return resp.json()["receipt"]["requestId"], resp.headers["Cairn-Access"]


@pytest.mark.parametrize("part", ["input", "output"])
def test_anonymous_readers_are_refused(client: httpx.Client, answered: Any, part: str) -> None:
    rid, _ = answered
    resp = client.get(f"/v1/receipts/{rid}/{part}")
    assert resp.status_code == 401 and "Cairn-Auth" in resp.headers["WWW-Authenticate"]
    assert client.get(f"/v1/receipts/{rid}").status_code == 200  # the receipt stays public


def test_the_client_reads_its_own_input_with_its_token(
    client: httpx.Client, answered: Any, node: Any
) -> None:
    rid, access = answered
    mine = client.get(f"/v1/receipts/{rid}/input", headers={"Authorization": f"Bearer {access}"})
    assert mine.status_code == 200 and mine.json() == EMBED["input"]
    other = client.post("/v1/embeddings", json={**EMBED, "input": ["someone else"]})
    theirs = other.headers["Cairn-Access"]
    for token in (theirs, "00" * 32, "not hex"):
        resp = client.get(f"/v1/receipts/{rid}/input", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 403, token
    assert client.get(
        f"/v1/receipts/{rid}/input", headers={"Authorization": f"Basic {access}"}
    ).status_code in (401, 403)
    with GatewayClient(node.url) as gw:  # the SDK keeps the secret on the answer
        answer = gw.embed(["sdk question"])
        io = gw.retained(answer.receipt.request_id, access=answer.access)
        assert wire.call_of_retained(io.input, "text").input_hash == answer.receipt.input_hash


def test_a_staked_validator_reads_with_a_fresh_signed_nonce(node: Any, answered: Any) -> None:
    rid, _ = answered
    validator = _staked_validator(node)
    url = f"{node.url}/v1/receipts/{rid}/input"
    header = _cairn_auth(node.url, validator)
    assert httpx.get(url, headers={"Cairn-Auth": header}).status_code == 200
    replayed = httpx.get(url, headers={"Cairn-Auth": header})
    assert replayed.status_code == 403 and "already used" in replayed.json()["detail"]
    source = GatewayNodeSource(node.url, signer=validator)  # what `cairn validator run` uses
    io = source.retained(bytes.fromhex(rid.removeprefix("0x")))
    assert io.input and io.output
    source.close()


def test_forged_nonces_other_hosts_and_unstaked_signers_are_refused(
    node: Any, answered: Any
) -> None:
    rid, _ = answered
    url = f"{node.url}/v1/receipts/{rid}/output"
    validator = _staked_validator(node)
    nonce = httpx.get(f"{node.url}/v1/auth/nonce").json()["nonce"]
    forged = nonce[:-2] + ("00" if nonce[-2:] != "00" else "11")
    cases = {
        "not a nonce of this node": _cairn_auth(node.url, validator, nonce=forged),
        "signature does not recover": f"{validator.address}:{nonce}:0x1234",
        "signed by": _cairn_auth(node.url, validator, host="other.example:8000"),
        "not a staked validator": _cairn_auth(node.url, LocalSigner.generate()),
        "not a nonce": f"{validator.address}:zz:00",
    }
    for reason, header in cases.items():
        resp = httpx.get(url, headers={"Cairn-Auth": header})
        assert resp.status_code == 403 and reason in resp.json()["detail"], (reason, resp.text)
    unstaked = GatewayNodeSource(node.url, signer=LocalSigner.generate())
    with pytest.raises(NodeUnavailable, match="403"):
        unstaked.retained(bytes.fromhex(rid.removeprefix("0x")))
    unstaked.close()
    with GatewayClient(node.url) as anonymous, pytest.raises(ClientError) as refused:
        anonymous.retained(bytes.fromhex(rid.removeprefix("0x")))
    assert refused.value.status == 401
