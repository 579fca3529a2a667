"""The Python client of a cairn gateway: call a model, get the answer, check its receipt.

Every call's bytes and hashes come from :mod:`cairn.receipts.wire` — the module
the gateway signs with — so what this client checks is exactly what the node
bound. :meth:`GatewayClient.verify` checks a receipt offline (signature, input
and output hashes, the model asked for, and the network, if the caller pinned
one); :meth:`GatewayClient.verify_online` checks that it was anchored onchain on
the network the caller pinned (a :class:`~cairn.chain.Network` from its own
configuration — never the addresses a receipt names). Every request has an
overall deadline and a body-size cap (:class:`~cairn.client.Bounds`), so a
gateway that drips or floods cannot hang or exhaust the caller.

>>> with GatewayClient("http://127.0.0.1:8000") as gw:     # doctest: +SKIP
...     answer = gw.embed(["where does the trail go?"])
...     gw.verify(answer, domain=net.domain, expected_model=cid)  # ReceiptInvalid if not
...     answer.vectors().shape
(1, 384)

Retained inputs and outputs (what validators re-execute) are not public: the
client that sent a request reads them with the ``Cairn-Access`` secret of its
answer (:attr:`Answer.access`), a staked validator by signing a fresh nonce of
the node (``GatewayClient(url, signer=...)``; :func:`retained_access_message`).

Errors: a gateway that cannot be reached, or answers 4xx/5xx, raises
:class:`~cairn.errors.ClientError` (with ``status``); a receipt that does not
verify raises :class:`~cairn.errors.ReceiptInvalid`. This is the only module of
the layer that imports httpx.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx
import numpy as np
import numpy.typing as npt

from cairn.client._http import Bounds, bounded_client
from cairn.client._http import request as _bounded
from cairn.errors import ClientError, PaymentInvalid, ReceiptInvalid
from cairn.identity import Signer, sign_message
from cairn.inference import Tensor
from cairn.payments.x402 import PAYMENT_REQUIRED, Offer
from cairn.receipts import InclusionProof, Receipt, ReceiptDomain, verify_offline, wire
from cairn.receipts import verify_online as _verify_online
from cairn.verification import RetainedIO

if TYPE_CHECKING:
    from cairn.chain import Network
    from cairn.config import DataDir
    from cairn.payments.payer import Payer

__all__ = ["Answer", "GatewayClient", "retained_access_message", "verify_answer"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"

Checks = tuple[Callable[[str, int], bytes | None], Callable[[str], bool]]
_DECODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def retained_access_message(host: str, nonce: str) -> str:
    """What a validator signs (EIP-191 ``personal_sign``) to read a node's retained I/O.

    ``host`` is the node's ``host:port`` as the validator reaches it, so a signature
    given to one node cannot be replayed to another; the nonce is the node's own.

    >>> print(retained_access_message("127.0.0.1:8000", "ab12"))
    cairn: read retained inputs and outputs
    host: 127.0.0.1:8000
    nonce: ab12
    """
    return f"cairn: read retained inputs and outputs\nhost: {host}\nnonce: {nonce}"


@dataclass(frozen=True)
class Answer:
    """A gateway's answer to one call: the request sent, the body received, its receipt."""

    request: Mapping[str, Any]
    body: Mapping[str, Any]
    access: str | None = None  # the Cairn-Access secret: reads this call's retained I/O

    @property
    def receipt(self) -> Receipt:
        if "receipt" not in self.body:
            raise ReceiptInvalid("answer carries no receipt")
        return Receipt.from_json(self.body["receipt"])

    @property
    def outputs(self) -> dict[str, Tensor]:
        return wire.outputs_of_answer(self.body)

    def vectors(self) -> npt.NDArray[np.float32]:
        """An embeddings answer's vectors, one row per text."""
        return np.asarray(self.outputs[wire.EMBEDDING].to_numpy(), dtype=np.float32)


class GatewayClient:
    """One gateway, by base URL (``http(s)://host[:port]``).

    ``signer`` is a validator's identity: it signs for the retained I/O it audits.
    ``payer`` pays a priced model's ``402`` (x402, :class:`cairn.payments.payer.Payer`),
    only to ``payee`` when given (the node's staked address).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 120.0,
        http: httpx.Client | None = None,
        signer: Signer | None = None,
        bounds: Bounds | None = None,
        payer: Payer | None = None,
        payee: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.bounds = bounds or Bounds(deadline_s=timeout)
        self._http = http or bounded_client(timeout)
        self.signer = signer
        self.payer, self.payee = payer, payee
        self._offers: dict[str, Offer] = {}  # path -> the last 402's offer (sessions pay ahead)

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- calls ------------------------------------------------------------------------

    def embed(
        self,
        texts: Sequence[str],
        model: str = DEFAULT_MODEL,
        *,
        encoding: Literal["float", "base64"] = "float",
    ) -> Answer:
        """``POST /v1/embeddings`` (OpenAI-compatible)."""
        request = {"model": model, "input": list(texts), "encoding_format": encoding}
        return self.send("/v1/embeddings", request)

    def infer(self, model: str, inputs: Mapping[str, Tensor] | Mapping[str, Any]) -> Answer:
        """``POST /v1/infer/{model}``: named tensors in (as :class:`Tensor` or tensor JSON)."""
        as_json = {
            k: (v.to_json(b64=True) if isinstance(v, Tensor) else v) for k, v in inputs.items()
        }
        request = {"inputs": as_json}
        return self.send(f"/v1/infer/{model}", request)

    def send(self, path: str, request: Mapping[str, Any]) -> Answer:
        """POST a request body as given (``/v1/embeddings`` or ``/v1/infer/{model}``);
        a ``402`` is paid once by :attr:`payer`, if there is one."""
        resp = self._call("POST", path, request, pay=self.payer is not None)
        return Answer(request, self._body(resp, path), resp.headers.get("Cairn-Access"))

    def models(self) -> list[dict[str, Any]]:
        data = self._json("GET", "/v1/models").get("data", [])
        if not isinstance(data, list):
            raise ClientError(f"{self.url}/v1/models: data is not a list")
        return [m for m in data if isinstance(m, dict)]

    def network(self) -> dict[str, Any]:
        """``GET /v1/network``: what the gateway says its network is (check it onchain)."""
        return self._json("GET", "/v1/network")

    def model_cid(self, model: str) -> str:
        """The CID this gateway says it serves under ``model`` (a name or a CID).

        This is the gateway's own word: a client that must not trust it resolves a
        name through the pinned network's ModelRegistry instead.
        """
        for entry in self.models():
            if model.lower() in (str(entry.get("id", "")).lower(), str(entry.get("cid")).lower()):
                return str(entry["cid"])
        raise ClientError(f"{self.url} does not serve a model {model!r}", 404)

    # -- receipts, proofs, what validators read ------------------------------------

    def receipt(self, request_id: bytes) -> Receipt:
        body = self._json("GET", f"/v1/receipts/0x{request_id.hex()}")
        return Receipt.from_json(body.get("receipt"))

    def proof(self, request_id: bytes, *, wait_s: float = 0.0) -> InclusionProof:
        """The receipt's inclusion proof once its batch is anchored (waits up to ``wait_s``)."""
        path = f"/v1/receipts/0x{request_id.hex()}/proof"
        deadline = time.monotonic() + wait_s
        while True:
            try:
                body = self._json("GET", path)
                if body.get("anchored"):
                    return InclusionProof.from_json(body)
            except ClientError as exc:
                if exc.status != 404:
                    raise
            if time.monotonic() >= deadline:
                raise ReceiptInvalid("receipt not anchored yet (retry later or pass --wait)")
            time.sleep(0.25)

    def batch(self, batch_id: int) -> list[Receipt]:
        """A sealed batch's receipts in leaf order."""
        body = self._json("GET", f"/v1/batches/{batch_id}")
        try:
            return [Receipt.from_json(r) for r in body["receipts"]]
        except (KeyError, TypeError) as exc:
            raise ClientError(f"{self.url}: malformed batch {batch_id}: {exc}") from None

    def retained(self, request_id: bytes, *, access: str | None = None) -> RetainedIO:
        """The input and output a node retained for a receipt: as its client (``access``,
        the answer's ``Cairn-Access``) or as a staked validator (the client's ``signer``)."""
        rid = f"0x{request_id.hex()}"
        return RetainedIO(
            self._get(f"/v1/receipts/{rid}/input", self._credentials(access)).content,
            self._get(f"/v1/receipts/{rid}/output", self._credentials(access)).content,
        )

    def _credentials(self, access: str | None) -> dict[str, str]:
        if access is not None:
            return {"Authorization": f"Bearer {access}"}
        if self.signer is None:
            return {}
        nonce = str(self._json("GET", "/v1/auth/nonce").get("nonce", ""))
        url = httpx.URL(self.url)
        host = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
        signature = sign_message(self.signer, retained_access_message(host, nonce)).hex
        return {"Cairn-Auth": f"{self.signer.address}:{nonce}:{signature}"}

    def zk_proof(self, request_id: bytes) -> bytes | None:
        """The zk proof the node attached to a receipt, or None if it has none (yet)."""
        try:
            return self._get(f"/v1/receipts/0x{request_id.hex()}/zk").content
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise

    # -- checking ---------------------------------------------------------------------

    def verify(
        self,
        answer: Answer | Mapping[str, Any],
        request: Mapping[str, Any] | None = None,
        *,
        domain: ReceiptDomain | None = None,
        expected_model: str | Collection[str] | None = None,
    ) -> Receipt:
        """Check an answer's receipt offline; raise :class:`ReceiptInvalid` with the reason.

        ``domain`` is the pinned network's (``Network.domain``); ``expected_model`` the
        CID asked for, or the CIDs a name may resolve to (see :meth:`model_cid`).
        """
        return verify_answer(answer, request, domain=domain, expected_model=expected_model)

    def verify_online(
        self,
        receipt: Receipt,
        network: Network | Checks,
        *,
        wait_s: float = 0.0,
        data_dir: DataDir | None = None,
    ) -> None:
        """Check the receipt's inclusion in the batch anchored onchain (its root and count)
        and the node's stake.

        ``network`` is the pinned :class:`~cairn.chain.Network` (its chain id, RPC and
        contract addresses are the caller's, never the receipt's: a receipt naming
        another chain or anchor is refused), or ``(commitment_of, is_staked)`` checks
        already read from it.
        """
        if isinstance(network, tuple):
            commitment_of, is_staked = network
        else:
            commitment_of, is_staked = _onchain_checks(network, receipt, data_dir)
        proof = self.proof(receipt.request_id, wait_s=wait_s)
        _verify_online(receipt, proof, commitment_of, is_staked)

    # -- HTTP -------------------------------------------------------------------------

    def _get(self, path: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return self._call("GET", path, None, headers)

    def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        return self._body(self._call(method, path, body), path)

    def _body(self, resp: httpx.Response, path: str) -> dict[str, Any]:
        try:
            out = resp.json()
        except (ValueError, RecursionError):
            raise ClientError(
                f"{self.url}{path} answered with non-JSON", resp.status_code
            ) from None
        if not isinstance(out, dict):
            raise ClientError(f"{self.url}{path} answered a JSON {type(out).__name__}")
        return out

    def _call(
        self,
        method: str,
        path: str,
        body: Any,
        headers: Mapping[str, str] | None = None,
        *,
        pay: bool = False,
    ) -> httpx.Response:
        offer = self._offers.get(path) if pay and self.payer is not None else None
        if offer is not None and self.payer is not None and self.payer.in_session(offer):
            try:  # a metered session: the voucher goes with the call, no 402 round trip
                name, value = self.payer.pay(offer, self.payee)
            except PaymentInvalid as exc:
                raise ClientError(f"{self.url}{path}: {exc}", 402) from None
            headers, pay = {**(headers or {}), name: value}, True
        status, got, content = _bounded(
            self._http, method, self.url + path, self.bounds, json=body, headers=headers
        )  # within the overall deadline and the size cap, else ClientError
        kept = [(k, v) for k, v in got.multi_items() if k.lower() not in _DECODED]
        resp = httpx.Response(status, headers=kept, content=content)
        if status == 402 and pay and self.payer is not None:
            try:
                offer = Offer.from_header(resp.headers.get(PAYMENT_REQUIRED, ""))
                name, value = self.payer.pay(offer, self.payee)
            except PaymentInvalid as exc:
                raise ClientError(f"{self.url}{path}: {exc}", 402) from None
            self._offers[path] = offer
            return self._call(method, path, body, {**(headers or {}), name: value})
        if resp.status_code != 200:
            raise ClientError(
                f"gateway answered {resp.status_code}: {_detail(resp)}", resp.status_code
            )
        return resp


def verify_answer(
    answer: Answer | Mapping[str, Any],
    request: Mapping[str, Any] | None = None,
    *,
    domain: ReceiptDomain | None = None,
    expected_model: str | Collection[str] | None = None,
    expected_node: str | None = None,
) -> Receipt:
    """Check an answer's receipt offline: that the contract could judge it, signature,
    output hash, input hash (if the request is known), network (if ``domain`` is
    given: the pinned one), model (if ``expected_model`` is given: a CID, or the
    CIDs the name asked for may be) and signer (if ``expected_node`` is given: the
    address staked for the node that was asked)."""
    if isinstance(answer, Answer):
        request = answer.request if request is None else request
        body: Mapping[str, Any] = answer.body
    else:
        body = answer
    if "receipt" not in body:
        raise ReceiptInvalid("response carries no receipt")
    receipt = Receipt.from_json(body["receipt"])
    verify_offline(
        receipt,
        output_hash=wire.tensors_hash(wire.outputs_of_answer(body)),
        input_hash=wire.call_of_request(request).input_hash if request is not None else None,
        expected_node=expected_node,
        expected_domain=domain,
        expected_models=[expected_model] if isinstance(expected_model, str) else expected_model,
    )
    return receipt


def _onchain_checks(network: Network, receipt: Receipt, data_dir: DataDir | None) -> Checks:
    from cairn.chain import OnchainView

    return OnchainView(network, data_dir).checks(receipt)


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except (ValueError, RecursionError):
        return resp.text[:200]
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail if detail is not None else json.dumps(body)[:200])
