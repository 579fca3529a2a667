"""A node's agent card: the ERC-8004 registration file a cairn node publishes about itself.

Spec: ERC-8004 "Trustless Agents", *Agent URI and Agent Registration File*: a JSON
object with ``type`` (:data:`CARD_TYPE`), ``name``, ``description``, ``services``
(``{"name", "endpoint"}`` entries), ``x402Support``, ``active``,
``registrations`` (``{"agentId", "agentRegistry": "eip155:CHAIN:ADDRESS"}``) and
``supportedTrust``. A generic ERC-8004 reader understands the card from those
fields alone; what only cairn clients need — the gateway and its
OpenAI-compatible base URL, the models served by CID with their price per
request, the receipt-signing address, the chain and contracts the node is staked
on, and how it is paid — sits under the namespaced key :data:`NAMESPACE`.

Prices are in atomic units of the card's ``payment.asset`` (an ERC-20 on the
card's chain, paid over x402 v2 with the schemes listed; ``x402Support`` is true
when any model is priced). A model without a price is free, and every receipt's
``price`` is what that call was charged, never more than the card says.

``services`` lists only names every reader we know parses: agent0-sdk 1.7.1
refuses a service name outside its own list (MCP, A2A, ENS, DID, wallet, OASF),
the ERC's ``web`` included, so the gateway URL lives under :data:`NAMESPACE` and
``services`` carries the signing address as a CAIP-10 ``wallet``. MCP and A2A
are absent because cairn serves neither.

The node writes the card (:mod:`cairn.node.agent_card`) and clients read it
(:mod:`cairn.client.discovery`); both go through :class:`AgentCard`, so the shape
lives here once. Its bytes are canonical JSON (sorted keys, no spaces, UTF-8),
so the same card always has the same CID. A card is the node's word: a client
believes its signing address only where Staking says the same, and its models
only where Staking registered them.

>>> card = AgentCard("n", "http://127.0.0.1:8000", "0x" + "11" * 20, 31337, {}, ())
>>> AgentCard.from_bytes(card.to_bytes()) == card
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cairn.errors import CairnError, ClientError
from cairn.identity import checksum_address

__all__ = [
    "CARD_PATH",
    "CARD_TYPE",
    "MAX_CARD_BYTES",
    "NAMESPACE",
    "AgentCard",
    "CardModel",
    "CardPayment",
    "Registration",
]

CARD_TYPE = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1"
#: where a node serves its card (the well-known path ERC-8004 readers look at)
CARD_PATH = "/.well-known/agent-card.json"
NAMESPACE = "cairn"
VERSION = 1
#: a card is a few hundred bytes per model; more is refused unread
MAX_CARD_BYTES = 64 << 10
_MAX_MODELS = 32  # Staking.MAX_MODELS
_MAX_TEXT = 512


@dataclass(frozen=True)
class CardModel:
    """A model the node serves: its name there, its CID, its kind."""

    name: str
    cid: str
    kind: str = ""
    price: int = 0  # atomic units of the card's payment asset per request; 0: free


@dataclass(frozen=True)
class CardPayment:
    """How the node is paid: an ERC-20 on the card's chain, over these x402 schemes."""

    asset: str
    schemes: tuple[str, ...] = ("exact",)


@dataclass(frozen=True)
class Registration:
    """An ERC-8004 registration: agent id in an IdentityRegistry on a chain."""

    agent_id: int
    chain_id: int
    registry: str

    @property
    def agent_registry(self) -> str:
        """CAIP-10 style ``eip155:CHAIN:ADDRESS``, as the ERC writes ``agentRegistry``."""
        return f"eip155:{self.chain_id}:{self.registry}"


@dataclass(frozen=True)
class AgentCard:
    """What a node says about itself; :meth:`to_json` gives the ERC-8004 document."""

    name: str
    gateway: str  # the base URL: http(s)://host:port
    signer: str  # the address that signs receipts (and is staked)
    chain_id: int
    contracts: Mapping[str, str]  # ReceiptAnchor, Staking, ModelRegistry, Disputes
    models: tuple[CardModel, ...]
    payment: CardPayment | None = None  # None: nothing is priced
    trust: tuple[str, ...] = ()
    registrations: tuple[Registration, ...] = ()
    description: str = "A cairn inference node: every answer carries a signed receipt."

    @property
    def openai_base(self) -> str:
        return f"{self.gateway}/v1"

    def price_of(self, model: str) -> int:
        """The price per request of a served model (by CID or name); 0 when unknown."""
        for m in self.models:
            if model in (m.cid, m.name):
                return m.price
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "type": CARD_TYPE,
            "name": self.name,
            "description": self.description,
            "services": [{"name": "wallet", "endpoint": f"eip155:{self.chain_id}:{self.signer}"}],
            "x402Support": any(m.price for m in self.models),
            "active": True,
            "registrations": [
                {"agentId": r.agent_id, "agentRegistry": r.agent_registry}
                for r in self.registrations
            ],
            "supportedTrust": list(self.trust),
            NAMESPACE: {
                "version": VERSION,
                "gateway": self.gateway,
                "openai": self.openai_base,
                "signer": self.signer,
                "chainId": self.chain_id,
                "contracts": dict(sorted(self.contracts.items())),
                "models": [
                    {"name": m.name, "cid": m.cid, "kind": m.kind, "price": str(m.price)}
                    for m in self.models
                ],
                **({"payment": self._payment_json()} if self.payment else {}),
            },
        }

    def _payment_json(self) -> dict[str, Any]:
        assert self.payment is not None
        return {
            "network": f"eip155:{self.chain_id}",
            "asset": self.payment.asset,
            "payTo": self.signer,
            "schemes": list(self.payment.schemes),
        }

    def to_bytes(self) -> bytes:
        """Canonical bytes: the same card, the same CID."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return text.encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> AgentCard:
        """Parse a card, or :class:`ClientError` naming the first thing wrong with it."""
        if len(data) > MAX_CARD_BYTES:
            raise ClientError(f"agent card of {len(data):,} bytes is over {MAX_CARD_BYTES:,}")
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            raise ClientError("agent card is not JSON") from None
        return cls.from_json(obj)

    @classmethod
    def from_json(cls, obj: object) -> AgentCard:
        try:
            return _parse(obj)
        except (KeyError, TypeError, ValueError, CairnError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ClientError(f"malformed agent card: {what}") from None


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise ValueError(f"{key} must be a string of at most {_MAX_TEXT} characters")
    return value


def _int(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{key} must be an integer")
    number = int(value)
    if not 0 <= number < 1 << 256:
        raise ValueError(f"{key} out of range")
    return number


def _parse(obj: object) -> AgentCard:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if obj.get("type") != CARD_TYPE:
        raise ValueError(f"type is not {CARD_TYPE}")
    ours = obj[NAMESPACE]
    if not isinstance(ours, dict):
        raise ValueError(f"{NAMESPACE} is not an object")
    models = ours["models"]
    contracts = ours.get("contracts", {})
    if not isinstance(models, list) or len(models) > _MAX_MODELS:
        raise ValueError(f"models must be a list of at most {_MAX_MODELS}")
    if not isinstance(contracts, dict) or len(contracts) > 16:
        raise ValueError("contracts must be an object of addresses")
    return AgentCard(
        name=_text(obj, "name"),
        gateway=_text(ours, "gateway"),
        signer=checksum_address(_text(ours, "signer")),
        chain_id=_int(ours["chainId"], "chainId"),
        contracts={_name(k): checksum_address(str(v)) for k, v in contracts.items()},
        models=tuple(_model(m) for m in models),
        payment=_payment(ours["payment"]) if "payment" in ours else None,
        trust=tuple(_strings(obj.get("supportedTrust", []), "supportedTrust")),
        registrations=tuple(_registration(r) for r in _list(obj.get("registrations", []))),
        description=_text(obj, "description") if "description" in obj else "",
    )


def _name(key: object) -> str:
    if not isinstance(key, str) or len(key) > 64:
        raise ValueError("a contract's name must be a short string")
    return key


def _list(value: object) -> list[Any]:
    if not isinstance(value, list) or len(value) > _MAX_MODELS:
        raise ValueError(f"expected a list of at most {_MAX_MODELS}")
    return value


def _strings(value: object, key: str) -> list[str]:
    items = _list(value)
    if not all(isinstance(s, str) and len(s) <= _MAX_TEXT for s in items):
        raise ValueError(f"{key} must be a list of strings")
    return items


def _model(m: object) -> CardModel:
    if not isinstance(m, dict):
        raise ValueError("a model must be an object")
    return CardModel(
        _text(m, "name"),
        _text(m, "cid"),
        _text(m, "kind") if "kind" in m else "",
        _int(m["price"], "price") if "price" in m else 0,
    )


def _payment(p: object) -> CardPayment:
    if not isinstance(p, dict):
        raise ValueError("payment must be an object")
    return CardPayment(
        checksum_address(_text(p, "asset")), tuple(_strings(p.get("schemes", []), "schemes"))
    )


def _registration(r: object) -> Registration:
    if not isinstance(r, dict):
        raise ValueError("a registration must be an object")
    namespace, chain, address = _text(r, "agentRegistry").split(":")
    if namespace != "eip155":
        raise ValueError(f"agentRegistry namespace {namespace!r} is not eip155")
    return Registration(
        _int(r["agentId"], "agentId"), _int(chain, "chainId"), checksum_address(address)
    )
