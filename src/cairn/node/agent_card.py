"""This node's agent card: built from its settings and the chain, stored content-addressed.

Spec: ERC-8004 "Trustless Agents", *Agent URI and Agent Registration File* (the
shape is :class:`cairn.client.card.AgentCard`'s, which clients parse). The card
names the gateway, the models served by CID, the price per request
(each model's, in atomic units of the payment token; a receipt's ``price`` is what its
call was charged), the receipt-signing
address, the trust models this node supports — ``crypto-economic`` where a
Disputes contract can slash its stake, ``zk`` where it proves receipts — and
the chain and contracts it is staked on. The gateway is the endpoint Staking
holds for the node (what clients reach it by), else its settings' address.

The card's bytes are imported into the node's blockstore as a UnixFS file with
the default profile, so its CID is the one ``ipfs add --cid-version 1
--raw-leaves`` gives for the same bytes and ``ipfs://CID`` is its agent URI
(:attr:`PublishedCard.uri`). :func:`register_agent` registers the node once in the
network's ERC-8004 IdentityRegistry — the agent id is owned by the same address
that is staked in Staking and signs receipts — and points the agent's URI at the
card, which names that agent id back. Nothing in it changes between restarts
unless what it describes changes, so its CID is stable.

The agent id is remembered in the data dir (``node/agent.json``, per chain id and
registry) and checked with one ``ownerOf`` at each start: finding it again in the
registry's ``Registered`` logs reads every block, and a development chain mines
one a second (on the embedded chain that scan grew to over a second of every
start). The chain stays the authority: an id the node no longer owns is looked
for in the logs again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cairn import content
from cairn._atomic import atomic_write_bytes
from cairn.chain.erc8004 import IdentityRegistry
from cairn.client.card import AgentCard, CardModel, CardPayment, Registration
from cairn.content import Cid
from cairn.errors import ChainError, NotDeployed
from cairn.node.bootstrap import NodeContext

__all__ = ["PublishedCard", "build_card", "publish_card", "register_agent"]


@dataclass(frozen=True)
class PublishedCard:
    """A card, its canonical bytes and their CID in the node's blockstore."""

    card: AgentCard
    data: bytes
    cid: Cid

    @property
    def uri(self) -> str:
        return f"ipfs://{self.cid}"


def _gateway(ctx: NodeContext) -> str:
    """The endpoint Staking holds for this node, else the one its settings give."""
    with ctx.chain_lock:
        registered = ctx.chain.staking.participant(ctx.signer.address).endpoint
    return (registered or f"http://{ctx.settings.host}:{ctx.settings.port}").rstrip("/")


def _payment(ctx: NodeContext) -> CardPayment | None:
    if ctx.cashier is None:
        return None
    first = next(iter(ctx.cashier.schemes.values())).requirement(0)
    return CardPayment(first.asset, tuple(ctx.cashier.schemes))


def build_card(ctx: NodeContext, registrations: tuple[Registration, ...] = ()) -> AgentCard:
    """The card of the node ``ctx`` runs (``registrations``: its ERC-8004 agent ids)."""
    dep = ctx.chain.deployment
    contracts = {
        "ReceiptAnchor": dep.anchor,
        "Staking": dep.staking,
        "ModelRegistry": dep.registry,
        **({"Disputes": dep.disputes} if dep.disputes else {}),
    }
    trust: tuple[str, ...] = ("crypto-economic",) if dep.disputes else ()
    trust += ("zk",) if ctx.prover is not None else ()
    return AgentCard(
        name=f"cairn node {ctx.signer.address}",
        gateway=_gateway(ctx),
        signer=ctx.signer.address,
        chain_id=ctx.domain.chain_id,
        contracts=contracts,
        models=tuple(
            CardModel(m.name, m.cid, m.model.spec.kind, m.price) for m in ctx.models.values()
        ),
        payment=_payment(ctx),
        trust=trust,
        registrations=registrations,
    )


def publish_card(ctx: NodeContext, registrations: tuple[Registration, ...] = ()) -> PublishedCard:
    """Build the card and store its bytes in the blockstore (served at ``/ipfs/CID`` too)."""
    card = build_card(ctx, registrations)
    data = card.to_bytes()
    return PublishedCard(card, data, content.add_bytes(data, ctx.store))


def register_agent(
    ctx: NodeContext, step: Callable[[str], None] = lambda _m: None
) -> PublishedCard:
    """Register the node in the network's IdentityRegistry (once: the agent id its address
    owns is kept) with the card as its agent URI; the card as published. Without an
    IdentityRegistry (an older deployment) the card is published unregistered."""
    try:
        identity = ctx.chain.identity
    except NotDeployed:
        return publish_card(ctx)
    me = ctx.signer.address.lower()
    memo = ctx.data_dir.node / "agent.json"
    where = {"chain_id": ctx.domain.chain_id, "registry": identity.address.lower()}
    with ctx.chain_lock:
        agent_id = _remembered(memo, where)
        if agent_id is None or not _owns(identity, agent_id, me):
            owned = [a.agent_id for a in identity.agents() if a.owner.lower() == me]
            mine = [i for i in owned if _owns(identity, i, me)]  # not given away
            if mine:
                agent_id = mine[-1]
            else:
                step("registering the node as an ERC-8004 agent")
                agent_id = identity.register(ctx.signer).value
            atomic_write_bytes(memo, json.dumps({**where, "agent_id": agent_id}).encode())
    published = publish_card(ctx, (Registration(agent_id, ctx.domain.chain_id, identity.address),))
    with ctx.chain_lock:
        if identity.agent_uri(agent_id) != published.uri:
            identity.set_agent_uri(ctx.signer, agent_id, published.uri)
    return published


def _remembered(memo: Path, where: dict[str, object]) -> int | None:
    """The agent id kept for this chain and registry, if any (anything unreadable: none)."""
    try:
        kept = json.loads(memo.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or any(kept.get(k) != v for k, v in where.items()):
        return None
    agent_id = kept.get("agent_id")
    return agent_id if isinstance(agent_id, int) and agent_id >= 0 else None


def _owns(identity: IdentityRegistry, agent_id: int, me: str) -> bool:
    try:
        return identity.owner_of(agent_id).lower() == me
    except ChainError:  # no such agent (ownerOf reverts)
        return False
