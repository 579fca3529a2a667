"""The composition root: a staked node with published, registered models.

``bootstrap`` brings a data dir to a serving state, idempotently (a restart
finds everything in place and changes nothing): the chain connected and its
contracts deployed; the node's wallet; the models the settings name
(:mod:`cairn.node.models`: bundled, a model folder, or a CID) imported into the
blockstore, signed into manifests, registered and published onchain; the node
registered and staked. Each model is loaded by CID from the blockstore (bytes
verified); receipts, anchoring and — where a zk artifact exists — proving are
wired last. Every path comes from :class:`~cairn.config.DataDir`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, Protocol

from cairn import content
from cairn.chain import Chain, DisputeParams, Role, connect, model_id
from cairn.chain.batch import install_canonical
from cairn.config import DataDir
from cairn.errors import ConfigError, NodeError
from cairn.identity import ExternalSigner, LocalSigner, Signer, WalletStore
from cairn.inference import Embedder, Model, Tensor
from cairn.node.models import resolve_models
from cairn.node.settings import NodeSettings
from cairn.payments import BatchScheme, Cashier, open_cashier
from cairn.receipts import Batcher, Receipt, ReceiptDomain, ReceiptStore, SqliteReceiptStore

__all__ = ["Claimer", "NodeContext", "Prover", "ServedModel", "bootstrap", "enable_zk"]

log = logging.getLogger(__name__)
Step = Callable[[str], None]


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
    price: int = 0  # per request, atomic units of the network's payment token (x402)


class Prover(Protocol):
    """The zk tier's background prover (``cairn.verification.zk.ProvingQueue``)."""

    def submit(self, receipt: Receipt, inputs: Mapping[str, Tensor]) -> None:
        """Queue a receipt for proving; never blocks the request path."""

    def get(self, request_id: bytes) -> bytes | None:
        """The proof of a receipt, once made."""

    def stop(self) -> None: ...


@dataclass
class NodeContext:
    """Everything a running node holds."""

    settings: NodeSettings
    data_dir: DataDir
    chain: Chain
    chain_lock: threading.Lock
    signer: Signer
    store: content.Blockstore
    models: dict[str, ServedModel]
    receipts: ReceiptStore
    batcher: Batcher
    domain: ReceiptDomain
    prover: Prover | None = None  # proves receipts of models with a zk artifact
    cashier: Cashier | None = None  # x402: None when every served model is free
    claimer: Claimer | None = None  # claims batch-settlement vouchers (x402)
    held: IO[str] | None = None  # the data dir's lock (bootstrap._hold_data_dir)

    def close(self) -> None:
        if self.claimer is not None:
            self.claimer.stop()  # a last claim, so that no voucher waits for the next start
            batch = self.claimer.cashier.schemes.get("batch-settlement")
            if isinstance(batch, BatchScheme):
                batch.close()
        if self.prover is not None:
            self.prover.stop()
        self.batcher.stop()
        self.receipts.close()
        with self.chain_lock:
            self.chain.close()
        if self.held is not None:
            self.held.close()  # closing the descriptor drops the flock
            self.held = None


class Claimer:
    """Collects the node's revenue every ``interval_s``, and a last time at :meth:`stop`
    (:meth:`cairn.payments.Cashier.collect`: batch-settlement vouchers claimed, the
    revenue splitter released)."""

    def __init__(self, cashier: Cashier, interval_s: float) -> None:
        self.cashier, self.interval_s = cashier, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cairn-claimer", daemon=True)

    def start(self) -> Claimer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.claim()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.claim()

    def claim(self) -> None:
        try:
            got = self.cashier.collect()
        except Exception as exc:  # the thread must outlive any failure; the next round retries
            log.warning("collecting payments: %s", exc, exc_info=True)
            return
        if got.gas_used:
            log.info("collected: %s", got)


def _node_signer(dd: DataDir, s: NodeSettings, passphrase: str, step: Step) -> Signer:
    if s.signer:
        step(f"asking the wallet at {s.signer} for the node's account")
        return ExternalSigner.at(s.signer)
    name = s.wallet
    wallets = WalletStore(dd.keystore)
    if name not in {w.name for w in wallets.list()}:
        step(f"creating node wallet {name!r}")
        wallets.create(name, passphrase)
    return wallets.unlock(name, passphrase)


def _fund_and_deploy(chain: Chain, s: NodeSettings, signer: Signer, step: Step) -> None:
    """Deploy once; on a development chain (embedded, Anvil) fund the node from its dev keys."""
    dev = chain.dev_keys()
    deployer = LocalSigner.from_hex(s.deployer_key) if s.deployer_key else (dev or [signer])[0]
    if dev and chain.balance(signer.address) < 10**18:
        step("funding the node wallet from the development chain")
        chain.fund(signer.address, 100 * 10**18)
    if not chain.is_deployed():
        step(f"deploying contracts to {s.chain}")
    chain.deploy(deployer, disputes=DisputeParams() if s.disputes else None)
    found = chain.deployment
    if s.disputes and found.disputes is None:
        if deployer.address.lower() == found.deployer.lower():
            step("deploying Disputes (the only contract that may slash)")
            chain.deploy_disputes(deployer)
        else:
            step(f"no Disputes contract: only the deployer {found.deployer} may add it")


def _register(
    chain: Chain, signer: Signer, name: str, cid: str, manifest: str, delay: int, step: Step
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


def _stake(chain: Chain, s: NodeSettings, signer: Signer, cids: list[str], step: Step) -> None:
    """Register the endpoint and the served models by CID (what ``Disputes.challengeModel``
    compares a receipt's model with), then bond the stake."""
    part = chain.staking.participant(signer.address)
    endpoint = f"http://{s.host}:{s.port}"
    ids = {model_id(c) for c in cids}
    if part.role is None or part.endpoint != endpoint or ids != set(part.models):
        # a dropped model stays registered for the receipts issued while it was (Staking)
        step("registering the node and its models onchain")
        chain.staking.register(signer, Role.NODE, endpoint, sorted(ids))
    if not chain.staking.is_staked(signer.address, Role.NODE):
        wei = s.stake_wei or chain.staking.min_stake(Role.NODE)
        step(f"staking {wei / 1e18:g} ETH")
        chain.staking.stake(signer, wei)


def _serve(
    chain: Chain,
    s: NodeSettings,
    dd: DataDir,
    signer: Signer,
    store: content.Blockstore,
    step: Step,
) -> dict[str, ServedModel]:
    models: dict[str, ServedModel] = {}
    resolved = resolve_models(s.models, dd, signer, store, threads=s.threads, step=step)
    unknown = sorted(set(s.prices) - {r.name for r in resolved})
    if unknown:
        served = ", ".join(r.name for r in resolved)
        raise ConfigError(
            f"CAIRN_PRICES names {unknown[0]!r}, which is not served (serving: {served})"
        )
    for r in resolved:
        version = _register(chain, signer, r.name, r.cid, r.manifest_cid, s.update_delay_s, step)
        embedder = Embedder(r.model) if r.model.spec.kind == "sentence-embedding" else None
        policy = dict(r.model.spec.policy)  # what validators re-execute under
        price = s.prices.get(r.name, 0)
        models[r.name] = ServedModel(
            r.name, r.cid, r.manifest_cid, version, r.model, policy, r.envelope, embedder, price
        )
    return models


def bootstrap(
    s: NodeSettings, passphrase: str, step: Step = lambda _m: None, chain: Chain | None = None
) -> NodeContext:
    """Bring the data dir to a serving state and return the node's context.

    ``chain`` reuses an open connection (an embedded chain must have one per process).
    """
    dd = DataDir(s.data_dir).ensure()
    held = _hold_data_dir(dd)
    try:
        ctx = _bootstrap(s, dd, passphrase, step, chain)
    except BaseException:
        held.close()
        raise
    ctx.held = held
    return ctx


def _hold_data_dir(dd: DataDir) -> IO[str]:
    """An exclusive ``flock`` on ``node/node.lock`` for as long as the node runs.

    Two nodes on one data dir would each hold the embedded chain's state in memory
    and write it over the other's (anchors lost), and share one receipt database
    and one wallet nonce: the second is refused, naming the first's pid. The
    kernel drops the lock when the process ends, however it ends.
    """
    dd.node.mkdir(parents=True, exist_ok=True)
    fh = open(dd.node / "node.lock", "a+")  # noqa: SIM115 - held until NodeContext.close
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise ConfigError(
            f"another cairn node (pid {holder}) is running from {dd.root}: stop it first, "
            "or give this one its own --data-dir"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def _bootstrap(
    s: NodeSettings, dd: DataDir, passphrase: str, step: Step, chain: Chain | None
) -> NodeContext:
    # The keystore's scrypt (about 0.7 s, in C without the GIL) runs while the chain
    # connects (an embedded chain loads its state in Python): cold start is the longer.
    with ThreadPoolExecutor(1, thread_name_prefix="cairn-unlock") as pool:
        unlocking = pool.submit(_node_signer, dd, s, passphrase, step)
        chain = chain or connect(s.chain, dd)
        signer = unlocking.result()
    _fund_and_deploy(chain, s, signer, step)
    store = content.open_blockstore(dd)
    models = _serve(chain, s, dd, signer, store, step)
    _stake(chain, s, signer, [m.cid for m in models.values()], step)
    receipts = SqliteReceiptStore(dd.receipts_db)
    lock = threading.Lock()

    def anchor(batch_id: int, root: bytes, count: int) -> None:
        with lock:
            chain.anchor.anchor(signer, batch_id, root, count)

    def commitment_of(batch_id: int) -> bytes | None:  # the batcher reconciles its ids
        with lock:
            return chain.anchor.commitment_of(signer.address, batch_id)

    batcher = Batcher(
        receipts,
        anchor,
        max_receipts=s.batch_size,
        max_age_s=s.batch_seconds,
        retain_s=s.audit_window_s,
        commitment_of=commitment_of,
    )
    domain = ReceiptDomain(chain.chain_id, chain.deployment.anchor)
    ctx = NodeContext(s, dd, chain, lock, signer, store, models, receipts, batcher, domain)
    if any(m.price for m in models.values()):
        if "batch-settlement" in s.payment_schemes and chain.dev_keys():
            install_canonical(chain, chain.dev_keys()[0])  # x402's contracts, on a dev chain
        vouchers = dd.node / "vouchers.sqlite"
        ctx.cashier = open_cashier(
            chain, signer, lock, s.payment_schemes, vouchers=vouchers, journal=receipts.journal
        )
        ctx.claimer = Claimer(ctx.cashier, s.claim_interval_s).start()
    enable_zk(ctx)
    return ctx


def enable_zk(ctx: NodeContext) -> None:
    """Prove receipts of served models that have a zk artifact (``cairn zk setup``), off the
    request path; a no-op without artifacts or without the ``zk`` extra (ezkl)."""
    if not ctx.data_dir.zk_index.is_file():
        return
    try:
        from cairn.verification.zk.artifact import load_artifacts
        from cairn.verification.zk.prover import ProvingQueue
    except ImportError:
        log.warning("zk artifacts found but ezkl is not installed: pip install 'cairn[zk]'")
        return
    served = {m.cid for m in ctx.models.values()}
    found = load_artifacts(ctx.data_dir.zk_index, ctx.store)
    artifacts = {m: a for m, a in found.items() if m in served}
    if artifacts:
        ctx.prover = ProvingQueue(ctx.data_dir.zk_proofs, artifacts)
