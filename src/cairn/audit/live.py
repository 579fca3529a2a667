"""``cairn audit --live``: find the network's chain, check its contracts are cairn's, read them.

The rules of what comes from the chain and what from a node are written once, in
:mod:`cairn.audit.crosscheck` (``cairn audit --explain`` prints them). This module
only composes: the chain and addresses (a pinned profile, or a node's
``/v1/network`` -- then checked by :func:`cairn.chain.check_network` and by code
hash, :mod:`cairn.audit._code`), the contracts' answers
(:func:`cairn.audit.onchain.read_chain`), the manifest they imply
(:func:`cairn.audit.network.manifest_from_network`), the node's contradictions,
and the report, whose :class:`~cairn.audit.report.Live` part says where each
answer came from.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from cairn.audit._code import check_code
from cairn.audit.base import read_network
from cairn.audit.crosscheck import contradictions, node_word
from cairn.audit.network import NetworkDocument, manifest_from_network
from cairn.audit.onchain import ChainFacts, read_chain
from cairn.audit.report import Answer, Live, Petal, Report
from cairn.audit.rules import audit
from cairn.audit.sources import open_source
from cairn.chain import Chain, Network, check_network, connect
from cairn.config import DataDir
from cairn.errors import AuditError, CairnError

__all__ = ["audit_network"]

_RELAY = "/v1/chain/rpc"
_WORD_PETALS = ("storage", "training")
_WORD_ANSWERS = ("Which data is public, private or encrypted?",)


def audit_network(
    url: str | None = None,
    *,
    network: Network | None = None,
    chain_url: str | None = None,
    data_dir: DataDir | None = None,
    timeout_s: float = 10.0,
) -> Report:
    """Audit a running network: a node's ``url`` and/or a pinned ``network``; ``chain_url``
    reads the chain through an RPC of the auditor's choosing."""
    doc = read_network(open_source(url, timeout_s=timeout_s)) if url else None
    if network is not None:
        via = "auditor" if chain_url else "profile"
        network = replace(network, rpc=chain_url) if chain_url else network
    elif doc is not None and url is not None:
        network, via = _published(doc, url, chain_url)
    else:
        raise AuditError("give a node URL (--live URL) or a pinned network (--network NAME)")
    chain = _checked(network, data_dir)
    try:
        facts = read_chain(chain)
    finally:
        chain.close()
    embedded = via == "relay" or network.rpc.startswith("embedded:")
    found = contradictions(doc, facts) if doc else ()
    report = audit(manifest_from_network(facts, doc, embedded=embedded), found)
    return _marked(replace(report, live=_live(facts, network, via, doc)), doc)


def _published(doc: NetworkDocument, url: str, chain_url: str | None) -> tuple[Network, str]:
    """The network a node publishes; the chain read through ``chain_url``, else as it says."""
    contracts = doc.chain.contracts
    missing = [
        n for n in ("ReceiptAnchor", "Staking", "ModelRegistry", "Disputes") if n not in contracts
    ]
    if missing:
        raise AuditError(f"{url}: /v1/network names no {', '.join(missing)} contract")
    if chain_url:
        rpc, via = chain_url, "auditor"
    elif doc.chain.kind == "embedded" or doc.chain.url.startswith("embedded:"):
        if urlsplit(url).scheme not in ("http", "https"):
            raise AuditError(
                f"{url}: the network's chain is embedded in its node; give --chain "
                f"GATEWAY{_RELAY} or --network NAME to read it"
            )
        rpc, via = url.rstrip("/") + _RELAY, "relay"
    else:
        rpc, via = doc.chain.url, "node"
    try:
        network = Network.from_json(
            {
                "chain_id": doc.chain.chain_id,
                "rpc": rpc,
                "anchor": contracts["ReceiptAnchor"],
                "staking": contracts["Staking"],
                "registry": contracts["ModelRegistry"],
                "disputes": contracts["Disputes"],
            },
            "live",
        )
    except CairnError as exc:
        raise AuditError(f"{url}: {exc}") from None
    return network, via


def _checked(network: Network, data_dir: DataDir | None) -> Chain:
    """The chain, once every contract runs cairn's code and they name each other."""
    if network.registry is None or network.disputes is None:
        raise AuditError(f"{network.name}: the profile pins no ModelRegistry or no Disputes")
    probe = connect(network.rpc, data_dir, expect_chain_id=network.chain_id)
    try:
        for name, address in (
            ("ReceiptAnchor", network.anchor),
            ("Staking", network.staking),
            ("ModelRegistry", network.registry),
            ("Disputes", network.disputes),
        ):
            check_code(probe, name, address)
    finally:
        probe.close()
    chain = check_network(network, data_dir, use=True)
    challenges = chain.disputes.challenges_address()
    if challenges is not None:
        check_code(chain, "Challenges", challenges)
    return chain


def _live(facts: ChainFacts, network: Network, via: str, doc: NetworkDocument | None) -> Live:
    checked = {
        "profile": f"network profile {network.name!r}; code hashes match cairn's contracts",
        "auditor": "addresses checked by code hash against cairn's contracts, "
        "on the chain the auditor named",
    }.get(via, "addresses published by the node, checked by code hash against cairn's contracts")
    return Live(
        chain=network.rpc,
        chain_id=facts.chain_id,
        contracts=facts.contracts,
        checked=checked,
        counts={
            "inference_operators": len(facts.nodes),
            "validators": len(facts.validators),
            "jurors": len(facts.jurors),
            "jailed": len(facts.jailed),
            "disputes_open": facts.disputes_open,
            "disputes_resolved": facts.disputes_resolved,
        },
        node_word=node_word(doc, via),
    )


def _marked(report: Report, doc: NetworkDocument | None) -> Report:
    """Say it beside each answer that rests on the node (or on nobody, without a node)."""
    mark = " (rests on the node's word)" if doc else " (unknown: no node asked; taken at its worst)"
    rosette = {
        k: Petal(p.rating, p.reason + mark) if k in _WORD_PETALS else p
        for k, p in report.rosette.items()
    }
    questions = tuple(
        Answer(a.question, a.answer + mark) if a.question in _WORD_ANSWERS else a
        for a in report.questions
    )
    return replace(report, rosette=rosette, questions=questions)
