"""The node's agent card (issue 12, part 1): served, content-addressed, naming the staked signer.

Against the session's real node (embedded chain, uvicorn): the card at
``/.well-known/agent-card.json`` is an ERC-8004 registration file whose CID —
computed here from its bytes, independently of cairn's importer — is the one the
gateway names and serves at ``/ipfs/CID``, and whose signing address, endpoint,
models, chain and contracts are what the chain says of this node. Then the parser's
refusals, each tripped.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest

from cairn.client import AgentCard
from cairn.client.card import CARD_TYPE, MAX_CARD_BYTES, NAMESPACE
from cairn.errors import ClientError
from cairn.node.agent_card import register_agent


def _raw_cid(data: bytes) -> str:
    """CIDv1, raw codec, sha2-256, base32: what ``ipfs add --cid-version 1 --raw-leaves``
    gives for a file of one chunk (spelled out from the multiformats tables)."""
    digest = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(digest).decode().lower().rstrip("=")


def test_the_card_is_served_content_addressed_and_names_the_staked_signer(
    node: Any, client: httpx.Client
) -> None:
    got = client.get("/.well-known/agent-card.json")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    cid = _raw_cid(got.content)
    assert got.headers["x-ipfs-path"] == f"/ipfs/{cid}"
    same = client.get(f"/ipfs/{cid}", headers={"Accept": "application/vnd.ipld.raw"})
    assert same.status_code == 200 and same.content == got.content

    doc = got.json()
    assert doc["type"] == CARD_TYPE and doc["active"] is True
    assert {s["name"] for s in doc["services"]} <= {"MCP", "A2A", "ENS", "DID", "wallet", "OASF"}
    card = AgentCard.from_bytes(got.content)
    ctx = node.ctx
    staked = ctx.chain.staking.participant(ctx.signer.address)
    assert card.signer == ctx.signer.address == staked.address
    assert card.gateway == staked.endpoint == node.url
    assert card.openai_base == f"{node.url}/v1"
    assert card.chain_id == ctx.domain.chain_id
    assert card.contracts["Staking"] == ctx.chain.deployment.staking
    assert card.contracts["ReceiptAnchor"] == ctx.chain.deployment.anchor
    assert {m.cid for m in card.models} == {m.cid for m in ctx.models.values()}
    assert all(m.price == 0 for m in card.models) and card.payment is None  # all free
    assert "crypto-economic" in card.trust  # the session node deploys Disputes
    assert card.to_bytes() == got.content  # canonical: re-serializing changes nothing

    # registered in the network's ERC-8004 IdentityRegistry by the staked address, with
    # the served card as its agent URI; the card names that agent id back
    (reg,) = card.registrations
    with ctx.chain_lock:
        identity = ctx.chain.identity
        assert (reg.chain_id, reg.registry) == (ctx.domain.chain_id, identity.address)
        assert identity.owner_of(reg.agent_id) == ctx.signer.address
        assert identity.agent_uri(reg.agent_id) == f"ipfs://{cid}"
    again = register_agent(ctx)  # a restart keeps the agent id and the URI
    assert (again.uri, again.card.registrations) == (f"ipfs://{cid}", (reg,))


def test_a_restart_finds_its_agent_id_without_reading_every_block(
    node: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent id is remembered in the data dir and checked with ``ownerOf``; the log
    scan (every block since genesis) runs only when the memo is missing, for another
    chain, or names an id this node does not own, and the memo is then rewritten."""
    from cairn.chain.erc8004 import IdentityRegistry

    ctx = node.ctx
    first = register_agent(ctx)
    (reg,) = first.card.registrations
    memo = ctx.data_dir.node / "agent.json"
    kept = json.loads(memo.read_bytes())
    assert kept["agent_id"] == reg.agent_id and kept["chain_id"] == ctx.domain.chain_id

    scans: list[int] = []
    real_agents = IdentityRegistry.agents

    def counted(self: IdentityRegistry, *args: Any, **kwargs: Any) -> Any:
        scans.append(1)
        return real_agents(self, *args, **kwargs)

    monkeypatch.setattr(IdentityRegistry, "agents", counted)
    assert register_agent(ctx).card.registrations == (reg,)
    assert scans == []  # one ownerOf, no log scan

    with ctx.chain_lock:  # an id someone else owns: found again in the logs, never adopted
        other = ctx.chain.identity.register(ctx.chain.dev_keys()[1]).value
    for bad in (
        {**kept, "agent_id": other},
        {**kept, "agent_id": 10**9},  # no such agent: ownerOf reverts
        {**kept, "chain_id": kept["chain_id"] + 1},
        "not json",
    ):
        memo.write_text(bad if isinstance(bad, str) else json.dumps(bad))
        assert register_agent(ctx).card.registrations == (reg,)
        assert json.loads(memo.read_bytes())["agent_id"] == reg.agent_id
    assert len(scans) == 4


def _card(**ours: Any) -> dict[str, Any]:
    base = AgentCard(
        "n", "http://127.0.0.1:1", "0x" + "11" * 20, 31337, {"Staking": "0x" + "22" * 20}, ()
    ).to_json()
    base[NAMESPACE].update(ours)
    return base


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"<html>", "not JSON"),
        (b"[1]", "not a JSON object"),
        (json.dumps({**_card(), "type": "something else"}).encode(), "type is not"),
        (json.dumps({k: v for k, v in _card().items() if k != NAMESPACE}).encode(), "missing"),
        (json.dumps(_card(signer="0xnot-an-address")).encode(), "not an Ethereum address"),
        (
            json.dumps(_card(models=[{"name": "m", "cid": "c", "price": -1}])).encode(),
            "out of range",
        ),
        (
            json.dumps(_card(models=[{"name": "m", "cid": "c", "price": True}])).encode(),
            "must be an integer",
        ),
        (json.dumps(_card(payment={"asset": "nope"})).encode(), "not an Ethereum address"),
        (json.dumps(_card(payment=[1])).encode(), "payment must be an object"),
        (json.dumps(_card(models=[{"name": "m"}] * 33)).encode(), "at most 32"),
        (json.dumps(_card(models=["x"])).encode(), "a model must be an object"),
        (json.dumps(_card(gateway="x" * 600)).encode(), "at most 512"),
        (json.dumps(_card(contracts={"Staking": "nope"})).encode(), "not an Ethereum address"),
        (
            json.dumps(
                {**_card(), "registrations": [{"agentId": 1, "agentRegistry": "x"}]}
            ).encode(),
            "not enough values",
        ),
        (b" " * (MAX_CARD_BYTES + 1), "over"),
        (b"[" * 60_000, "not JSON"),  # nested past the recursion limit
    ],
)
def test_a_bad_card_is_refused_with_one_line(doc: bytes, message: str) -> None:
    with pytest.raises(ClientError, match=message) as refused:
        AgentCard.from_bytes(doc)
    assert "\n" not in str(refused.value)


def test_registrations_round_trip_in_the_ercs_form() -> None:
    from cairn.client import Registration

    reg = Registration(7, 31337, "0x" + "33" * 20)
    card = AgentCard("n", "http://h:1", "0x" + "11" * 20, 31337, {}, (), registrations=(reg,))
    doc = card.to_json()
    assert doc["registrations"] == [{"agentId": 7, "agentRegistry": f"eip155:31337:{reg.registry}"}]
    assert AgentCard.from_json(doc).registrations[0].agent_id == 7
