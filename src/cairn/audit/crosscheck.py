"""A live audit reads the chain, not the node: what comes from where, and a node caught lying.

The chain and the network's contracts come from a pinned network profile
(--network NAME), or from addresses a node publishes at /v1/network, which are
refused unless each one runs cairn's own compiled code (its runtime code hash,
immutables aside) and they name each other (anchor -> Staking, Disputes ->
anchor and Staking, Challenges -> Disputes).
From the contracts: the chain id; inference operators (nodes registered with at
  least the minimum stake, not jailed, not unbonding) and their stakes;
  validators (staked, not jailed) and their stakes; the juror pool; jail; open
  and resolved disputes; the sampling rate; whether Disputes is Staking's
  slasher; each served model's owner and update delay. Nakamoto coefficients
  come from these stakes.
From the node's word, and marked so in the report: the runtime, whether
  requests are sealed, the storage gateways, training and lineage, claims, the
  block producers of a public chain, and -- unless --chain or --network names
  the chain -- the RPC the chain is read through (a node may name a chain of
  its own). An embedded chain runs inside the node: read through the node's
  relay, every answer rests on the node.
node-contradicts-chain: the node's /v1/network states a stake, owner, delay,
  sampling rate, slashing, minimum stake, chain or contract the chain
  contradicts, or more operators or validators than the chain counts. The
  report uses the chain's answer and lists each contradiction.
  why: a node that misdescribes its own network is making a claim the evidence
  contradicts; it counts like any red flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.audit.report import RedFlag

if TYPE_CHECKING:
    from cairn.audit.network import NetworkDocument, Participant
    from cairn.audit.onchain import ChainFacts, Staker

__all__ = ["FLAG_ID", "contradictions", "node_word"]

FLAG_ID = "node-contradicts-chain"


def contradictions(doc: NetworkDocument, chain: ChainFacts) -> tuple[RedFlag, ...]:
    """Each thing ``doc`` says about the chain that ``chain`` contradicts, as a red flag."""
    found = [
        *_chain(doc, chain),
        *_people("node", doc.nodes, chain.nodes, dict(chain.idle)),
        *_people("validator", doc.validators, chain.validators, {}),
        *_counts(doc, chain),
        *_registry(doc, chain),
        *_verification(doc, chain),
    ]
    return tuple(
        RedFlag(
            FLAG_ID,
            "the node's /v1/network contradicts the chain",
            f"{text}; the chain's answer is used",
        )
        for text in found
    )


def _chain(doc: NetworkDocument, chain: ChainFacts) -> list[str]:
    out = []
    if doc.chain.chain_id != chain.chain_id:
        out.append(f"it names chain {doc.chain.chain_id}, the network is on chain {chain.chain_id}")
    for name, address in sorted(doc.chain.contracts.items()):
        real = chain.contracts.get(name)
        if real is not None and real.lower() != address.lower():
            out.append(f"it names {name} {address}, the network's is {real}")
    return out


def _people(
    role: str, said: list[Participant], real: tuple[Staker, ...], idle: dict[str, str]
) -> list[str]:
    stakes = {p.address.lower(): p.stake for p in real}
    why = {a.lower(): w for a, w in idle.items()}
    out = []
    for p in said:
        onchain = stakes.get(p.address.lower())
        if onchain is None:
            reason = why.get(p.address.lower(), f"not a staked {role}")
            out.append(f"it lists {role} {p.address} staking {p.stake} wei; the chain: {reason}")
        elif onchain != p.stake:
            out.append(f"it says {role} {p.address} stakes {p.stake} wei; the chain: {onchain}")
    return out


def _counts(doc: NetworkDocument, chain: ChainFacts) -> list[str]:
    # Fewer than the chain counts is not a lie: one node may only know itself.
    if doc.inference.operators > len(chain.nodes):
        return [
            f"it claims {doc.inference.operators} inference operators; "
            f"the chain counts {len(chain.nodes)}"
        ]
    return []


def _registry(doc: NetworkDocument, chain: ChainFacts) -> list[str]:
    owners = {m.owner.lower() for m in chain.governing}
    said = {o.lower() for o in doc.registry.owners}
    delay = min((m.update_delay_s for m in chain.governing), default=0)
    out = []
    if owners and said != owners:
        out.append(
            f"it names registry owner(s) {', '.join(sorted(doc.registry.owners))}; "
            f"the chain: {', '.join(sorted(m.owner for m in chain.governing))}"
        )
    if doc.registry.update_delay_s != delay:
        out.append(f"it says updates wait {doc.registry.update_delay_s} s; the chain: {delay} s")
    return out


def _verification(doc: NetworkDocument, chain: ChainFacts) -> list[str]:
    v, out = doc.verification, []
    if abs(v.sampling_rate - chain.sampling_rate) > 1e-9:
        out.append(
            f"it says {v.sampling_rate:.2%} of receipts are sampled; the chain: "
            f"{chain.sampling_rate:.2%}"
        )
    if v.slashing and not chain.slashing:
        out.append("it says stake is slashed; Staking's slasher is not the network's Disputes")
    if v.min_stake and v.min_stake != chain.min_validator_stake:
        out.append(
            f"it says validators stake at least {v.min_stake} wei; the chain: "
            f"{chain.min_validator_stake}"
        )
    return out


def node_word(doc: NetworkDocument | None, read_via: str) -> tuple[str, ...]:
    """The answers of a live audit that rest on a node's word; ``read_via`` says how the
    chain was reached: ``profile``, ``auditor`` (--chain), ``node`` (the RPC the node
    named) or ``relay`` (the node's own /v1/chain/rpc)."""
    chain = {
        "node": "which chain this is: read through the RPC the node named "
        "(pass --chain or --network to read one you trust)",
        "relay": "every chain answer: the chain runs inside the node and is read through "
        "its relay (/v1/chain/rpc)",
    }
    out = [chain[read_via]] if read_via in chain else []
    if doc is None:
        return (
            *out,
            "none: no node was asked, so the runtime, sealing and gateways are "
            "unknown and taken at their worst",
        )
    out += [
        f"the inference runtime ({doc.inference.runtime})",
        "whether requests are sealed"
        + (" (the node says they are)" if doc.inference.sealed_requests else ""),
        "the storage gateways",
        "training and lineage",
        "the claims and disclosures",
    ]
    if doc.chain.operators is not None:
        out.append(f"the chain's block producers ({doc.chain.operators})")
    return tuple(out)
