"""The outage drill: operators go offline under load, and nothing is lost (issue 12, part 4).

One scenario, written once, that ``tests/network/test_network_outage.py`` and
``bench/network.py`` both run against a :class:`~cairn.node.testnet.Testnet` of
(at least) three nodes and its validators:

1. a :class:`~cairn.client.FailoverClient` sends ``requests`` embeddings from
   ``concurrency`` threads, their starts paced so that the load spans the faults
   (a thread waiting on a frozen node holds its place: up to ``concurrency``
   requests pile up on it before its first timeout sends the rest elsewhere);
2. once a third of them have started, the client's first choice is killed
   (SIGKILL: requests in flight to it, receipts not yet anchored), its second
   choice — where those requests fail over — is frozen (SIGSTOP, then SIGCONT
   after ``freeze_s``: the worst case for a client's wait) and the third is cut
   off from the chain (its namespace's chain link down, restored after ``cut_s``); the
   killed node is then restarted and must rejoin — healthy, still staked, not
   jailed, and anchoring (requests sent to it afterwards verify online);
3. after the load every answered receipt is checked online (its batch anchored
   on the pinned network, the node staked), within one bounded wait. A receipt of
   the killed node still unanchored then is shown *withheld and slashable*: the
   chain's clock is moved past its ``issuedAt + anchorDeadline`` (a dev chain
   only, at the very end) and an anchor challenge is opened on it, which the
   Challenges contract accepts only for a receipt signed by the staked node and
   past its deadline — the contract's rule, not a copy of it;
4. each validator's audits (its own SQLite memory) are counted before the faults,
   when they are over and at the end: auditing must go on.

The client checks receipts offline while serving (``online=False``): a node cut
off from the chain still signs valid receipts, and their anchoring is what step 3
checks, so a partition costs the client nothing. ``max_stall_ms`` is the longest
any one request waited, faults included.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import statistics
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cairn.chain import OnchainView, Role
from cairn.client import FailoverClient, GatewayClient
from cairn.config import DataDir
from cairn.errors import CairnError, ConfigError
from cairn.node.testnet import Party, Testnet
from cairn.receipts import Receipt

__all__ = ["OutageReport", "RequestRecord", "prove_withheld", "run_outage"]

MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class RequestRecord:
    """One request of the load: who answered it, how long it took, how many nodes it cost."""

    index: int
    started_s: float  # since the load began
    ms: float
    answered: bool
    node: str | None = None  # the party that answered
    attempts: int = 0
    error: str = ""


@dataclass
class OutageReport:
    """What the drill measured and checked; :meth:`to_json` is what the bench writes."""

    requests: int
    concurrency: int
    timeout_s: float
    records: list[RequestRecord] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # party -> killed | frozen | cut
    faults: dict[str, float] = field(default_factory=dict)  # event -> seconds since start
    verified_online: int = 0
    unverified: list[str] = field(default_factory=list)  # "party request-id: why"
    withheld: dict[str, int] = field(default_factory=dict)  # request id -> challenge id
    rejoined: dict[str, Any] = field(default_factory=dict)
    audits: dict[str, dict[str, int]] = field(default_factory=dict)  # validator -> when -> n
    anchored: dict[str, dict[str, int]] = field(default_factory=dict)  # node -> when -> receipts
    client_failures: dict[str, int] = field(default_factory=dict)
    failovers: int = 0
    errors: list[str] = field(default_factory=list)  # what went wrong in the fault thread

    @property
    def answered(self) -> int:
        return sum(r.answered for r in self.records)

    @property
    def answered_by(self) -> dict[str, int]:
        return dict(Counter(r.node for r in self.records if r.node))

    def _ms(self) -> list[float]:
        return sorted(r.ms for r in self.records if r.answered)

    @property
    def p50_ms(self) -> float:
        ms = self._ms()
        return statistics.median(ms) if ms else 0.0

    @property
    def p99_ms(self) -> float:
        ms = self._ms()
        return ms[min(len(ms) - 1, int(0.99 * len(ms)))] if ms else 0.0

    @property
    def max_stall_ms(self) -> float:
        """The longest one request waited (answered or not), the faults included."""
        return max((r.ms for r in self.records), default=0.0)

    @property
    def nothing_lost(self) -> bool:
        """Every request answered; every receipt anchored or, the killed node's, withheld."""
        return self.answered == self.requests and not self.unverified and not self.errors

    def targets(self) -> dict[str, bool]:
        return {
            "answered == requests": self.answered == self.requests,
            "max_stall_ms <= 2 x timeout": self.max_stall_ms <= 2000 * self.timeout_s,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "answered": self.answered,
            "failovers": self.failovers,
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "max_stall_ms": round(self.max_stall_ms, 1),
            "client_timeout_s": self.timeout_s,
            "concurrency": self.concurrency,
            "targets": self.targets(),
            "answered_by": self.answered_by,
            "client_failures": self.client_failures,
            "roles": self.roles,
            "faults_s": {k: round(v, 2) for k, v in self.faults.items()},
            "verified_online": self.verified_online,
            "withheld": self.withheld,
            "unverified": self.unverified,
            "rejoined": self.rejoined,
            "audits": self.audits,
            "anchored_receipts": self.anchored,
            "errors": self.errors,
            "unanswered": [asdict(r) for r in self.records if not r.answered][:20],
        }


def run_outage(
    net: Testnet,
    requests: int = 300,
    concurrency: int = 8,
    timeout_s: float = 3.0,
    *,
    freeze_s: float = 10.0,
    cut_s: float = 30.0,
    interval_s: float | None = None,
    anchor_wait_s: float = 180.0,
    rejoin_requests: int = 3,
    model: str = MODEL,
    client_dir: Path | None = None,
) -> OutageReport:
    """Run the drill on ``net`` (the client's three first choices take the faults).

    ``interval_s`` paces request starts (default: the two thirds after the faults
    begin are spread over ``cut_s`` + 10 s, so the load spans the faults);
    ``anchor_wait_s`` bounds the wait for anchoring after the load, in all.
    """
    if len(net.nodes) < 3 or requests < 3 or concurrency < 1:
        raise ConfigError("the drill needs 3 nodes, 3 requests and 1 thread at least")
    if min(timeout_s, anchor_wait_s) <= 0 or min(freeze_s, cut_s, interval_s or 0) < 0:
        raise ConfigError(
            "the drill's timeout and waits must be positive, its faults' not negative"
        )
    if not net.isolated:
        raise ConfigError("the drill cuts a node off the chain: it needs network namespaces")
    fault_at = requests // 3
    pace = interval_s if interval_s is not None else (cut_s + 10.0) / (requests - fault_at)
    report = OutageReport(requests, concurrency, timeout_s)
    names = {p.address.lower(): p.name for p in net.nodes}
    dd = DataDir(client_dir or net.data_dir.root / "drill").ensure()
    client = FailoverClient(
        net.network,
        data_dir=dd,
        timeout=timeout_s,
        online=False,  # anchoring is checked after the load (a cut node anchors late)
        refresh_s=3600.0,  # discovery once: a refresh would read a frozen node's card
        cooldown_s=max(60.0, 2 * cut_s),
    )
    served: list[tuple[Party, Receipt]] = []
    lock = threading.Lock()  # the records and receipts, shared by the threads
    try:
        client.discover(model)
        began = time.monotonic()
        go = threading.Event()
        faults = threading.Thread(
            target=_guarded,
            args=(net, report, client, model, lock, go, began, freeze_s, cut_s),
            name="drill-faults",
        )
        faults.start()
        try:
            _load(client, report, served, lock, names, net, model, (began, pace), fault_at, go)
        finally:
            go.set()
            faults.join()
        report.failovers = client.stats.failovers
        report.client_failures = dict(client.stats.failures)
    finally:
        client.close()
    _audit_counts(net, report, "after_load")
    killed = next((net.party(n) for n, role in report.roles.items() if role == "killed"), None)
    _verify(net, report, served, killed, anchor_wait_s)
    if killed is not None:
        report.rejoined = _rejoined(net, killed, rejoin_requests, anchor_wait_s)
    _audit_counts(net, report, "end")
    _anchored_counts(net, report, "end")
    return report


# -- the load ---------------------------------------------------------------------------


def _load(
    client: FailoverClient,
    report: OutageReport,
    served: list[tuple[Party, Receipt]],
    lock: threading.Lock,
    names: dict[str, str],
    net: Testnet,
    model: str,
    schedule: tuple[float, float],
    fault_at: int,
    go: threading.Event,
) -> None:
    """``report.requests`` requests from ``report.concurrency`` threads, request ``i``
    started no earlier than ``began + i * pace`` (``schedule``)."""
    began, pace = schedule
    upcoming = iter(range(report.requests))

    def worker() -> None:
        while True:
            with lock:
                i = next(upcoming, None)
            if i is None:
                return
            time.sleep(max(0.0, began + i * pace - time.monotonic()))
            if i == fault_at:
                go.set()
            record = _one(client, net, names, model, i, began, served, lock)
            with lock:
                report.records.append(record)

    threads = [
        threading.Thread(target=worker, name=f"drill-{n}") for n in range(report.concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.records.sort(key=lambda r: r.index)


def _one(
    client: FailoverClient,
    net: Testnet,
    names: dict[str, str],
    model: str,
    i: int,
    began: float,
    served: list[tuple[Party, Receipt]],
    lock: threading.Lock,
) -> RequestRecord:
    t = time.monotonic()
    try:
        got = client.embed([f"request {i}: where does the trail go when the stones move?"], model)
    except CairnError as exc:
        ms = (time.monotonic() - t) * 1000
        return RequestRecord(i, t - began, ms, False, error=str(exc)[:500])
    ms = (time.monotonic() - t) * 1000
    party = net.party(names[got.node.lower()])
    with lock:
        served.append((party, got.receipt))
    return RequestRecord(i, t - began, ms, True, party.name, len(got.attempts))


# -- the faults -------------------------------------------------------------------------


def _guarded(net: Testnet, report: OutageReport, *args: Any) -> None:
    """:func:`_faults`, its failure kept in the report (a thread's exception is lost)."""
    try:
        _faults(net, report, *args)
    except Exception as exc:
        report.errors.append(f"faults: {type(exc).__name__}: {exc}"[:500])


def _faults(
    net: Testnet,
    report: OutageReport,
    client: FailoverClient,
    model: str,
    lock: threading.Lock,
    go: threading.Event,
    began: float,
    freeze_s: float,
    cut_s: float,
) -> None:
    """Kill one, freeze one, cut one; thaw, restore, restart. Always thaw and restore."""
    go.wait()
    names = {p.address.lower(): p for p in net.nodes}
    killed, frozen, cut = (names[c.address.lower()] for c in client.ranked(model)[:3])
    report.roles = {killed.name: "killed", frozen.name: "frozen", cut.name: "cut"}

    def mark(event: str) -> None:
        report.faults[event] = time.monotonic() - began

    _audit_counts(net, report, "before_faults")
    t0 = time.monotonic()
    mark("faults")
    try:
        net.kill(killed, signal.SIGKILL)
        net.kill(frozen, signal.SIGSTOP)
        net.cut(cut)
        _anchored_counts(net, report, "at_faults")
        time.sleep(max(0.0, t0 + freeze_s - time.monotonic()))
    finally:
        with contextlib.suppress(CairnError):
            net.kill(frozen, signal.SIGCONT)
        mark("thawed")
        try:
            time.sleep(max(0.0, t0 + cut_s - time.monotonic()))
        finally:
            net.restore(cut)
            mark("restored")
    net.restart(killed)
    mark("restarted")
    _audit_counts(net, report, "after_faults")
    _anchored_counts(net, report, "after_faults")


# -- after the load ---------------------------------------------------------------------


def _verify(
    net: Testnet,
    report: OutageReport,
    served: list[tuple[Party, Receipt]],
    killed: Party | None,
    wait_s: float,
) -> None:
    """Every receipt anchored (one bounded wait in all); the killed node's, else withheld."""
    view = OnchainView(net.network, DataDir(net.root))
    deadline = time.monotonic() + wait_s
    late: list[tuple[Party, Receipt]] = []
    clients: dict[str, GatewayClient] = {}
    try:
        for party, receipt in served:
            assert party.endpoint is not None
            gw = clients.setdefault(party.name, GatewayClient(party.endpoint, timeout=30))
            try:
                left = max(0.0, deadline - time.monotonic())
                gw.verify_online(receipt, view.checks(receipt), wait_s=left)
                report.verified_online += 1
            except CairnError as exc:
                if killed is not None and party.name == killed.name:
                    late.append((party, receipt))
                else:
                    report.unverified.append(f"{party.name} 0x{receipt.request_id.hex()}: {exc}")
    finally:
        for gw in clients.values():
            gw.close()
        view.chain.close()
    if late:
        opened, refused = prove_withheld(net, [r for _, r in late])
        report.withheld.update(opened)
        report.unverified += refused


def prove_withheld(net: Testnet, receipts: list[Receipt]) -> tuple[dict[str, int], list[str]]:
    """Open an anchor challenge on each receipt, from a dev account that is no party.

    The Challenges contract accepts one only for a receipt signed by its staked node
    once ``issuedAt + anchorDeadline`` (plus the clock skew allowed) has passed;
    accepted, it obliges the node to prove the anchoring onchain within the
    response window or be slashed. The dev
    chain's clock is moved past the latest deadline first (this ends a drill: every
    party's clock jumps). Returns ``{request id: challenge id}`` and the refusals.
    """
    opened: dict[str, int] = {}
    refused: list[str] = []
    c = net.chain()
    try:
        keys = c.dev_keys()
        if len(keys) < 2:
            return opened, [f"0x{r.request_id.hex()}: not a dev chain" for r in receipts]
        challenger = keys[1]  # keys[0] funded the testnet; anyone may challenge
        due = c.challenges.anchor_challenge_opens(max(r.issued_at for r in receipts)) + 1
        if due > c.now():
            c.increase_time(due - c.now())
            c.mine()
        for r in receipts:
            rid = f"0x{r.request_id.hex()}"
            try:
                opened[rid] = c.challenges.challenge_anchor(challenger, r).value
            except CairnError as exc:
                refused.append(f"{rid}: unanchored and not challengeable: {exc}"[:500])
    finally:
        c.close()
    return opened, refused


def _rejoined(net: Testnet, party: Party, requests: int, wait_s: float) -> dict[str, Any]:
    """The restarted node: running, staked, not jailed, and its new receipts anchored."""
    p = net.party(party)
    out: dict[str, Any] = {"party": p.name, "alive": p.alive, "staked": False, "anchored": 0}
    c = net.chain()
    try:
        out["staked"] = c.staking.is_staked(p.address, Role.NODE)
        out["jailed"] = c.disputes.is_jailed(p.address)
        out["anchored_batches"] = len(c.anchor.anchors(p.address))
    finally:
        c.close()
    if p.endpoint is None or not p.alive:
        return out
    view = OnchainView(net.network, DataDir(net.root))
    try:
        with GatewayClient(p.endpoint, timeout=30) as gw:
            for i in range(requests):
                answer = gw.embed([f"after the restart, request {i}"])
                receipt = gw.verify(answer, domain=net.network.domain)
                gw.verify_online(receipt, view.checks(receipt), wait_s=wait_s)
                out["anchored"] += 1
    except CairnError as exc:
        out["error"] = str(exc)[:500]
    finally:
        view.chain.close()
    return out


def _anchored_counts(net: Testnet, report: OutageReport, when: str) -> None:
    """Receipts each node has anchored so far, from its ``Anchored`` events."""
    c = net.chain()
    try:
        for p in net.nodes:
            count = sum(a.receipt_count for a in c.anchor.anchors(p.address))
            report.anchored.setdefault(p.name, {})[when] = count
    finally:
        c.close()


def _audit_counts(net: Testnet, report: OutageReport, when: str) -> None:
    """Each validator's settled audits, read from its own SQLite memory (read-only)."""
    chain_id = net.network.chain_id
    for v in net.validators:
        path = DataDir(v.data_dir).validator / f"{v.address.lower()}-{chain_id}.sqlite"
        report.audits.setdefault(v.name, {})[when] = _settled(path)


def _settled(path: Path) -> int:
    """Audits a validator settled (passed, disputed, challenged ...); -1 if unreadable."""
    if not path.exists():
        return 0
    for _ in range(20):
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            try:
                row = db.execute("SELECT COUNT(*) FROM audits WHERE status != 'pending'").fetchone()
                return int(row[0])
            finally:
                db.close()
        except sqlite3.OperationalError:
            time.sleep(0.1)
    return -1
