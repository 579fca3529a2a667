"""Finding the nodes that serve a model, from the chain a client pinned — never a node's word.

Issue 12, part 2, and ERC-8004 "Trustless Agents" (the agent card,
:mod:`cairn.client.card`). From the pinned :class:`~cairn.chain.Network`
(its contracts checked onchain by :func:`~cairn.chain.check_network`):

1. the model: a CID as given, else the ModelRegistry's current version of the name;
2. the nodes: every address that ever registered in Staking (its ``Registered``
   events), kept if it is registered as a node for that CID, has at least the
   minimum stake bonded, is not unbonding and is not jailed (Disputes);
3. their cards: ``GET /.well-known/agent-card.json`` at the endpoint Staking
   holds (a plain ``http(s)://host[:port]``), each read within a deadline and
   :data:`~cairn.client.card.MAX_CARD_BYTES`, all within a discovery deadline; a
   card that is not a card, is for another chain or contracts, or names another
   signing address than the staked one is skipped, with the reason;
4. a ranking (:func:`rank`): reputation from onchain history
   (:func:`cairn.verification.reputation`, optional: it reads every anchor of
   the node), then the card's price per request, then the latency the client
   measured.

An endpoint is whatever its node registered: a client reaches only the
addresses the chain names, with bounded reads, and trusts nothing it gets back
without checking it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import httpx

from cairn.chain import Chain, Network, Participant, Role, model_id, operator_refusal
from cairn.client._http import Bounds, request
from cairn.client.card import CARD_PATH, MAX_CARD_BYTES, AgentCard
from cairn.content import Cid
from cairn.errors import CairnError, ClientError, ConfigError
from cairn.verification import reputation
from cairn.verification.validator import plain_base_url

__all__ = [
    "PRIOR_SCORE",
    "Candidate",
    "Discovery",
    "Skipped",
    "check_card",
    "discover",
    "fetch_card",
    "rank",
    "resolve_model",
]

#: the score of a node nobody has audited yet (the mean of reputation's Beta(1, 1) prior)
PRIOR_SCORE = 0.5


@dataclass(frozen=True)
class Candidate:
    """A node that may answer: staked for the model, its card checked."""

    address: str
    endpoint: str
    stake: int
    card: AgentCard
    latency_s: float  # how long its card took to arrive
    score: float | None = None  # reputation, if it was read
    price: int = 0  # per request for the model discovered, as its card says


@dataclass(frozen=True)
class Skipped:
    """A node staked for the model that will not be asked, and why."""

    address: str
    endpoint: str
    reason: str

    def describe(self) -> str:
        return f"{self.address} ({self.endpoint or 'no endpoint'}): {self.reason}"


@dataclass(frozen=True)
class Discovery:
    """The nodes for ``model`` (resolved to ``cid``), best first, and those left out."""

    model: str
    cid: str
    candidates: tuple[Candidate, ...]
    skipped: tuple[Skipped, ...]


def resolve_model(chain: Chain, network: Network, model: str) -> str:
    """The CID to ask for: ``model`` itself if it is a CID, else the pinned registry's
    current version of the name."""
    try:
        return str(Cid.parse(model))
    except CairnError:
        pass
    if not network.registry:
        raise ConfigError(f"network {network.name!r} pins no ModelRegistry to resolve {model!r}")
    return str(chain.registry.current(model).content_cid)


def _unfit(chain: Chain, p: Participant) -> str | None:
    """Why a node registered for the model must not be asked (None: it may)."""
    if not p.endpoint:
        return "no endpoint registered"
    return operator_refusal(chain, p)


def fetch_card(http: httpx.Client, endpoint: str, timeout: float) -> tuple[AgentCard, float]:
    """A node's card and how long it took, within ``timeout`` and the card size cap."""
    started = time.monotonic()
    status, _headers, body = request(
        http, "GET", endpoint + CARD_PATH, Bounds(timeout, MAX_CARD_BYTES)
    )
    if status != 200:
        raise ClientError(f"agent card: gateway answered {status}", status)
    return AgentCard.from_bytes(body), time.monotonic() - started


def check_card(card: AgentCard, staked: str, network: Network) -> None:
    """Refuse a card that does not describe the staked node on the pinned network."""
    if card.signer.lower() != staked.lower():
        raise ClientError(f"agent card names signing address {card.signer}, not the staked one")
    if card.chain_id != network.chain_id:
        raise ClientError(f"agent card is for chain {card.chain_id}, not {network.chain_id}")
    pinned = {"Staking": network.staking, "ReceiptAnchor": network.anchor}
    for name, address in pinned.items():
        named = card.contracts.get(name)
        if named is not None and named.lower() != address.lower():
            raise ClientError(f"agent card names {name} {named}, not the pinned {address}")


def _score(chain: Chain, network: Network, address: str) -> float | None:
    if not network.disputes:
        return None
    try:
        return reputation(chain, address).score
    except CairnError:  # an unreadable history ranks as an unknown one
        return None


def _staked_for(
    chain: Chain, network: Network, cid: str
) -> tuple[list[Participant], list[Skipped]]:
    """The nodes registered for ``cid`` that may be asked, and those that may not."""
    wanted = model_id(cid)
    fit: list[Participant] = []
    unfit: list[Skipped] = []
    for address in chain.staking.registered():
        p = chain.staking.participant(address)
        if p.role is not Role.NODE or wanted not in p.models or p.stake + p.unbonding == 0:
            continue  # a validator, a node for other models, or one that never staked
        reason = _unfit(chain, p)
        if reason is None:
            fit.append(p)
        else:
            unfit.append(Skipped(p.address, p.endpoint[:200], reason))
    return fit, unfit


def discover(
    chain: Chain,
    network: Network,
    model: str,
    http: httpx.Client,
    *,
    card_timeout: float = 5.0,
    deadline_s: float = 30.0,
    use_reputation: bool = True,
    lock: AbstractContextManager[Any] | None = None,
) -> Discovery:
    """The nodes of ``network`` (read through ``chain``) serving ``model``, ranked.

    Cards are read one by one within ``deadline_s`` in all (a node not reached by
    then is skipped); ``lock`` is held around the chain reads only, not the cards.
    """
    guard = lock or nullcontext()
    with guard:
        cid = resolve_model(chain, network, model)
        fit, skipped = _staked_for(chain, network, cid)
    deadline = time.monotonic() + deadline_s
    carded: list[tuple[Participant, str, AgentCard, float]] = []
    for p in fit:
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise ClientError(f"not reached within the {deadline_s:g} s discovery deadline")
            endpoint = plain_base_url(p.endpoint)
            card, latency = fetch_card(http, endpoint, min(card_timeout, left))
            check_card(card, p.address, network)
        except CairnError as exc:
            skipped.append(Skipped(p.address, p.endpoint[:200], str(exc)))
            continue
        carded.append((p, endpoint, card, latency))
    found = []
    for p, endpoint, card, latency in carded:
        with guard:
            score = _score(chain, network, p.address) if use_reputation else None
        price = card.price_of(cid)
        found.append(Candidate(p.address, endpoint, p.stake, card, latency, score, price))
    return Discovery(model, cid, tuple(rank(found)), tuple(skipped))


def rank(
    candidates: Iterable[Candidate], latency_s: Mapping[str, float] | None = None
) -> list[Candidate]:
    """Best first: reputation (higher; unread counts as :data:`PRIOR_SCORE`), then price
    per request (lower), then latency (lower: ``latency_s`` by address, as the client
    measured it, else the card's), then address (a stable order)."""
    measured = latency_s or {}

    def key(c: Candidate) -> tuple[float, int, float, str]:
        score = PRIOR_SCORE if c.score is None else c.score
        return (-score, c.price, measured.get(c.address, c.latency_s), c.address.lower())

    return sorted(candidates, key=key)
