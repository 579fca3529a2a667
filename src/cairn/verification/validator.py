"""The validator: watch anchors, audit a sample, dispute, vote, resolve.

One :meth:`Validator.tick` does every step once, idempotently, from chain state
and the validator's SQLite memory (:mod:`cairn.verification._state`); the
service that repeats it is :func:`cairn.node.validator.run_validator`:

1. **Plan.** For each ``Anchored`` event whose next block exists, draw the
   sample (:mod:`cairn.verification.sampling`) with the network's parameters,
   read from the Disputes contract.
2. **Audit.** Fetch the batch from the node, rebuild its Merkle root and
   compare it with the anchor; a receipt for a model the node had not registered
   is convicted at once (``challengeModel``); re-execute each other sampled receipt
   (:class:`~cairn.verification.reexecute.Reexecutor`). A node that does not hand
   over an input gets ``patience`` ticks before it is disputed; a node that does
   not list a batch (or lists another) gets as long before each sampled leaf is
   asked for onchain (a leaf challenge), and the answered leaf is audited.
3. **Dispute.** A failed audit opens a dispute with the evidence and the bond,
   unless the receipt is already disputed or judged; a withheld input opens an
   objective data-availability challenge instead
   (:mod:`cairn.verification._challenges`), and expired challenges are resolved.
4. **Serve disputes.** Draw committees (anyone may, from the next block),
   judge and commit when drawn (a fresh 32-byte salt, kept before sending),
   reveal in the reveal window, resolve when it has passed.

Nothing here is on a node's request path.

Every node is an adversary to its validators, so nothing a node does may stop
the loop: its endpoint is re-read from the chain (at most :data:`ENDPOINT_TTL_S`
old) and followed only if it is a plain ``http(s)://host[:port]`` base URL;
the reads themselves are bounded in time and size (the
:class:`NodeSource`'s job, :class:`cairn.client.GatewayNodeSource`); a failure
of any kind while auditing one node is recorded against that node
(:meth:`ValidatorState.node_failed`) and the tick goes on to the next node and
to its jury duties.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cairn.chain import (
    Chain,
    DisputeKind,
    DisputeParams,
    Evidence,
    OpenedDispute,
    Outcome,
    Role,
    Vote,
    commitment,
)
from cairn.errors import CairnError, ContractRevert, EvidenceMismatch, NodeUnavailable
from cairn.identity import Signer
from cairn.receipts import MerkleTree, Receipt
from cairn.verification._challenges import (
    challenge_leaf,
    challenge_withheld,
    convict_unregistered_model,
    leaf_evidence,
    serve_challenges,
)
from cairn.verification._pay import attest_audited, claim_earned
from cairn.verification._state import AuditRow, ValidatorState
from cairn.verification.base import NodeSource
from cairn.verification.reexecute import NO_HASH, Reexecutor, evidence_for
from cairn.verification.sampling import plan_for_anchor

__all__ = ["ENDPOINT_TTL_S", "MAX_DECLARED_RECEIPTS", "TickReport", "Validator", "plain_base_url"]

log = logging.getLogger(__name__)

ENDPOINT_TTL_S = 30.0  # an endpoint read from the chain is used for at most this long
MAX_DECLARED_RECEIPTS = 100_000  # an anchor declaring more is not planned, but recorded


def plain_base_url(endpoint: str) -> str:
    """``endpoint`` if it is a plain ``http(s)://host[:port]`` base URL, else NodeUnavailable.

    >>> plain_base_url("http://127.0.0.1:8000/")
    'http://127.0.0.1:8000'
    """
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise NodeUnavailable(f"endpoint {endpoint[:100]!r} refused: {exc}") from None
    problem = (
        "not http(s)"
        if parts.scheme not in ("http", "https")
        else "no host"
        if not parts.hostname
        else "user info"
        if parts.username is not None or parts.password is not None or "@" in parts.netloc
        else "a path"
        if parts.path not in ("", "/")
        else "a query or fragment"
        if parts.query or parts.fragment or "?" in endpoint or "#" in endpoint
        else ""
    )
    if problem or any(c.isspace() or ord(c) < 32 for c in endpoint):
        raise NodeUnavailable(
            f"endpoint {endpoint[:100]!r} refused: {problem or 'control characters'} "
            "(only http(s)://host[:port] is followed)"
        )
    netloc = parts.hostname if port is None else f"{parts.netloc.rsplit(':', 1)[0]}:{port}"
    return f"{parts.scheme}://{netloc}"


@dataclass
class TickReport:
    """What one tick did (for logs, the CLI and tests)."""

    planned: int = 0
    passed: int = 0
    disputed: list[int] = field(default_factory=list)
    committed: list[int] = field(default_factory=list)
    revealed: list[int] = field(default_factory=list)
    resolved: dict[int, Outcome] = field(default_factory=dict)
    challenged: list[int] = field(default_factory=list)  # objective challenges opened
    convicted: list[int] = field(default_factory=list)  # objective challenges resolved: slashed
    convicted_models: list[str] = field(default_factory=list)  # receipts of unregistered models
    attested: list[tuple[str, int]] = field(default_factory=list)  # audits recorded in the pool
    earned: int = 0  # paid by the validator pool this tick (token units)

    def __bool__(self) -> bool:
        return bool(
            self.planned
            or self.passed
            or self.disputed
            or self.committed
            or self.revealed
            or self.resolved
            or self.challenged
            or self.convicted
            or self.convicted_models
            or self.attested
            or self.earned
        )


class Validator:
    """A staked validator of one network."""

    def __init__(
        self,
        chain: Chain,
        signer: Signer,
        reexecutor: Reexecutor,
        state: ValidatorState,
        *,
        sources: Callable[[str], NodeSource],
        patience: int = 2,
        lock: threading.Lock | None = None,
    ) -> None:
        self.chain = chain
        self.account = signer
        self.address: str = signer.address
        self.reexecutor = reexecutor
        self.state = state
        self.patience = patience
        self._make_source = sources
        self._sources: dict[str, tuple[str, float, NodeSource]] = {}  # endpoint, read at, source
        self._lock = lock
        self._params: DisputeParams | None = None
        self._deferred: set[int] = set()  # disputes this juror could not judge yet
        self._audited: set[tuple[str, int]] = set()  # batches to attest in the pool this tick

    @contextlib.contextmanager
    def _chain(self) -> Iterator[Chain]:
        with self._lock if self._lock is not None else contextlib.nullcontext():
            yield self.chain

    # -- joining ------------------------------------------------------------------

    def ensure_joined(self, endpoint: str = "", stake_wei: int | None = None) -> None:
        """Register as a validator, bond the minimum stake and enter the juror pool."""
        with self._chain() as c:
            me = c.staking.participant(self.address)
            if me.role is None:
                c.staking.register(self.account, Role.VALIDATOR, endpoint)
            if not c.staking.is_staked(self.address, Role.VALIDATOR):
                need = stake_wei or c.staking.min_stake(Role.VALIDATOR)
                c.staking.stake(self.account, max(need - me.stake, 1))
            if not c.disputes.in_pool(self.address):
                c.disputes.join(self.account)

    def _dispute_params(self, c: Chain) -> DisputeParams:
        if self._params is None:
            self._params = c.disputes.params()  # immutable in the contract
        return self._params

    def _grace(self, c: Chain) -> int:
        """How long before its commit deadline a juror that cannot judge stops retrying."""
        return self._dispute_params(c).commit_window // 2

    # -- one tick (the loop that repeats it is the service's: cairn.node.validator) ----

    def tick(self) -> TickReport:
        report = TickReport()
        self._plan(report)
        self._audit(report)
        serve_challenges(self, report.convicted)
        self._serve_disputes(report)  # and claims what both credited
        # pay last: duties with deadlines (votes, reveals) come before recording audits
        for node, batch_id in sorted(self._audited):
            if attest_audited(self, node, batch_id) is not None:
                report.attested.append((node, batch_id))
        self._audited.clear()
        report.earned = claim_earned(self)  # the validator pool: paid from demand
        return report

    # -- 1. plan -------------------------------------------------------------------

    def _plan(self, report: TickReport) -> None:
        with self._chain() as c:
            head = c.head()
            start = self.state.get("anchor_block", -1) + 1
            if start > head - 1:
                return
            params = self._dispute_params(c)
            for a in c.anchor.anchored(start, head - 1):
                if a.node.lower() == self.address.lower():
                    continue
                if a.receipt_count > MAX_DECLARED_RECEIPTS:
                    self.state.node_failed(
                        a.node, f"batch {a.batch_id}", f"declares {a.receipt_count} receipts"
                    )
                    continue
                plan = plan_for_anchor(c, a, params)
                if plan is None:
                    continue
                self.state.plan(a.node, a.batch_id, plan.leaves)
                report.planned += len(plan.leaves)
            self.state.put("anchor_block", head - 1)

    # -- 2. audit and 3. dispute ---------------------------------------------------

    def source(self, node: str) -> NodeSource:
        """The node as its endpoint onchain says now (re-read after ``ENDPOINT_TTL_S``);
        NodeUnavailable if that is not a plain ``http(s)://host[:port]``."""
        cached = self._sources.get(node)
        if cached is not None and time.monotonic() - cached[1] < ENDPOINT_TTL_S:
            return cached[2]
        with self._chain() as c:
            endpoint = plain_base_url(c.staking.participant(node).endpoint)
        if cached is not None and cached[0] == endpoint:
            self._sources[node] = (endpoint, time.monotonic(), cached[2])
            return cached[2]
        close = getattr(cached[2], "close", None) if cached is not None else None
        if callable(close):  # the node moved: let go of the old one
            close()
        made = self._make_source(endpoint)
        self._sources[node] = (endpoint, time.monotonic(), made)
        return made

    def _audit(self, report: TickReport) -> None:
        batches: dict[tuple[str, int], list[AuditRow]] = {}
        for row in self.state.pending():
            batches.setdefault((row.node, row.batch_id), []).append(row)
        for (node, batch_id), rows in batches.items():
            try:
                self._audit_batch(node, batch_id, rows, report)
            except Exception as exc:  # one node must never stop the loop
                log.warning("auditing %s batch %d: %s", node, batch_id, exc, exc_info=True)
                self.state.node_failed(node, f"batch {batch_id}", f"{type(exc).__name__}: {exc}")
                for row in rows:
                    self._give_up_or_retry(row, str(exc)[:300], "unavailable")

    def _audit_batch(
        self, node: str, batch_id: int, rows: list[AuditRow], report: TickReport
    ) -> None:
        try:
            members = self._batch(node, batch_id)
        except (NodeUnavailable, EvidenceMismatch) as exc:
            # Without a listing that matches the anchor there is no evidence to dispute:
            # after `patience` ticks the node must post each sampled leaf onchain.
            self.state.node_failed(node, f"batch {batch_id}", str(exc))
            for row in rows:
                self._audit_withheld_leaf(row, str(exc), report)
            return
        for row in rows:
            if row.leaf >= len(members):
                self.state.settle(row, "failed", "leaf outside the batch")
                continue
            self._audit_one(row, evidence_for(members[row.leaf], members, batch_id), report)
        self._audited.add((node, batch_id))  # attested at the end of the tick

    def _audit_withheld_leaf(self, row: AuditRow, reason: str, report: TickReport) -> None:
        """Audit a leaf of a batch not listed: from its answered leaf challenge, or open one."""
        found = leaf_evidence(self, row)
        if found is not None:
            self._audit_one(row, found, report)
        elif row.attempts + 1 < self.patience:
            self.state.retry(row, reason)
        else:
            opened = challenge_leaf(self, row, reason)
            if opened is not None:
                report.challenged.append(opened)

    def _batch(self, node: str, batch_id: int) -> list[Receipt]:
        members = self.source(node).batch(batch_id)
        self._check_listing(node, batch_id, members)
        try:
            foreign = any(
                r.node.lower() != node.lower() or r.signer().lower() != node.lower()
                for r in members
            )
        except CairnError as exc:  # an unsigned or unrecoverable receipt
            raise EvidenceMismatch(f"batch {batch_id} of {node}: {exc}") from None
        if foreign:
            raise EvidenceMismatch(f"batch {batch_id} of {node} holds receipts it did not sign")
        return members

    def _check_listing(self, node: str, batch_id: int, members: list[Receipt]) -> None:
        """The listing must be the batch anchored: its root *and* its count (the commitment
        binds both, so a node cannot list fewer or more receipts than it anchored)."""
        built = MerkleTree.build([r.digest() for r in members]).commitment if members else None
        with self._chain() as c:
            if built is not None and built == c.anchor.commitment_of(node, batch_id):
                return
            declared = c.anchor.get(node, batch_id)
        if declared is not None and len(members) != declared.receipt_count:
            raise EvidenceMismatch(
                f"batch {batch_id} of {node} lists {len(members)} receipts, "
                f"{declared.receipt_count} are anchored"
            )
        raise EvidenceMismatch(f"batch {batch_id} of {node} does not match its anchored root")

    def _give_up_or_retry(self, row: AuditRow, reason: str, status: str) -> None:
        if row.attempts + 1 >= self.patience:
            self.state.settle(row, status, reason)
        else:
            self.state.retry(row, reason)

    def _audit_one(self, row: AuditRow, evidence: Evidence, report: TickReport) -> None:
        receipt = evidence.receipt
        if convict_unregistered_model(self, row, evidence):
            report.convicted_models.append(receipt.digest().hex())
            return
        try:
            finding = self.reexecutor.audit(receipt, self.source(row.node))
        except NodeUnavailable as exc:  # the model itself could not be fetched
            self.state.node_failed(row.node, f"audit of leaf {row.leaf}", str(exc))
            self._give_up_or_retry(row, str(exc), "unavailable")
            return
        if finding.ok:
            self.state.settle(row, "passed", finding.reason)
            report.passed += 1
            return
        if finding.kind is DisputeKind.NO_INPUT:
            # Jurors cannot judge a withheld input (they abstain), the contract can: after
            # `patience` ticks the node must post it onchain or be slashed.
            if row.attempts + 1 < self.patience:
                self.state.retry(row, finding.reason)
            elif found := challenge_withheld(self, row, evidence, finding.reason):
                report.challenged.append(found)
            return
        kind = finding.kind or DisputeKind.WRONG_OUTPUT
        mine = finding.my_output_hash if kind is DisputeKind.WRONG_OUTPUT else NO_HASH
        try:
            with self._chain() as c:
                digest = receipt.digest()
                if c.disputes.active_dispute(digest) or c.disputes.verdict_of(digest):
                    self.state.settle(row, "disputed", "already disputed by another validator")
                    return
                tx = c.disputes.open(self.account, evidence, mine, kind)
        except ContractRevert as exc:
            self.state.settle(row, "failed", f"dispute refused: {exc.reason}")
            return
        log.info("opened dispute %d against %s: %s", tx.value, row.node, finding.reason)
        self.state.settle(row, "disputed", finding.reason, tx.value)
        self.state.track(tx.value)
        report.disputed.append(tx.value)

    # -- 4. committees ---------------------------------------------------------------

    def _serve_disputes(self, report: TickReport) -> None:
        with self._chain() as c:
            start = self.state.get("dispute_block", 0)
            head = c.head()
            opened = {d.id: d for d in c.disputes.opened(start, to_block=head)}
        for d in opened.values():
            self.state.track(d.id)
        self.state.put("dispute_block", head + 1)
        still_open = self.state.open_disputes()
        self._deferred &= set(still_open)  # forget what was judged without this juror
        for dispute_id in still_open:
            try:
                self._serve(dispute_id, report)
            except ContractRevert as exc:  # lost a race with another validator: fine
                log.info("dispute %d: %s", dispute_id, exc.reason)
        with self._chain() as c:
            if c.disputes.claimable(self.address):  # payouts are pulled, never pushed
                c.disputes.claim(self.account)

    def _opened(self, dispute_id: int) -> OpenedDispute:
        with self._chain() as c:
            return next(d for d in c.disputes.opened(0) if d.id == dispute_id)

    def _serve(self, dispute_id: int, report: TickReport) -> None:
        with self._chain() as c:
            info = c.disputes.dispute(dispute_id)
            if info.status is not Outcome.OPEN:
                self.state.finish(dispute_id)
                return
            head = c.head()
            now = c.now()
            grace = self._grace(c)
            if info.commit_deadline == 0:
                if now > info.draw_deadline:  # nobody drew it in time: it ends VOID
                    report.resolved[dispute_id] = c.disputes.resolve(self.account, dispute_id).value
                    self.state.finish(dispute_id)
                elif head > info.opened_block:
                    c.disputes.draw(self.account, dispute_id)
                return
        mine = self.address in info.committee
        if mine and now <= info.commit_deadline and self.state.vote(dispute_id) is None:
            verdict = self.judge(self._opened(dispute_id))
            if verdict is Vote.ABSTAIN and now < info.commit_deadline - grace:
                # out of reach may be a busy node or a slow chain read: try again each
                # tick, and abstain only in the last half of the commit window
                if dispute_id not in self._deferred:
                    self._deferred.add(dispute_id)
                    log.warning("dispute %d: cannot judge yet; trying again", dispute_id)
                return
            self._deferred.discard(dispute_id)
            salt = os.urandom(32)
            self.state.seal(dispute_id, verdict, salt)  # before sending: never lose a salt
            with self._chain() as c:
                c.disputes.commit(
                    self.account, dispute_id, commitment(dispute_id, self.address, verdict, salt)
                )
            report.committed.append(dispute_id)
            return
        vote = self.state.vote(dispute_id)
        if mine and vote and not vote[2] and info.commit_deadline < now <= info.reveal_deadline:
            with self._chain() as c:
                c.disputes.reveal(self.account, dispute_id, vote[0], vote[1])
            self.state.revealed(dispute_id)
            report.revealed.append(dispute_id)
            return
        if now > info.reveal_deadline:
            with self._chain() as c:
                outcome = c.disputes.resolve(self.account, dispute_id).value
            self.state.finish(dispute_id)
            report.resolved[dispute_id] = outcome

    def judge(self, opened: OpenedDispute) -> Vote:
        """This validator's vote, by its own re-execution of the disputed receipt.

        It abstains when it cannot judge — the node or the input out of its reach:
        its own connectivity is no evidence of guilt (an abstention never counts as
        guilty, and a committee of abstentions ends VOID).
        """
        receipt = opened.receipt
        try:
            finding = self.reexecutor.audit(receipt, self.source(receipt.node))
        except NodeUnavailable:
            return Vote.ABSTAIN
        if finding.ok:
            return Vote.INNOCENT
        if finding.kind is DisputeKind.NO_INPUT:
            return Vote.ABSTAIN
        return Vote.GUILTY
