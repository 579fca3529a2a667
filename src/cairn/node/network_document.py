"""``GET /v1/network``: what this network is, read from the chain, for the auditor.

The body is :class:`cairn.audit.network.NetworkDocument` (documented in
docs/audit.md). Everything in it is read from the chain or from this node's
own settings — the node does not describe itself more kindly than the
contracts do. On the embedded defaults that means: one local chain process,
one inference operator, no validators yet.
"""

from __future__ import annotations

from typing import Any

from cairn.audit.network import (
    ChainInfo,
    IdentityInfo,
    InferenceInfo,
    NetworkDocument,
    Participant,
    RegistryInfo,
    StorageInfo,
    VerificationInfo,
)
from cairn.chain import Chain, Role
from cairn.identity import as_wallet
from cairn.node.bootstrap import NodeContext

__all__ = ["network_document"]


def _validators(ctx: NodeContext) -> list[Participant]:
    """Staked validators in the Disputes juror pool."""
    found = []
    for who in ctx.chain.disputes.pool():
        p = ctx.chain.staking.participant(who)
        found.append(Participant(address=who, stake=p.stake, endpoint=p.endpoint or None))
    return found


def _batch_settlement(chain: Chain) -> dict[str, str]:
    """x402 batch-settlement's contract, at its canonical address, if it is on this chain."""
    from cairn.chain.batch import BATCH_SETTLEMENT_ADDRESS

    return (
        {"BatchSettlement": BATCH_SETTLEMENT_ADDRESS}
        if chain.code_at(BATCH_SETTLEMENT_ADDRESS)
        else {}
    )


def network_document(ctx: NodeContext) -> dict[str, Any]:
    s = ctx.settings
    with ctx.chain_lock:
        dep = ctx.chain.deployment
        me = ctx.chain.staking.participant(ctx.signer.address)
        infos = [ctx.chain.registry.model(name) for name in ctx.models]
        min_validator = ctx.chain.staking.min_stake(Role.VALIDATOR)
        dparams = ctx.chain.disputes.params() if dep.disputes else None
        jurors = _validators(ctx) if dep.disputes else []
        settlement = _batch_settlement(ctx.chain)
    owners = sorted({i.owner for i in infos if i is not None}) or [dep.deployer]
    delays = [i.update_delay for i in infos if i is not None]
    embedded = s.chain.startswith("embedded:")
    endpoint = f"http://{s.host}:{s.port}"
    doc = NetworkDocument(
        name="cairn network (embedded defaults)" if embedded else "cairn network",
        chain=ChainInfo(
            url=s.chain,
            chain_id=dep.chain_id,
            kind="embedded" if embedded else "rpc",
            contracts={
                "ModelRegistry": dep.registry,
                "Staking": dep.staking,
                "ReceiptAnchor": dep.anchor,
                **settlement,
                **({"Disputes": dep.disputes} if dep.disputes else {}),
                **({"CairnUSD": dep.token} if dep.token else {}),  # the x402 payment token
            },
            operators=1 if embedded else None,
        ),
        operators={
            "gateway": [ctx.signer.address],
            "inference": [ctx.signer.address],
            "anchoring": [ctx.signer.address],
            "deployer": [dep.deployer],
        },
        nodes=[Participant(address=me.address, stake=me.stake, endpoint=me.endpoint)]
        if me.role is not None
        else [],
        validators=jurors,
        registry=RegistryInfo(update_delay_s=min(delays) if delays else 0, owners=owners),
        storage=StorageInfo(gateways=[endpoint], blockstore="filesystem"),
        inference=InferenceInfo(operators=1, runtime="onnxruntime", permissionless=True),
        identity=IdentityInfo(
            node_keys="external_wallet" if as_wallet(ctx.signer) else "in_process"
        ),
        verification=VerificationInfo(
            sampling_rate=dparams.audit_rate_ppm / 1e6 if dparams else 0.0,
            slashing=dparams is not None,
            disputes=dparams is not None,
            zk=False,
            min_stake=min_validator,
        ),
    )
    return doc.model_dump(mode="json")
