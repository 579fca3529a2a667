"""The HTTP gateway: inference with a receipt on every answer, and a trustless IPFS gateway.

Routes (OpenAPI at ``/openapi.json``): ``GET /v1/models`` and ``/v1/models/{model}``,
``POST /v1/infer/{model}``, OpenAI-compatible ``POST /v1/embeddings`` (the official
OpenAI SDKs work unmodified: ``encoding_format`` "float" or "base64", the latter the
little-endian float32 bytes the receipt binds), ``GET /v1/receipts/{id}`` and its
``/proof``, ``/input`` and ``/output`` (retained for the audit window; only for the
request's client and staked validators: :mod:`cairn.node._access`, ``GET /v1/auth/nonce``),
``/zk`` (a zk proof), ``GET /v1/batches/{id}``,
``GET /ipfs/{cid}`` (Trustless Gateway spec: ``application/vnd.ipld.raw``
and ``application/vnd.ipld.car``), ``GET /v1/network`` (what ``cairn audit --live``
reads), ``GET /.well-known/agent-card.json`` (the node's ERC-8004 agent card, also at
``/ipfs/{its CID}``: :mod:`cairn.node.agent_card`), ``GET /healthz``, ``GET /metrics``
(Prometheus).

Nothing on the request path waits for the chain: a receipt is signed (tens of
microseconds), committed with its input and output (group commit: the answer
leaves only once its receipt is durable), and handed to the batcher.
Every error is a 4xx with a one-line ``detail`` naming what is wrong, a malformed body
included (``inputs.pixels.shape: expected a list of integers such as [1, 64], got '1x64'``;
on the OpenAI-compatible routes also OpenAI's ``error`` object, which the SDKs read).
A tensor call's body is ``{"inputs": {NAME: {"dtype", "shape", "data"}}}``
(:class:`InferRequest`, the format of :mod:`cairn.inference.tensors`). No body can crash
or stall the process (:mod:`cairn.node._guard`: bounded size and nesting, Unicode text
only), and the chain proxy (reads, and transactions their sender signed) is bounded so
that it never starves inference or anchoring (:data:`RPC_GAS_CAP` on calls and relayed
transactions alike, :data:`RPC_CONCURRENCY`, :data:`RPC_LOCK_WAIT_S`).
A handler that fails unexpectedly answers 500 without ever returning a wrong receipt.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import orjson
from fastapi import FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic_core import to_json
from starlette.exceptions import HTTPException as StarletteHTTPException

from cairn import content
from cairn._held import random_bytes
from cairn.chain import Role, raw_transaction_gas
from cairn.errors import (
    CairnError,
    ChainRpcError,
    ContentValueError,
    PaymentInvalid,
    SiweInvalid,
    TensorError,
    one_line,
)
from cairn.identity import siwx
from cairn.inference import (
    Tensor,
    tensors_from_json,
    tensors_to_json,
)
from cairn.node._access import AccessDenied, RetainedAccess, access_token
from cairn.node._guard import FieldPath, Guard, SafeJSONResponse, validation_problem
from cairn.node._sessions import SESSION_HEADER, Quota, Sessions, owner_key
from cairn.node.agent_card import register_agent
from cairn.node.bootstrap import NodeContext, ServedModel
from cairn.node.network_document import network_document
from cairn.node.responder import ChallengeResponder
from cairn.payments import Admitted, ChannelRefusal, Offer
from cairn.payments.x402 import PAYMENT_REQUIRED, PAYMENT_SIGNATURE, V1_PAYMENT
from cairn.receipts import Batcher, InclusionProof, Receipt, wire

__all__ = ["RPC_CONCURRENCY", "RPC_GAS_CAP", "RPC_LOCK_WAIT_S", "create_app"]

#: gas an ``eth_call`` / ``eth_estimateGas`` through the proxy may burn (more is clamped,
#: as geth's ``--rpc.gascap`` does): about a second of py-evm on the embedded chain
RPC_GAS_CAP = 5_000_000
#: proxied calls at once; one more is refused with 429 instead of queueing a thread
RPC_CONCURRENCY = 4
#: how long a proxied call waits for the chain before it is refused with 429
RPC_LOCK_WAIT_S = 2.0


class EmbeddingsRequest(BaseModel):
    """OpenAI's embeddings request, as the official SDKs send it.

    What cairn cannot do honestly is refused with a 400 naming the field: token-array
    inputs (the receipt binds the texts) and a ``dimensions`` other than the model's
    (the receipt binds the model's whole vector).
    """

    model_config = ConfigDict(extra="ignore")
    model: str = Field(description="Model name, e.g. all-MiniLM-L6-v2")
    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="A text or a list of texts (token arrays are refused)"
    )
    encoding_format: str | None = Field(
        default="float",
        description='"float" (lists of numbers) or "base64" (each vector\'s little-endian '
        "float32 bytes, base64: what the OpenAI SDK asks for by default)",
    )
    dimensions: int | None = Field(
        default=None, description="If given, must equal the model's dimension (384 for MiniLM)"
    )
    user: str | None = Field(default=None, description="Opaque end-user id; ignored")


class TensorJson(BaseModel):
    """One tensor at the HTTP edge (:mod:`cairn.inference.tensors`); its values are checked
    against dtype and shape when it is parsed, so a wrong one is a 400 naming the tensor."""

    model_config = ConfigDict(extra="forbid")
    dtype: str = Field(description="float32, float64, float16, int8-64, uint8-64 or bool")
    shape: list[StrictInt] = Field(description="Dimensions, e.g. [1, 64]")
    data: Any = Field(
        description="The values: a list, flat in C order or nested as the shape (non-finite "
        'floats as "NaN", "Infinity", "-Infinity"), or a base64 string of the '
        "little-endian bytes"
    )


class InferRequest(BaseModel):
    """``POST /v1/infer/{model}``: the model's input tensors by name (``GET /v1/models``
    lists each model's inputs with their dtype and shape)."""

    model_config = ConfigDict(extra="forbid")
    inputs: dict[str, TensorJson] = Field(
        description='Named tensors: {"pixels": {"dtype": "float32", "shape": [1, 64], '
        '"data": [...]}}'
    )


_TENSOR = '{"dtype": "float32", "shape": [1, 64], "data": [...]}'
_TENSOR_FIELDS = {
    "dtype": 'a dtype name such as "float32"',
    "shape": "a list of integers such as [1, 64]",
}
_EMBEDDINGS_FIELDS: dict[FieldPath, str] = {
    ("input",): "a text or a list of texts",
    ("model",): "a model name such as all-MiniLM-L6-v2",
    ("encoding_format",): '"float" or "base64"',
    ("dimensions",): "an integer",
}


def _expects(route: str) -> Callable[[FieldPath], str | None]:
    """What belongs at a path of a route's body, where a bare pydantic message would not do."""
    if route.startswith("/v1/infer/"):
        return _infer_expects
    if route == "/v1/embeddings":
        return _EMBEDDINGS_FIELDS.get
    return lambda _path: None


def _infer_expects(path: FieldPath) -> str | None:
    """What belongs at ``path`` of an infer body (for a one-line 4xx naming the field)."""
    if not path:
        return f'{{"inputs": {{"NAME": {_TENSOR}}}}}'
    if path[0] != "inputs":
        return None
    if len(path) == 1:
        return f'an object of named tensors {{"NAME": {_TENSOR}}}'
    if len(path) == 2:
        return f"a tensor {_TENSOR}"
    if len(path) == 4 and path[2] == "shape":
        return "an integer"
    return _TENSOR_FIELDS.get(str(path[2])) if len(path) == 3 else None


def _parsed_inputs(inputs: dict[str, TensorJson]) -> dict[str, Tensor]:
    """The request's tensors; a bad one is a 400 naming it (``inputs.pixels: ...``)."""
    if not inputs:
        raise _Refusal(400, f'inputs: no tensors given; expected {{"NAME": {_TENSOR}}}')
    parsed: dict[str, Tensor] = {}
    for name, t in inputs.items():
        if not name:
            raise _Refusal(400, "inputs: a tensor name is empty", param="inputs")
        with _naming_inputs([name], always=True):
            raw = {"dtype": t.dtype, "shape": t.shape, "data": t.data}
            parsed.update(tensors_from_json({name: raw}))
    return parsed


@contextmanager
def _naming_inputs(names: Iterable[str], *, always: bool = False) -> Iterator[None]:
    """Say where a tensor's problem is: ``pixels: ...`` becomes ``inputs.pixels: ...``
    (``always``: the one tensor of ``names`` is at fault, whether its message names it)."""
    try:
        yield
    except TensorError as exc:
        text, names = str(exc), list(names)
        if any(text.startswith(f"{name}: ") for name in names):
            text = f"inputs.{text}"
        elif always:
            text = f"inputs.{names[0]}: {text}"
        raise _Refusal(400, text, param="inputs") from None


class RpcCall(BaseModel):
    model_config = ConfigDict(extra="ignore")
    jsonrpc: str = "2.0"
    id: int | str | None = None
    method: str = Field(max_length=64)
    params: list[Any] = []


Bearer = Annotated[str | None, Header(alias="Authorization", max_length=200)]
CairnAuth = Annotated[str | None, Header(alias="Cairn-Auth", max_length=400)]
SessionHeader = Annotated[str | None, Header(alias="Cairn-Session", max_length=200)]


class SignIn(BaseModel):
    """``POST /v1/auth/siwe``: an EIP-4361 message and its EIP-191 (or EIP-1271) signature."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(max_length=4096)
    signature: str = Field(max_length=2048)


class _Refusal(HTTPException):
    """A 4xx that also names the request field at fault and a machine-readable code
    (OpenAI's ``error.param`` and ``error.code``)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers=headers)
        self.param, self.code = param, code


def _openai_route(path: str) -> bool:
    return path in ("/v1/embeddings", "/v1/models") or path.startswith("/v1/models/")


def _error_body(
    path: str,
    status: int,
    detail: Any,
    *,
    param: str | None = None,
    code: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """A 4xx body: ``detail`` always; on the OpenAI-compatible routes also OpenAI's
    ``error`` object, whose ``message`` the OpenAI SDKs put in the exception they raise."""
    body: dict[str, Any] = {"detail": detail}
    if _openai_route(path) and 400 <= status < 500:
        body["error"] = {
            "message": message if message is not None else str(detail),
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    return body


class _BatcherCollector(Collector):
    """The batcher's own counts, read at scrape time."""

    def __init__(self, batcher: Batcher) -> None:
        self.batcher = batcher

    def collect(self) -> Any:
        yield CounterMetricFamily(
            "cairn_anchor_failures",
            "Failed seal-and-anchor attempts (each retried with backoff)",
            value=self.batcher.failures,
        )
        yield GaugeMetricFamily(
            "cairn_anchor_failing",
            "1 while the last seal-and-anchor attempt failed",
            value=int(self.batcher.last_error is not None),
        )


class _Metrics:
    def __init__(self, batcher: Batcher) -> None:
        self.registry = CollectorRegistry()  # one per app: tests run several
        self.registry.register(_BatcherCollector(batcher))
        self.requests = Counter(
            "cairn_requests_total",
            "Requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.receipts = Counter(
            "cairn_receipts_signed_total", "Receipts signed", registry=self.registry
        )
        self.latency = Histogram(
            "cairn_inference_seconds", "Inference latency", ["model"], registry=self.registry
        )
        self.refused_rpc = Counter(
            "cairn_rpc_refused_total",
            "Chain proxy calls refused with 429 (over the limit, or the chain busy anchoring)",
            registry=self.registry,
        )
        # labelled children, found once: ``labels()`` takes a lock and builds a tuple
        # on every call, on the request path
        self._counts: dict[tuple[str, int], Any] = {}
        self._latencies: dict[str, Any] = {}

    def count(self, route: str, status: int) -> None:
        child = self._counts.get((route, status))
        if child is None:
            child = self._counts[route, status] = self.requests.labels(route, str(status))
        child.inc()

    @contextmanager
    def inference(self, model: str) -> Iterator[None]:
        """Time a model's run into ``cairn_inference_seconds``."""
        child = self._latencies.get(model)
        if child is None:
            child = self._latencies[model] = self.latency.labels(model)
        start = time.perf_counter()
        try:
            yield
        finally:
            child.observe(time.perf_counter() - start)


def _retained(blob: bytes | None, what: str) -> Response:
    if blob is None:
        raise HTTPException(410, f"{what} no longer retained (audit window passed)")
    return Response(wire.retained_to_json(blob), media_type="application/json")


def _find(ctx: NodeContext, name: str) -> ServedModel:
    for served in ctx.models.values():
        if name.lower() in (served.name.lower(), served.cid.lower()):
            return served
    raise _Refusal(
        404,
        f"unknown model {name!r}; serving: {', '.join(ctx.models)}",
        param="model",
        code="model_not_found",
    )


def _bounded(ctx: NodeContext, call: wire.Call) -> wire.Call:
    """``call``, unless its input is too large to post onchain in answer to a
    data-availability challenge (``Disputes.MAX_INPUT``): refused before running."""
    size, limit = len(call.input_bytes), ctx.settings.max_input_bytes
    if size > limit:
        raise _Refusal(
            413, f"input of {size} bytes over {limit} (the onchain bound)", param="input"
        )
    return call


def _request_id(now_ns: int) -> bytes:
    """A new receipt's ``requestId``: ``now_ns`` in milliseconds (6 bytes, big-endian), then
    26 random bytes (:mod:`cairn._held`), as UUIDv7 lays out its bits (RFC 9562, 5.7).

    The receipt store keys its rows by this id. Random ids land anywhere in that index,
    so every move of the spool dirtied pages all over it, and more of them as the
    store grew; ids that rise with time append at its end. The time is the receipt's
    own ``issuedAt`` to the millisecond; 208 random bits keep ids unguessable and
    distinct, whatever the clock does."""
    return (now_ns // 1_000_000).to_bytes(6, "big") + random_bytes(26)


def _issue(
    ctx: NodeContext,
    served: ServedModel,
    call: wire.Call,
    outputs: wire.CanonicalOutputs,
    metrics: _Metrics,
    price: int = 0,
    owner: tuple[Sessions, str] | None = None,
) -> tuple[Receipt, str]:
    """Sign the receipt of one call (:mod:`cairn.receipts.wire`) and store it durably with
    its input and output; return it and the client's access secret for them (derived
    for ``owner``'s address when the caller is known: :mod:`cairn.node._sessions`)."""
    output_blob = wire.output_bytes(outputs)
    now = time.time_ns()
    receipt = Receipt(
        model=served.cid,
        input_hash=call.input_hash,
        output_hash=hashlib.sha256(output_blob).digest(),
        node=ctx.signer.address,
        request_id=_request_id(now),
        issued_at=now // 1_000_000_000,
        runtime=served.model.runtime.fingerprint,
        price=price,  # what this call was charged (x402), 0 when free
        domain=ctx.domain,
    ).sign(ctx.signer, ctx.domain.separator)
    if owner is None:
        access, access_hash = access_token()
    else:
        secret = owner[0].access_secret(owner[1], receipt.request_id)
        access, access_hash = secret.hex(), hashlib.sha256(secret).digest()
    ctx.receipts.add(receipt, call.input_bytes, output_blob, access_hash)  # returns once durable
    ctx.batcher.notify()
    metrics.receipts.inc()
    return receipt, access


def _listed(value: Any) -> Any:
    """pydantic-core's writer for what it does not know: numpy arrays, as lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _answer(
    body: dict[str, Any],
    issued: tuple[Receipt, str],
    headers: dict[str, str] | None = None,
    *,
    finite: bool = True,
) -> Response:
    """The answer with its receipt. The ``Cairn-Access`` secret reads this call's retained
    input and output back.

    Serialized by orjson: a list of 384 floats through ``json.dumps`` costs more than
    signing the receipt, and through pydantic-core twice what orjson takes. Floats are
    written as the shortest text that reads back to the same double, as both do. A body
    orjson cannot write as the others do goes through pydantic-core: one with a NaN or an
    infinity (``finite=False``; orjson would write ``null``, which no client can hash
    back: :mod:`cairn.receipts.wire`), or an integer past 64 bits (a chain id may be).
    Numpy arrays of doubles in ``body`` (:func:`cairn.receipts.wire.encode_embedding`)
    are written as lists of the same doubles by either writer.
    """
    receipt, access = issued
    body["receipt"] = receipt.to_json()
    text = None
    if finite:
        with suppress(orjson.JSONEncodeError):
            text = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(
        text if text is not None else to_json(body, fallback=_listed),
        media_type="application/json",
        headers={"Cairn-Receipt": receipt.to_header(), "Cairn-Access": access, **(headers or {})},
    )


_T = TypeVar("_T")


class _PaymentDue(Exception):
    """Answered 402 with the offer (``PAYMENT-REQUIRED``) and why the payment was refused."""

    def __init__(self, offer: Offer, reason: str) -> None:
        super().__init__(reason)
        self.offer, self.reason = offer, reason


class _Bill:
    """One priced call's payment (:mod:`cairn.payments`): admitted before the work, settled
    before the answer leaves, released if the work fails. A free call has no payment."""

    def __init__(
        self, ctx: NodeContext, request: Request, served: ServedModel, door: _Door
    ) -> None:
        self.cashier = ctx.cashier if served.price else None
        self.request = request
        self.door = door
        self.price = served.price
        self.admitted: Admitted | None = None
        if self.cashier is not None:
            try:
                self.admitted = self.cashier.admit(request.headers, served.price)
            except PaymentInvalid as exc:
                raise self._due(exc) from None
            if self.admitted is not None:
                door.paid_by(self.admitted.payer)

    @property
    def amount(self) -> int:
        return self.admitted.amount if self.admitted is not None else 0

    def _due(self, refusal: PaymentInvalid) -> _PaymentDue:
        assert self.cashier is not None
        resource = f"{self.request.url.path}"
        challenge = self.door.sessions.challenge()  # x402 sign-in-with-x, for the next call
        reason = one_line(str(refusal))
        offer = self.cashier.offer(self.price, resource, reason, challenge)
        if isinstance(refusal, ChannelRefusal):  # batch-settlement's wire code and channel state
            offer = refusal.amend(offer)
        return _PaymentDue(offer, reason)

    def settle(self, issue: Callable[[], _T]) -> tuple[dict[str, str], _T]:
        """Collect the payment and ``issue`` the call's receipt (stored durably): the
        ``PAYMENT-RESPONSE`` header for the answer, and what ``issue`` returned. The
        receipt is stored once the payment is collected, in the commit that records a
        batch-settlement voucher (one journal: :mod:`cairn._journal`)."""
        if self.cashier is None or self.admitted is None:
            return {}, issue()
        issued: list[_T] = []
        try:
            settled = self.cashier.settle(self.admitted, lambda: issued.append(issue()))
        except PaymentInvalid as exc:
            raise self._due(exc) from None
        return {self.cashier.response_header(self.request.headers): settled.header()}, issued[0]

    def release(self) -> None:
        if self.cashier is not None and self.admitted is not None:
            self.cashier.release(self.admitted)


def _owner(sessions: Sessions, caller: str | None, bill: _Bill) -> tuple[Sessions, str] | None:
    """Whose call this is: the signed-in address, else the payer, else nobody's."""
    who = caller or (bill.admitted.payer if bill.admitted is not None else None)
    return (sessions, who) if who is not None else None


class _Door:
    """Who is calling (a ``Cairn-Session``, a ``SIGN-IN-WITH-X`` header, or nobody), and
    whether their quota lets them in (:mod:`cairn.node._sessions`)."""

    def __init__(self, sessions: Sessions, per_address: Quota, anonymous: Quota) -> None:
        self.sessions, self.per_address, self.anonymous = sessions, per_address, anonymous

    def enter(self, request: Request) -> tuple[str | None, dict[str, str]]:
        """The caller's address (``None``: anonymous) and headers for the answer."""
        headers: dict[str, str] = {}
        address: str | None = None
        token = request.headers.get(SESSION_HEADER)
        proof = request.headers.get(siwx.HEADER)
        try:
            if token is not None:
                address = self.sessions.address_of(token)
            elif proof is not None:
                session = self.sessions.sign_in_header(proof)
                address, headers = session.address, {SESSION_HEADER: session.token}
        except SiweInvalid as exc:
            raise HTTPException(401, one_line(str(exc))) from None
        paying = PAYMENT_SIGNATURE in request.headers or V1_PAYMENT in request.headers
        if address is not None:
            self._take(self.per_address, address)
        elif not paying:  # a payer is counted by its address once its payment is admitted
            self._take(self.anonymous, "anonymous")
        return address, headers

    def paid_by(self, payer: str) -> None:
        self._take(self.per_address, payer)

    @staticmethod
    def _take(quota: Quota, key: str) -> None:
        if not quota.take(key):
            who = "anonymous callers" if key == "anonymous" else key
            raise _Refusal(
                429,
                f"quota of {quota.per_minute} calls a minute used up for {who}",
                code="quota",
                headers={"Retry-After": "60"},
            )


@contextmanager
def _payment(
    ctx: NodeContext, request: Request, served: ServedModel, door: _Door
) -> Iterator[_Bill]:
    bill = _Bill(ctx, request, served, door)
    try:
        yield bill
    except BaseException:
        bill.release()
        raise


def _clamp_gas(method: str, params: list[Any]) -> list[Any]:
    """Cap the gas of a call the proxy runs (absent: the cap, not the block's gas limit)."""
    if method not in ("eth_call", "eth_estimateGas") or not params:
        return params
    if not isinstance(params[0], dict):
        return params
    gas = params[0].get("gas")
    try:
        wanted = int(gas, 16) if isinstance(gas, str) else int(gas if gas is not None else -1)
    except (TypeError, ValueError, OverflowError):
        wanted = -1
    if wanted < 0:
        wanted = RPC_GAS_CAP
    return [{**params[0], "gas": hex(max(0, min(wanted, RPC_GAS_CAP)))}, *params[1:]]


def _relay_refusal(method: str, params: list[Any]) -> str | None:
    """Why a signed transaction is not relayed: one the node cannot decode, or one whose
    gas limit is over the cap calls have (it would hold the chain that long)."""
    if method != "eth_sendRawTransaction":
        return None
    try:
        gas = raw_transaction_gas(params[0] if params else "")
    except (ValueError, TypeError, AttributeError) as exc:
        return f"eth_sendRawTransaction: {exc}"[:200]
    if gas > RPC_GAS_CAP:
        return f"transaction gas {gas} is over this node's relay cap of {RPC_GAS_CAP}"
    return None


class _ChainGate:
    """Bounded access to the chain for what clients ask of it (the proxy, validator checks).

    At most :data:`RPC_CONCURRENCY` at once; nothing new while the batcher anchors;
    the chain lock waited for at most :data:`RPC_LOCK_WAIT_S`. Each refusal is
    :class:`_Busy` (429), never a blocked worker thread.
    """

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.slots = threading.BoundedSemaphore(RPC_CONCURRENCY)

    def run(self, fn: Any, *, wait: bool = False) -> Any:
        """``fn(chain)`` under the chain lock. ``wait`` (a validator's stake check, one
        short read) queues behind anchoring and for a slot; the proxy does neither."""
        if not self.slots.acquire(timeout=RPC_LOCK_WAIT_S if wait else 0):
            raise _Busy(f"over {RPC_CONCURRENCY} chain calls at once")
        try:
            if not wait and self.ctx.batcher.anchoring.is_set():
                raise _Busy("the node is anchoring")
            if not self.ctx.chain_lock.acquire(timeout=RPC_LOCK_WAIT_S * (4 if wait else 1)):
                raise _Busy("the chain is busy")
            try:
                if not wait and self.ctx.batcher.anchoring.is_set():  # came while we waited
                    raise _Busy("the node is anchoring")
                return fn(self.ctx.chain)
            finally:
                self.ctx.chain_lock.release()
        finally:
            self.slots.release()


class _Busy(Exception):
    pass


def create_app(ctx: NodeContext) -> FastAPI:
    metrics = _Metrics(ctx.batcher)
    gate = _ChainGate(ctx)
    access = RetainedAccess(
        f"{ctx.settings.host}:{ctx.settings.port}",
        lambda address: bool(
            gate.run(lambda c: c.staking.is_staked(address, Role.VALIDATOR), wait=True)
        ),
    )

    origin = ctx.settings.public_url or f"http://{ctx.settings.host}:{ctx.settings.port}"

    def code_at(address: str) -> bytes:
        return bytes(gate.run(lambda c: c.code_at(address), wait=True))

    def is_valid_signature(address: str, digest: bytes, signature: bytes) -> bool:
        return bool(gate.run(lambda c: c.is_valid_signature(address, digest, signature), wait=True))

    sessions = Sessions(
        origin,
        ctx.domain.chain_id,
        owner_key(ctx.signer),
        code_at=code_at,
        is_valid_signature=is_valid_signature,
    )
    door = _Door(
        sessions,
        Quota(ctx.settings.quota_per_minute),
        Quota(ctx.settings.anonymous_quota_per_minute),
    )

    # answers data-availability challenges from the store this gateway reads
    responder = (
        ChallengeResponder(ctx.chain, ctx.chain_lock, ctx.signer, ctx.receipts)
        if ctx.chain.deployment.disputes is not None
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ctx.batcher.start()
        if responder is not None:
            responder.start()
        yield
        if responder is not None:
            responder.stop()
        ctx.batcher.stop()

    app = FastAPI(
        title="cairn gateway",
        version="1",
        lifespan=lifespan,
        description="Verifiable inference: every answer carries a signed receipt.",
        default_response_class=SafeJSONResponse,
    )

    app.add_middleware(
        Guard,
        limit=ctx.settings.max_body_bytes,
        count=metrics.count,
        error_body=_error_body,
    )

    @app.exception_handler(CairnError)
    async def cairn_error(request: Request, exc: CairnError) -> JSONResponse:
        status = 404 if isinstance(exc, KeyError) else 400
        return SafeJSONResponse(_error_body(request.scope["path"], status, str(exc)), status)

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, exc: AccessDenied) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer, Cairn-Auth nonce="/v1/auth/nonce"'}
        return SafeJSONResponse({"detail": exc.detail}, exc.status, headers=headers)

    @app.exception_handler(_PaymentDue)
    async def payment_due(request: Request, exc: _PaymentDue) -> JSONResponse:
        reason = exc.reason or "payment required"
        body: dict[str, Any] = {**exc.offer.to_json(), "detail": reason}
        if _openai_route(request.scope["path"]):
            body["error"] = {"message": reason, "type": "payment_required", "code": "402"}
        return SafeJSONResponse(body, 402, headers={PAYMENT_REQUIRED: exc.offer.header()})

    @app.exception_handler(_Busy)
    async def busy(request: Request, exc: _Busy) -> JSONResponse:
        metrics.refused_rpc.inc()
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32005, "message": f"{exc}"}}
        return SafeJSONResponse(
            {**body, "detail": f"{exc}; retry later"}, 429, headers={"Retry-After": "1"}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.scope["path"]
        if not _openai_route(path):
            return SafeJSONResponse(
                {"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None)
            )
        body = _error_body(
            path,
            exc.status_code,
            exc.detail,
            param=getattr(exc, "param", None),
            code=getattr(exc, "code", None),
        )
        return SafeJSONResponse(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        path = request.scope["path"]
        message, field = validation_problem(exc.errors(), _expects(path))
        return SafeJSONResponse(_error_body(path, 422, message, param=field), 422)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "node": ctx.signer.address,
            "chain_id": ctx.domain.chain_id,
            "models": list(ctx.models),
            "anchor_error": ctx.batcher.last_error,
            "anchor_failures": ctx.batcher.failures,
            "batches_renumbered": [list(pair) for pair in ctx.batcher.renumbered],
        }

    card = register_agent(ctx)  # built once: its bytes are what its CID names

    @app.get("/.well-known/agent-card.json")
    def agent_card() -> Response:
        """This node's ERC-8004 agent card; ``X-Ipfs-Path`` names its CID (the agent URI)."""
        headers = {"X-Ipfs-Path": f"/ipfs/{card.cid}", "Etag": f'"{card.cid}"'}
        return Response(card.data, media_type="application/json", headers=headers)

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    started = int(time.time())  # OpenAI's model ``created``: when this node began serving it

    def model_entry(m: ServedModel) -> dict[str, Any]:
        return {
            "id": m.name,
            "object": "model",
            "created": started,
            "owned_by": ctx.signer.address,
            "cid": m.cid,
            "manifest_cid": m.manifest_cid,
            "manifest": m.manifest,
            "registry_version": m.version,
            "kind": m.model.spec.kind,
            "policy": m.policy,
            "inputs": [s.to_json() for s in m.model.spec.inputs],
            "outputs": [s.to_json() for s in m.model.spec.outputs],
            "runtime": m.model.runtime.fingerprint,
            "price": str(m.price),  # per request, atomic units of the payment token (x402)
        }

    @app.get("/v1/models")
    def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_entry(m) for m in ctx.models.values()]}

    @app.get("/v1/models/{model}")
    def get_model(model: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
        return model_entry(_find(ctx, model))

    @app.post("/v1/embeddings")
    def embeddings(req: EmbeddingsRequest, request: Request) -> Response:
        served = _find(ctx, req.model)
        if served.embedder is None:
            raise _Refusal(400, f"{served.name} is not an embedding model", param="model")
        raw = [req.input] if isinstance(req.input, str) else req.input
        texts = [t for t in raw if isinstance(t, str)]
        if len(texts) != len(raw):
            raise _Refusal(
                400,
                "token-array input is not supported: send text (the receipt binds the texts)",
                param="input",
            )
        if not texts or len(texts) > ctx.settings.max_texts:
            raise _Refusal(
                400, f"input must hold 1 to {ctx.settings.max_texts} texts", param="input"
            )
        if req.encoding_format not in (None, "float", "base64"):
            raise _Refusal(
                400,
                f"encoding_format must be 'float' or 'base64', not {req.encoding_format!r}",
                param="encoding_format",
            )
        encoding: Literal["float", "base64"] = (
            "base64" if req.encoding_format == "base64" else "float"
        )

        def check_dimensions(dim: int) -> None:
            if req.dimensions is not None and req.dimensions != dim:
                raise _Refusal(
                    400,
                    f"{served.name} has {dim} dimensions; dimensions={req.dimensions} is not "
                    f"supported (omit it or pass {dim}: the receipt binds the whole vector)",
                    param="dimensions",
                )

        if served.embedder.dim:  # 0 when the model's spec leaves it open: checked after the run
            check_dimensions(served.embedder.dim)
        call = _bounded(ctx, wire.text_call(texts))  # Unicode text only, before the tokenizer
        caller, signed_in = door.enter(request)
        with _payment(ctx, request, served, door) as bill:
            with metrics.inference(served.name):
                inputs, outputs = served.embedder.run(texts)
            out = wire.embedding_outputs(outputs[served.embedder.output].to_numpy())
            vectors = out[wire.EMBEDDING].to_numpy()
            check_dimensions(vectors.shape[-1])
            owner = _owner(sessions, caller, bill)
            paid, receipt = bill.settle(
                lambda: _issue(ctx, served, call, out, metrics, bill.amount, owner)
            )
        tokens = int(np.asarray(inputs["attention_mask"].to_numpy()).sum())
        return _answer(
            {
                "object": "list",
                "model": served.name,
                "data": [
                    {
                        "object": "embedding",
                        "index": i,
                        # the same float32 values the receipt's outputHash binds
                        "embedding": wire.encode_embedding(v, encoding),
                    }
                    for i, v in enumerate(vectors)
                ],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
            receipt,
            {**paid, **signed_in},
            finite=encoding == "base64" or bool(np.isfinite(vectors).all()),
        )

    @app.post("/v1/infer/{model}")
    def infer(
        req: InferRequest, model: Annotated[str, Path(max_length=200)], request: Request
    ) -> Response:
        served = _find(ctx, model)
        if served.embedder is not None:
            raise HTTPException(400, f"{served.name} takes text: use POST /v1/embeddings")
        inputs = _parsed_inputs(req.inputs)
        call = _bounded(ctx, wire.tensor_call(inputs))
        caller, signed_in = door.enter(request)
        with _payment(ctx, request, served, door) as bill:
            with metrics.inference(served.name), _naming_inputs(inputs):
                outputs = wire.canonical_outputs(served.model.runtime.run(inputs))
            owner = _owner(sessions, caller, bill)
            paid, issued = bill.settle(
                lambda: _issue(ctx, served, call, outputs, metrics, bill.amount, owner)
            )
        prover = ctx.prover  # zk tier: a queue put; proving runs in the background
        if prover is not None:
            prover.submit(issued[0], inputs)
        body = {"model": served.name, "outputs": tensors_to_json(outputs)}
        return _answer(body, issued, {**paid, **signed_in})

    def _stored(request_id: str) -> Any:
        try:
            raw = bytes.fromhex(request_id.removeprefix("0x"))
        except ValueError:
            raw = b""
        stored = ctx.receipts.get(raw) if len(raw) == 32 else None
        if stored is None:
            raise HTTPException(404, f"no receipt {request_id}")
        return stored

    @app.get("/v1/receipts/{request_id}")
    def get_receipt(request_id: Annotated[str, Path(max_length=80)]) -> dict[str, Any]:
        stored = _stored(request_id)
        return {
            "receipt": stored.receipt.to_json(),
            "batch_id": stored.batch_id,
            "leaf_index": stored.leaf_index,
        }

    @app.get("/v1/receipts/{request_id}/proof")
    def get_proof(request_id: Annotated[str, Path(max_length=80)]) -> dict[str, Any]:
        stored = _stored(request_id)
        if stored.batch_id is None or stored.leaf_index is None:
            raise HTTPException(404, "receipt not batched yet; retry after the next anchor")
        batch = ctx.receipts.batch(stored.batch_id)
        tree = ctx.batcher.tree(stored.batch_id)
        proof = InclusionProof(
            ctx.signer.address,
            stored.batch_id,
            stored.leaf_index,
            tree.count,
            tree.root,
            tuple(tree.proof(stored.leaf_index)),
        )
        return {**proof.to_json(), "anchored": bool(batch and batch.anchored)}

    def _authorized(
        request_id: str, authorization: str | None, cairn_auth: str | None, session: str | None
    ) -> Any:
        stored = _stored(request_id)
        if session is not None:  # a signed-in address reads the calls it made
            try:
                address = sessions.address_of(session)
            except SiweInvalid as exc:
                raise AccessDenied(401, one_line(str(exc))) from None
            secret = sessions.access_secret(address, stored.receipt.request_id)
            if stored.access is None or not hmac.compare_digest(
                hashlib.sha256(secret).digest(), stored.access
            ):
                raise AccessDenied(403, f"this call was not made by {address}")
            return stored
        bearer = None
        if authorization is not None:
            scheme, _, bearer = authorization.partition(" ")
            if scheme.lower() != "bearer":
                raise AccessDenied(401, "Authorization: use the Bearer scheme")
        access.check(bearer, cairn_auth, stored.access)
        return stored

    @app.get("/v1/auth/siwe")
    def siwe_challenge() -> dict[str, Any]:
        """What to sign to sign in (EIP-4361 fields, and x402's sign-in-with-x challenge)."""
        return sessions.challenge_json()

    @app.post("/v1/auth/siwe")
    def siwe_sign_in(body: SignIn) -> dict[str, Any]:
        """Sign in: a ``Cairn-Session`` token for the address the message proves."""
        try:
            session = sessions.sign_in(body.message, body.signature)
        except SiweInvalid as exc:
            raise HTTPException(401, one_line(str(exc))) from None
        return {
            "address": session.address,
            "session": session.token,
            "expiresAt": session.expires_at,
        }

    @app.get("/v1/auth/nonce")
    def auth_nonce() -> dict[str, Any]:
        """A fresh single-use nonce (and the message to sign with it) for ``Cairn-Auth``."""
        return access.nonce()

    @app.get("/v1/receipts/{request_id}/input")
    def get_input(
        request_id: Annotated[str, Path(max_length=80)],
        authorization: Bearer = None,
        cairn_auth: CairnAuth = None,
        session: SessionHeader = None,
    ) -> Response:
        """The retained input of a receipt (audit window), for the client that sent it
        (``Authorization: Bearer <Cairn-Access>``) and staked validators (``Cairn-Auth``)."""
        return _retained(_authorized(request_id, authorization, cairn_auth, session).input, "input")

    @app.get("/v1/receipts/{request_id}/output")
    def get_output(
        request_id: Annotated[str, Path(max_length=80)],
        authorization: Bearer = None,
        cairn_auth: CairnAuth = None,
        session: SessionHeader = None,
    ) -> Response:
        """The retained output (tensors JSON, b64), for the same readers as the input."""
        return _retained(
            _authorized(request_id, authorization, cairn_auth, session).output, "output"
        )

    @app.get("/v1/receipts/{request_id}/zk")
    def get_zk_proof(request_id: Annotated[str, Path(max_length=80)]) -> Response:
        """The zk proof attached to a receipt (cairn-zk-proof/v1), once the prover made it."""
        stored = _stored(request_id)
        prover = ctx.prover
        proof = prover.get(stored.receipt.request_id) if prover is not None else None
        if proof is None:
            raise HTTPException(404, "no zk proof for this receipt (not zk-enabled, or pending)")
        return Response(proof, media_type="application/json")

    @app.get("/v1/batches/{batch_id}")
    def get_batch(batch_id: Annotated[int, Path(ge=0, lt=1 << 63)]) -> dict[str, Any]:
        """A sealed batch's receipts in leaf order (validators rebuild and check the root)."""
        batch = ctx.receipts.batch(batch_id)
        if batch is None:
            raise HTTPException(404, f"no batch {batch_id}")
        return {
            "batch_id": batch.batch_id,
            "root": "0x" + batch.root.hex(),
            "anchored": batch.anchored,
            "receipts": [r.to_json() for r in ctx.receipts.batch_members(batch_id)],
        }

    @app.post("/v1/chain/rpc")
    def chain_rpc(call: RpcCall) -> dict[str, Any]:
        """JSON-RPC to this node's chain: reads, and transactions their sender signed (what
        clients and validators use on embedded://).

        On the embedded defaults the chain runs inside this process, so this is
        the only way to read it; a client that can should read an independent
        RPC endpoint instead of trusting the node's own.
        """
        params = _clamp_gas(call.method, list(call.params))
        refused = _relay_refusal(call.method, params)
        if refused is not None:
            return {"jsonrpc": "2.0", "id": call.id, "error": {"code": -32602, "message": refused}}
        if call.method == "eth_call" and params and isinstance(params[0], dict):
            params[0] = {"from": ctx.signer.address, **params[0]}
        try:  # Chain.rpc passes only reads and signed transactions (cairn.chain.PROXY_RPC)
            result = gate.run(lambda chain: chain.rpc(call.method, params))
        except CairnError as exc:  # a refused or bad call from a client must not be a 500
            error: dict[str, Any] = {"code": -32603, "message": str(exc)[:200]}
            if isinstance(exc, ChainRpcError):
                error["code"] = exc.code
                if exc.data is not None:
                    error["data"] = exc.data
            return {"jsonrpc": "2.0", "id": call.id, "error": error}
        return {"jsonrpc": "2.0", "id": call.id, "result": result}

    @app.get("/v1/network")
    def network() -> dict[str, Any]:
        return network_document(ctx)

    @app.get("/ipfs/{cid}")
    def ipfs(
        cid: Annotated[str, Path(max_length=200)],
        accept: Annotated[str | None, Header()] = None,
        format: Annotated[str | None, Query(pattern="^(raw|car)$")] = None,
    ) -> Response:
        try:
            root = content.Cid.parse(cid)
        except ContentValueError as exc:
            raise HTTPException(400, str(exc)) from None
        want = format or (
            "car"
            if "vnd.ipld.car" in (accept or "")
            else "raw"
            if "vnd.ipld.raw" in (accept or "")
            else None
        )
        if not ctx.store.has(root):
            raise HTTPException(404, f"{cid} is not on this node")
        headers = {
            "X-Ipfs-Roots": str(root),
            "Cache-Control": "public, max-age=29030400, immutable",
            "Etag": f'"{root}.{want or "file"}"',
        }
        if want == "raw":
            return Response(
                ctx.store.get(root), media_type="application/vnd.ipld.raw", headers=headers
            )
        if want == "car":
            buf = io.BytesIO()
            content.write_car([root], content.walk_blocks(root, ctx.store), buf)
            return Response(
                buf.getvalue(), media_type="application/vnd.ipld.car; version=1", headers=headers
            )
        entry = content.stat(root, ctx.store)
        if entry.kind == "directory":
            names = [{"name": n, "cid": str(c)} for n, c in content.list_directory(root, ctx.store)]
            return JSONResponse({"cid": str(root), "entries": names}, headers=headers)
        return Response(
            content.read_bytes(root, ctx.store),
            media_type="application/octet-stream",
            headers=headers,
        )

    @app.exception_handler(TensorError)
    async def tensor_error(request: Request, exc: TensorError) -> JSONResponse:
        return JSONResponse(_error_body(request.scope["path"], 400, str(exc)), 400)

    return app
