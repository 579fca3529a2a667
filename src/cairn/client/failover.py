"""A client of a whole network: choose a node, verify its receipt, fail over to the next.

Issue 12, part 2. :class:`FailoverClient` takes the :class:`~cairn.chain.Network`
its user pinned, finds the nodes serving a model from the chain
(:func:`cairn.client.discovery.discover`), and sends each request to the best
one through :class:`~cairn.client.GatewayClient`. Every answer's receipt is
checked against the pinned network: offline (:func:`~cairn.client.verify_answer`:
signature, input and output hashes, the pinned chain and anchor, the CID asked
for, and a signer equal to the address staked for the node asked) and, with
``online`` (the default), its inclusion in the batch the node anchored onchain
(:func:`cairn.receipts.verify_online`, the chain read through
:class:`~cairn.chain.OnchainView`).

The client moves to the next node on a connection error, a timeout, a 5xx, a
404/408/429, a body that is not an answer, an invalid receipt (a receipt charging
more than its node's card advertises included: ranking trusted that price), or a
receipt not anchored within ``anchor_wait_s``; any other 4xx is the request's own fault and
is raised at once. Each node is asked at most once per request and the whole
request has a deadline (``deadline_s``). A node that failed is asked last for
``cooldown_s``, so one dead node does not cost every later request a timeout.

Every failure is reported: appended to ``<data dir>/client/failures.jsonl`` (one
JSON object a line) and handed to ``on_failure``; an invalid receipt also keeps
its dispute evidence — the signed receipt, the request and the whole answer —
in ``<data dir>/client/evidence/``. When no node answers, the error is one line
naming every node tried and skipped, and why.

>>> with FailoverClient(load_network(dd, "testnet"), data_dir=dd) as client:  # doctest: +SKIP
...     served = client.embed(["where does the trail go?"])
...     served.node, served.receipt.request_id.hex(), served.answer.vectors().shape
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from cairn._atomic import atomic_write_bytes
from cairn.chain import Chain, Network, OnchainView, check_network, splitter_address
from cairn.client._http import Bounds, bounded_client
from cairn.client.discovery import Candidate, Discovery, discover, rank
from cairn.client.gateway import DEFAULT_MODEL, Answer, GatewayClient, verify_answer
from cairn.config import DataDir
from cairn.errors import CairnError, ClientError, ReceiptInvalid, one_line
from cairn.inference import Tensor
from cairn.payments.payer import Payer
from cairn.receipts import Receipt, verify_online

__all__ = ["Attempt", "FailoverClient", "Failure", "Served", "Stats"]

#: statuses that say the node, not the request, failed (others in 4xx are the caller's)
_NODE_STATUSES = frozenset({200, 404, 408, 429})
_REASON_CHARS = 200


@dataclass(frozen=True)
class Attempt:
    """One node asked for one request: how long it took and, if it failed, why."""

    node: str
    endpoint: str
    seconds: float
    kind: str = "ok"  # ok, unreachable, 5xx, refused, invalid receipt, unanchored, deadline
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    def describe(self) -> str:
        return f"{self.node} ({self.endpoint}): {self.kind}: {self.reason}"


@dataclass(frozen=True)
class Failure:
    """A reported node failure (what ``on_failure`` receives and the log records)."""

    attempt: Attempt
    cid: str
    evidence: Path | None = None  # the dispute evidence kept, for an invalid receipt


@dataclass(frozen=True)
class Served:
    """A request answered: the answer, its verified receipt, the node that gave it."""

    answer: Answer
    receipt: Receipt
    node: str
    endpoint: str
    cid: str
    attempts: tuple[Attempt, ...]
    seconds: float
    onchain: bool  # inclusion in the anchored batch checked too

    @property
    def failovers(self) -> int:
        return len(self.attempts) - 1


@dataclass
class Stats:
    """Counters over the client's life; ``timings_ms`` keeps the latest 100,000 requests."""

    requests: int = 0
    answered: int = 0
    failovers: int = 0  # moves to the next node
    failures: Counter[str] = field(default_factory=Counter)  # by kind
    timings_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))


class _NodeFailed(Exception):
    def __init__(self, kind: str, reason: str, evidence: Mapping[str, Any] | None = None):
        super().__init__(reason)
        self.kind, self.reason, self.evidence = kind, one_line(reason, _REASON_CHARS), evidence


class FailoverClient:
    """Requests to whichever node of ``network`` serves the model and answers honestly.

    ``timeout`` bounds one node's answer, ``deadline_s`` a whole request (default:
    three timeouts, plus ``anchor_wait_s`` when ``online``). ``data_dir`` is where
    failures and evidence are kept (and what the chain connection may use); without
    one they stay in :attr:`failures`. Safe to share between threads.
    """

    def __init__(
        self,
        network: Network,
        *,
        data_dir: DataDir | Path | None = None,
        timeout: float = 30.0,
        deadline_s: float | None = None,
        online: bool = True,
        anchor_wait_s: float = 30.0,
        card_timeout: float = 5.0,
        use_reputation: bool = True,
        refresh_s: float = 60.0,
        cooldown_s: float = 30.0,
        max_bytes: int = 16 << 20,
        on_failure: Callable[[Failure], None] | None = None,
        payer: Payer | None = None,
    ) -> None:
        self.network = network
        self.payer = payer  # pays priced nodes (x402), each only to its staked address
        self.data_dir = DataDir(Path(data_dir)) if isinstance(data_dir, Path | str) else data_dir
        self.timeout, self.online, self.anchor_wait_s = timeout, online, anchor_wait_s
        self.deadline_s = deadline_s or 3 * timeout + (anchor_wait_s if online else 0.0)
        # a card is never waited for longer than an answer would be
        self.card_timeout, self.use_reputation = min(card_timeout, timeout), use_reputation
        self.refresh_s, self.cooldown_s, self.max_bytes = refresh_s, cooldown_s, max_bytes
        self.on_failure = on_failure
        self.stats = Stats()
        self.failures: deque[Failure] = deque(maxlen=10_000)
        self.chain: Chain = check_network(network, self.data_dir, use=True)
        self._view = OnchainView(network, self.data_dir) if online else None
        self._http = bounded_client(timeout)
        self._lock = threading.Lock()  # counters, caches
        self._chain_lock = threading.Lock()  # one chain read at a time
        self._splitter_impl: str | None = None
        self._found: dict[str, tuple[float, Discovery]] = {}
        self._latency: dict[str, float] = {}
        self._failed_at: dict[str, float] = {}
        self._refreshing: set[str] = set()  # models whose nodes one thread is re-reading

    def __enter__(self) -> FailoverClient:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self.chain.close()
        if self._view is not None:
            self._view.chain.close()

    # -- calls ------------------------------------------------------------------------

    def embed(
        self,
        texts: Sequence[str],
        model: str = DEFAULT_MODEL,
        *,
        encoding: Literal["float", "base64"] = "float",
    ) -> Served:
        """``POST /v1/embeddings`` on the best node serving ``model`` (a name or CID)."""
        return self.send(model, lambda gw, cid: gw.embed(texts, cid, encoding=encoding))

    def infer(self, model: str, inputs: Mapping[str, Tensor] | Mapping[str, Any]) -> Served:
        """``POST /v1/infer/{CID}`` with named tensors, on the best node serving ``model``."""
        return self.send(model, lambda gw, cid: gw.infer(cid, inputs))

    def send(self, model: str, call: Callable[[GatewayClient, str], Answer]) -> Served:
        """``call(gateway, cid)`` on each node in turn until one answers with a receipt that
        verifies; :class:`ClientError` naming every node tried if none does."""
        started = time.monotonic()
        deadline = started + self.deadline_s
        with self._lock:
            self.stats.requests += 1
        found = self.discover(model)
        attempts: list[Attempt] = []
        for node in self._order(found.candidates):
            if time.monotonic() >= deadline:
                attempts.append(Attempt(node.address, node.endpoint, 0.0, "deadline", "not asked"))
                continue
            served = self._attempt(node, found.cid, call, deadline, attempts)
            if served is not None:
                return self._done(served, found.cid, attempts, started)
        with self._lock:  # nobody answered: the next request reads the chain afresh
            self._found.pop(model, None)
        raise ClientError(self._none_answered(found, attempts))

    # -- discovery --------------------------------------------------------------------

    def discover(self, model: str, *, refresh: bool = False) -> Discovery:
        """The ranked nodes for ``model``, read from the chain at most every ``refresh_s``."""
        with self._lock:
            cached = self._found.get(model)
            fresh = cached is not None and time.monotonic() - cached[0] < self.refresh_s
            if cached is not None and not refresh and (fresh or model in self._refreshing):
                return cached[1]  # fresh, or another thread is re-reading it: no stall
            self._refreshing.add(model)
        try:
            found = discover(
                self.chain,
                self.network,
                model,
                self._http,
                card_timeout=self.card_timeout,
                deadline_s=self.deadline_s,
                use_reputation=self.use_reputation,
                lock=self._chain_lock,
            )
        finally:
            with self._lock:
                self._refreshing.discard(model)
        with self._lock:
            self._found[model] = (time.monotonic(), found)
            for c in found.candidates:
                self._latency.setdefault(c.address, c.latency_s)
        return found

    def ranked(self, model: str) -> list[Candidate]:
        """The nodes serving ``model`` in the order the next request would ask them."""
        return self._order(self.discover(model).candidates)

    def _order(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """Ranked with the latencies measured so far; nodes that failed lately go last."""
        now = time.monotonic()
        with self._lock:
            ranked = rank(candidates, self._latency)
            cooling = {a for a, at in self._failed_at.items() if now - at < self.cooldown_s}
        return [c for c in ranked if c.address not in cooling] + [
            c for c in ranked if c.address in cooling
        ]

    # -- one node ---------------------------------------------------------------------

    def _attempt(
        self,
        node: Candidate,
        cid: str,
        call: Callable[[GatewayClient, str], Answer],
        deadline: float,
        attempts: list[Attempt],
    ) -> tuple[Answer, Receipt, Candidate, bool] | None:
        began = time.monotonic()
        try:
            answer, receipt = self._ask(node, cid, call, deadline)
        except _NodeFailed as failed:
            attempt = Attempt(
                node.address, node.endpoint, time.monotonic() - began, failed.kind, failed.reason
            )
            attempts.append(attempt)
            self._report(attempt, cid, failed.evidence)
            return None
        took = time.monotonic() - began
        attempts.append(Attempt(node.address, node.endpoint, took))
        with self._lock:
            self._latency[node.address] = 0.7 * self._latency.get(node.address, took) + 0.3 * took
            self._failed_at.pop(node.address, None)
        return answer, receipt, node, self.online

    def _ask(
        self,
        node: Candidate,
        cid: str,
        call: Callable[[GatewayClient, str], Answer],
        deadline: float,
    ) -> tuple[Answer, Receipt]:
        left = deadline - time.monotonic()
        bounds = Bounds(min(self.timeout, left), self.max_bytes)
        payee = self._payee(node.address) if self.payer is not None else None
        gw = GatewayClient(  # shares our pool
            node.endpoint, http=self._http, bounds=bounds, payer=self.payer, payee=payee
        )
        try:
            answer = call(gw, cid)
        except ClientError as exc:
            if not exc.status or exc.status >= 500 or exc.status in _NODE_STATUSES:
                kind = f"HTTP {exc.status}" if exc.status else "unreachable"
                raise _NodeFailed(kind, str(exc)) from None
            refused = f"{node.address} ({node.endpoint}) refused the request: {exc}"
            raise ClientError(refused, exc.status) from None
        receipt = self._verified(node, cid, answer)
        if self._view is not None:
            self._onchain(gw, node, receipt, answer, deadline)
        return answer, receipt

    def _payee(self, node: str) -> str:
        """Where a node's payments must go: its revenue splitter when the network has a
        validator pool (the validators' share is taken there, computed offline from the
        pinned pool: :func:`cairn.chain.splitter_address`), else the node itself."""
        pool = self.network.pool
        if pool is None:
            return node
        if self._splitter_impl is None:
            with self._chain_lock:
                self._splitter_impl = self.chain.pool.implementation()
        return splitter_address(pool, self._splitter_impl, node)

    def _verified(self, node: Candidate, cid: str, answer: Answer) -> Receipt:
        try:
            receipt = verify_answer(
                answer, domain=self.network.domain, expected_model=cid, expected_node=node.address
            )
            if receipt.price > node.price:  # it ranked by one price and charges another
                raise ReceiptInvalid(
                    f"receipt charges {receipt.price}, its node's card says {node.price}"
                )
            return receipt
        except CairnError as exc:  # ReceiptInvalid, or a body that is no answer
            raise _NodeFailed("invalid receipt", str(exc), _evidence(node, answer, exc)) from None

    def _onchain(
        self, gw: GatewayClient, node: Candidate, receipt: Receipt, answer: Answer, deadline: float
    ) -> None:
        """The receipt's inclusion in the batch its node anchored, and the node's stake."""
        assert self._view is not None
        wait = max(0.0, min(self.anchor_wait_s, deadline - time.monotonic()))
        try:
            proof = gw.proof(receipt.request_id, wait_s=wait)
        except ReceiptInvalid:
            raise _NodeFailed("unanchored", f"receipt not anchored within {wait:.1f} s") from None
        except CairnError as exc:
            raise _NodeFailed("unanchored", f"no inclusion proof: {exc}") from None
        with self._chain_lock:
            commitment_of, is_staked = self._view.checks(receipt)
            try:
                verify_online(receipt, proof, commitment_of, is_staked)
            except ReceiptInvalid as exc:
                evidence = _evidence(node, answer, exc, proof.to_json())
                raise _NodeFailed("invalid receipt", str(exc), evidence) from None

    # -- bookkeeping ------------------------------------------------------------------

    def _done(
        self,
        served: tuple[Answer, Receipt, Candidate, bool],
        cid: str,
        attempts: list[Attempt],
        started: float,
    ) -> Served:
        answer, receipt, node, onchain = served
        took = time.monotonic() - started
        with self._lock:
            self.stats.answered += 1
            self.stats.failovers += len(attempts) - 1
            self.stats.timings_ms.append(took * 1000)
        return Served(
            answer, receipt, node.address, node.endpoint, cid, tuple(attempts), took, onchain
        )

    def _none_answered(self, found: Discovery, attempts: list[Attempt]) -> str:
        with self._lock:
            self.stats.failovers += max(0, len(attempts) - 1)
        tried = _listed([a.describe() for a in attempts]) or "no node to ask"
        skipped = _listed([one_line(s.describe(), _REASON_CHARS) for s in found.skipped])
        return (
            f"no node answered {found.model} ({found.cid}) on network {self.network.name!r}: "
            f"{tried}" + (f"; skipped: {skipped}" if skipped else "")
        )

    def _report(
        self, attempt: Attempt, cid: str, evidence: Mapping[str, Any] | None = None
    ) -> None:
        """Count the failure, log it, keep its evidence, tell ``on_failure``."""
        with self._lock:
            self.stats.failures[attempt.kind] += 1
            self._failed_at[attempt.node] = time.monotonic()
        kept = self._keep(evidence) if evidence is not None else None
        failure = Failure(attempt, cid, kept)
        self.failures.append(failure)
        if self.data_dir is not None:
            line = {
                "time": int(time.time()),
                "node": attempt.node,
                "endpoint": attempt.endpoint,
                "model": cid,
                "kind": attempt.kind,
                "reason": attempt.reason,
                "seconds": round(attempt.seconds, 3),
                **({"evidence": str(kept)} if kept else {}),
            }
            _append_line(self._folder() / "failures.jsonl", json.dumps(line))
        if self.on_failure is not None:
            self.on_failure(failure)

    def _folder(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir.root / "client"

    def _keep(self, evidence: Mapping[str, Any]) -> Path | None:
        if self.data_dir is None:
            return None
        data = json.dumps(evidence, sort_keys=True).encode()
        path = self._folder() / "evidence" / f"{hashlib.sha256(data).hexdigest()[:32]}.json"
        atomic_write_bytes(path, data + b"\n")
        return path


def _listed(items: Sequence[str], most: int = 10) -> str:
    """``items`` joined, the first ``most`` of them (a Sybil's thousand nodes stay one line)."""
    shown = "; ".join(items[:most])
    return shown + (f"; and {len(items) - most} more" if len(items) > most else "")


def _evidence(
    node: Candidate,
    answer: Answer,
    exc: Exception,
    proof: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a dispute about this answer needs: who, why, the request, the signed answer."""
    return {
        "node": node.address,
        "endpoint": node.endpoint,
        "reason": one_line(str(exc), 1000),
        "request": dict(answer.request),
        "answer": dict(answer.body),
        "receipt": answer.body.get("receipt"),
        **({"proof": dict(proof)} if proof is not None else {}),
    }


def _append_line(path: Path, line: str) -> None:
    """One whole line appended (a single write on an O_APPEND descriptor)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
