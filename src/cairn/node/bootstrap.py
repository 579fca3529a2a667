"""The composition root: a staked node with published, registered models.

``bootstrap`` brings a data dir to a serving state, idempotently (a restart
finds everything in place and changes nothing): the chain connected and its
contracts deployed; the node's wallet; the models built from the bundled
weights, imported into the blockstore, signed into manifests, registered and
published onchain; the node registered and staked. Then it loads each model by
CID from the blockstore (bytes verified) and wires receipts and anchoring.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cairn import content
from cairn.chain import Chain, DisputeParams, Role, as_account, connect
from cairn.config import DataDir
from cairn.errors import NodeError
from cairn.identity import LocalSigner, WalletStore
from cairn.inference import (
    DIGITS_NAME,
    MINILM_NAME,
    SPEC_FILE,
    Embedder,
    Model,
    ModelSpec,
    build_digits_classifier,
    build_minilm,
    load_model,
    minilm_source_dir,
)
from cairn.node.settings import NodeSettings
from cairn.provenance import Card, ComparisonPolicy, ManifestIndex, publish
from cairn.receipts import Batcher, ReceiptDomain, SqliteReceiptStore

__all__ = ["NodeContext", "ServedModel", "bootstrap", "enable_zk"]

log = logging.getLogger(__name__)
Step = Callable[[str], None]

MINILM = MINILM_NAME
DIGITS = DIGITS_NAME


@dataclass
class ServedModel:
    name: str
    cid: str
    manifest_cid: str
    version: int
    model: Model
    policy: dict[str, Any]
    manifest: dict[str, Any]  # the signed DSSE envelope, as stored (served by /v1/models)
    embedder: Embedder | None = None


@dataclass
class NodeContext:
    """Everything a running node holds."""

    settings: NodeSettings
    data_dir: DataDir
    chain: Chain
    chain_lock: threading.Lock
    signer: LocalSigner
    store: content.Blockstore
    models: dict[str, ServedModel]
    receipts: SqliteReceiptStore
    batcher: Batcher
    domain: ReceiptDomain
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        if "zk" in self.extra:
            self.extra["zk"].stop()
        self.batcher.stop()
        self.receipts.close()
        with self.chain_lock:
            self.chain.close()


def _node_signer(dd: DataDir, name: str, passphrase: str, step: Step) -> LocalSigner:
    wallets = WalletStore(dd.keystore)
    if name not in {w.name for w in wallets.list()}:
        step(f"creating node wallet {name!r}")
        wallets.create(name, passphrase)
    return wallets.unlock(name, passphrase)


def _fund_and_deploy(chain: Chain, s: NodeSettings, signer: LocalSigner, step: Step) -> None:
    """Deploy once; on a development chain (embedded, Anvil) fund the node from its dev keys."""
    dev = chain.dev_keys()
    deployer = s.deployer_key or (dev[0] if dev else signer.private_key)
    if dev and chain.balance(signer.address) < 10**18:
        step("funding the node wallet from the development chain")
        chain.fund(signer.address, 100 * 10**18)
    if not chain.is_deployed():
        step(f"deploying contracts to {s.chain}")
    chain.deploy(deployer, disputes=DisputeParams() if s.disputes else None)
    found = chain.deployment
    if s.disputes and found.disputes is None:
        if as_account(deployer).address.lower() == found.deployer.lower():
            step("deploying Disputes (the only contract that may slash)")
            chain.deploy_disputes(deployer)
        else:
            step(f"no Disputes contract: only the deployer {found.deployer} may add it")


def _upstream(ctx: dict[str, Any]) -> str:
    """Publish the upstream MiniLM files as they ship (the served ONNX model's base)."""
    index = ManifestIndex(ctx["dd"].root / "provenance" / "index.json")
    card = Card(
        "model", f"{MINILM}-upstream", "1", "Apache-2.0", contributors=("sentence-transformers",)
    )
    return str(publish(minilm_source_dir(), card, ctx["signer"], ctx["store"], index).artifact_cid)


def _publish(
    name: str, folder_builder: Callable[..., Any], ctx: dict[str, Any], base: str | None = None
) -> tuple[str, str, dict[str, Any]]:
    """Build the model folder (cached), import it, sign and store its manifest."""
    dd: DataDir = ctx["dd"]
    folder = folder_builder(dd.root / "models" / name)
    policy = dict(ModelSpec.from_bytes((folder / SPEC_FILE).read_bytes()).policy)
    card = Card(
        "model", name, "1", "Apache-2.0", base_model=base, policy=ComparisonPolicy.from_dict(policy)
    )
    index = ManifestIndex(dd.root / "provenance" / "index.json")
    published = publish(folder, card, ctx["signer"], ctx["store"], index)
    return str(published.artifact_cid), str(published.manifest_cid), policy


def _register(
    chain: Chain, signer: LocalSigner, name: str, cid: str, manifest: str, delay: int, step: Step
) -> int:
    """Register and publish the model; reuse a matching version; never fight another owner."""
    info = chain.registry.model(name)
    if info is None:
        step(f"registering {name} onchain")
        chain.registry.register(signer, name, delay)
    elif info.owner.lower() != signer.address.lower():
        current = chain.registry.current(name) if info.version_count else None
        if current is not None and current.content_cid == cid:
            return int(current.index)
        raise NodeError(
            f"model name {name!r} is owned by {info.owner}, and its current version "
            f"is not {cid}: choose another name or serve that version"
        )
    history = chain.registry.history(name)
    for v in reversed(history):
        if v.content_cid == cid and v.manifest_cid == manifest:
            return int(v.index)
    step(f"publishing {name} {cid}")
    return chain.registry.publish(signer, name, cid, manifest).value


def _stake(
    chain: Chain, s: NodeSettings, signer: LocalSigner, models: list[str], step: Step
) -> None:
    part = chain.staking.participant(signer.address)
    endpoint = f"http://{s.host}:{s.port}"
    if part.role is None or part.endpoint != endpoint:
        chain.staking.register(signer, Role.NODE, endpoint, models)
    if not chain.staking.is_staked(signer.address, Role.NODE):
        wei = s.stake_wei or chain.staking.min_stake(Role.NODE)
        step(f"staking {wei / 1e18:g} ETH")
        chain.staking.stake(signer, wei)


def bootstrap(
    s: NodeSettings, passphrase: str, step: Step = lambda _m: None, chain: Chain | None = None
) -> NodeContext:
    """Bring the data dir to a serving state and return the node's context.

    ``chain`` reuses an open connection (an embedded chain must have one per process).
    """
    dd = DataDir(s.data_dir).ensure()
    chain = chain or connect(s.chain, dd)
    signer = _node_signer(dd, s.wallet, passphrase, step)
    _fund_and_deploy(chain, s, signer, step)
    store = content.open_blockstore(dd)
    ctx = {"dd": dd, "signer": signer, "store": store}
    models: dict[str, ServedModel] = {}
    for name, builder in ((MINILM, build_minilm), (DIGITS, build_digits_classifier)):
        step(f"building and publishing {name}")
        base = _upstream(ctx) if name == MINILM else None
        cid, manifest, policy = _publish(name, builder, ctx, base)
        version = _register(chain, signer, name, cid, manifest, s.update_delay_s, step)
        model = load_model(cid, store, threads=s.threads)
        embedder = Embedder(model) if model.spec.kind == "sentence-embedding" else None
        envelope = json.loads(content.read_bytes(content.Cid.parse(manifest), store))
        models[name] = ServedModel(name, cid, manifest, version, model, policy, envelope, embedder)
    _stake(chain, s, signer, list(models), step)
    receipts = SqliteReceiptStore(dd.node / "receipts.sqlite")
    lock = threading.Lock()

    def anchor(batch_id: int, root: bytes, count: int) -> None:
        with lock:
            if chain.anchor.root_of(signer.address, batch_id) == root:
                return  # anchored before a crash; idempotent
            chain.anchor.anchor(signer, batch_id, root, count)

    batcher = Batcher(
        receipts,
        anchor,
        max_receipts=s.batch_size,
        max_age_s=s.batch_seconds,
        retain_s=s.audit_window_s,
    )
    domain = ReceiptDomain(chain.chain_id, chain.deployment.anchor)
    ctx_ = NodeContext(s, dd, chain, lock, signer, store, models, receipts, batcher, domain)
    enable_zk(ctx_)
    return ctx_


def enable_zk(ctx: NodeContext) -> None:
    """Prove receipts of served models that have a zk artifact (``cairn zk setup``), off the
    request path; a no-op without artifacts or without the ``zk`` extra (ezkl)."""
    index = ctx.data_dir.root / "zk" / "index.json"
    if not index.is_file():
        return
    try:
        from cairn.verification.zk.artifact import load_artifacts
        from cairn.verification.zk.prover import ProvingQueue
    except ImportError:
        log.warning("zk artifacts found but ezkl is not installed: pip install 'cairn[zk]'")
        return
    served = {m.cid for m in ctx.models.values()}
    artifacts = {m: a for m, a in load_artifacts(index, ctx.store).items() if m in served}
    if artifacts:
        ctx.extra["zk"] = ProvingQueue(ctx.data_dir.root / "zk" / "proofs", artifacts)
