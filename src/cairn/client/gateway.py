"""The Python client of a cairn gateway: call a model, get the answer, check its receipt.

Every call's bytes and hashes come from :mod:`cairn.receipts.wire` — the module
the gateway signs with — so what this client checks is exactly what the node
bound. :meth:`GatewayClient.verify` checks a receipt offline (signature, input
and output hashes, and the network, if the caller pinned one);
:meth:`GatewayClient.verify_online` checks that it was anchored onchain.

>>> with GatewayClient("http://127.0.0.1:8000") as gw:     # doctest: +SKIP
...     answer = gw.embed(["where does the trail go?"])
...     gw.verify(answer)                                 # raises ReceiptInvalid if not
...     answer.vectors().shape
(1, 384)

Errors: a gateway that cannot be reached, or answers 4xx/5xx, raises
:class:`~cairn.errors.ClientError` (with ``status``); a receipt that does not
verify raises :class:`~cairn.errors.ReceiptInvalid`. This is the only module of
the layer that imports httpx.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx
import numpy as np
import numpy.typing as npt

from cairn.errors import ClientError, ReceiptInvalid
from cairn.inference import Tensor
from cairn.receipts import InclusionProof, Receipt, ReceiptDomain, verify_offline, wire
from cairn.receipts import verify_online as _verify_online
from cairn.verification import RetainedIO

__all__ = ["Answer", "GatewayClient", "verify_answer"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Answer:
    """A gateway's answer to one call: the request sent, the body received, its receipt."""

    request: Mapping[str, Any]
    body: Mapping[str, Any]

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
    """One gateway, by base URL (``http(s)://host[:port]``)."""

    def __init__(
        self, url: str, *, timeout: float = 120.0, http: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout)

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
        return Answer(request, self._json("POST", "/v1/embeddings", request))

    def infer(self, model: str, inputs: Mapping[str, Tensor] | Mapping[str, Any]) -> Answer:
        """``POST /v1/infer/{model}``: named tensors in (as :class:`Tensor` or tensor JSON)."""
        as_json = {
            k: (v.to_json(b64=True) if isinstance(v, Tensor) else v) for k, v in inputs.items()
        }
        request = {"inputs": as_json}
        return Answer(request, self._json("POST", f"/v1/infer/{model}", request))

    def send(self, path: str, request: Mapping[str, Any]) -> Answer:
        """POST a request body as given (``/v1/embeddings`` or ``/v1/infer/{model}``)."""
        return Answer(request, self._json("POST", path, request))

    def models(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._json("GET", "/v1/models").get("data", [])
        return data

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

    def retained(self, request_id: bytes) -> RetainedIO:
        rid = f"0x{request_id.hex()}"
        return RetainedIO(
            self._get(f"/v1/receipts/{rid}/input").content,
            self._get(f"/v1/receipts/{rid}/output").content,
        )

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
    ) -> Receipt:
        """Check an answer's receipt offline; raise :class:`ReceiptInvalid` with the reason."""
        return verify_answer(answer, request, domain=domain)

    def verify_online(
        self,
        receipt: Receipt,
        chain: str | tuple[Callable[[str, int], bytes | None], Callable[[str], bool]],
        *,
        wait_s: float = 0.0,
    ) -> None:
        """Check the receipt's inclusion in the root anchored onchain and the node's stake.

        ``chain`` is the JSON-RPC URL of the chain the caller trusts, or the
        ``(root_of, is_staked)`` checks already read from it.
        """
        root_of, is_staked = _onchain_checks(chain, receipt) if isinstance(chain, str) else chain
        _verify_online(receipt, self.proof(receipt.request_id, wait_s=wait_s), root_of, is_staked)

    # -- HTTP -------------------------------------------------------------------------

    def _get(self, path: str) -> httpx.Response:
        return self._call("GET", path, None)

    def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        resp = self._call(method, path, body)
        try:
            out = resp.json()
        except ValueError:
            raise ClientError(
                f"{self.url}{path} answered with non-JSON", resp.status_code
            ) from None
        if not isinstance(out, dict):
            raise ClientError(f"{self.url}{path} answered a JSON {type(out).__name__}")
        return out

    def _call(self, method: str, path: str, body: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, self.url + path, json=body)
        except httpx.HTTPError as exc:
            raise ClientError(f"gateway unreachable at {self.url}: {exc}") from None
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
) -> Receipt:
    """Check an answer's receipt offline: signature, output hash, input hash (if the request
    is known), and network (if ``domain`` is given)."""
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
        expected_domain=domain,
    )
    return receipt


def _onchain_checks(
    rpc: str, receipt: Receipt
) -> tuple[Callable[[str, int], bytes | None], Callable[[str], bool]]:
    from cairn.chain import OnchainView

    return OnchainView(rpc, receipt).checks()


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail if detail is not None else json.dumps(body)[:200])
