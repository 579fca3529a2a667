"""A signer whose key stays in a wallet: EIP-1193 requests over JSON-RPC.

Why: WalletConnect-style flows, browser wallets, hardware wallets and KMS
services share one shape -- the key lives in the wallet, and the application
asks it to sign what it shows (EIP-1193 ``request``; the methods are EIP-1474's
and EIP-712's). Cairn speaks that shape to any wallet reachable at an HTTP URL
(``--signer http://...``; Anvil answers it for its development accounts):

* ``personal_sign``        -- EIP-191 messages (manifests, SIWE);
* ``eth_signTypedData_v4`` -- EIP-712 structs (receipts, vouchers, EIP-3009);
* ``eth_signTransaction``  -- transactions, which cairn then sends itself.

A wallet never signs a bare digest (no EIP-1193 method does, by design), so
:meth:`ExternalSigner.sign_hash` refuses; the signing functions of
:mod:`cairn.identity` and :func:`cairn.chain._tx.sign_transaction` route a
:class:`~cairn.identity.base.WalletSigner` to these methods instead. Nothing a
wallet returns is trusted: a signature must recover to the wallet's address over
the digest cairn computed itself, a transaction must carry exactly the fields
cairn asked for, or it is refused with one line and nothing is sent.

EIP-1193 error codes (section "Provider Errors"): 4001 the user rejected the
request, 4100 the account is not authorized, 4200 the method is not supported.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from cairn.errors import SignatureError
from cairn.identity.base import Signature
from cairn.identity.eip191 import personal_message_hash
from cairn.identity.eip712 import typed_data_digest
from cairn.identity.keys import checksum_address, recover_hash

__all__ = ["ExternalSigner"]

_REFUSALS = {
    4001: "refused the request",
    4100: "has not authorized this account",
    4200: "does not support",
}


class ExternalSigner:
    """A :class:`~cairn.identity.base.WalletSigner` that asks a wallet at ``url``.

    ``address`` picks one of the wallet's accounts (``eth_accounts``); by default
    its first. The wallet is asked for its accounts once, here.
    """

    def __init__(self, url: str, address: str | None = None, *, timeout: float = 60.0) -> None:
        import httpx  # only when a wallet is used

        self.url = url
        self._ids = itertools.count(1)
        self._http = httpx.Client(timeout=timeout)
        accounts = self._request("eth_accounts", [])
        if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
            raise SignatureError(f"the wallet at {url} answered eth_accounts with {accounts!r}")
        known = [checksum_address(a) for a in accounts]
        if not known:
            raise SignatureError(f"the wallet at {url} has no accounts to sign with")
        if address is None:
            self._address = known[0]
        elif checksum_address(address) in known:
            self._address = checksum_address(address)
        else:
            raise SignatureError(f"the wallet at {url} does not hold {address}")

    @classmethod
    def at(cls, spec: str) -> ExternalSigner:
        """The wallet ``spec`` names: ``http(s)://HOST[:PORT][/PATH]``, optionally with
        ``#0xADDRESS`` to pick an account other than its first (``--signer``)."""
        from urllib.parse import urlsplit

        url, _, account = spec.partition("#")
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            _ = parts.port
        except ValueError:
            ok = False
        if not ok:
            raise SignatureError(f"a signer is an http(s) URL of a wallet, not {spec!r}")
        return cls(url, account or None)

    @property
    def address(self) -> str:
        return self._address

    def __repr__(self) -> str:
        return f"ExternalSigner({self.url!r}, {self._address})"

    def close(self) -> None:
        self._http.close()

    def sign_hash(self, digest: bytes) -> Signature:
        raise SignatureError(
            f"the wallet at {self.url} signs messages, typed data and transactions, "
            "never a bare digest"
        )

    def sign_personal_message(self, message: bytes) -> Signature:
        """``personal_sign``, checked against the EIP-191 digest computed here."""
        raw = self._request("personal_sign", ["0x" + bytes(message).hex(), self._address])
        return self._checked(raw, personal_message_hash(message), "personal_sign")

    def sign_typed_data(self, typed_data: Mapping[str, Any]) -> Signature:
        """``eth_signTypedData_v4``, checked against the EIP-712 digest computed here."""
        digest = typed_data_digest(typed_data)
        raw = self._request("eth_signTypedData_v4", [self._address, _jsonable(typed_data)])
        return self._checked(raw, digest, "eth_signTypedData_v4")

    def sign_transaction(self, tx: Mapping[str, Any]) -> bytes:
        """``eth_signTransaction``: the raw signed transaction, as the wallet returned it.

        The caller checks it carries what it asked for (cairn.chain._tx does).
        """
        request = {"from": self._address, **{k: _quantity(v) for k, v in tx.items()}}
        raw = self._request("eth_signTransaction", [request])
        if not isinstance(raw, str) or not raw.startswith("0x"):
            raise SignatureError(f"the wallet at {self.url} returned {raw!r}, not a transaction")
        try:
            return bytes.fromhex(raw[2:])
        except ValueError:
            raise SignatureError(
                f"the wallet at {self.url} returned a transaction that is not hex"
            ) from None

    def _checked(self, raw: Any, digest: bytes, method: str) -> Signature:
        if not isinstance(raw, str):
            raise SignatureError(f"the wallet at {self.url} answered {method} with {raw!r}")
        try:
            sig = Signature.from_hex(raw)
        except SignatureError as exc:
            raise SignatureError(
                f"the wallet at {self.url} returned a malformed signature: {exc}"
            ) from None
        if not sig.is_canonical:
            raise SignatureError(f"the wallet at {self.url} returned a high-s signature")
        signer = recover_hash(digest, sig)
        if signer != self._address:
            raise SignatureError(
                f"the wallet at {self.url} returned a signature by {signer}, not by {self._address}"
            )
        return sig

    def _request(self, method: str, params: list[Any]) -> Any:
        import httpx

        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = self._http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise SignatureError(f"cannot reach the wallet at {self.url}: {exc}") from None
        try:
            answer = response.json()
        except json.JSONDecodeError:
            raise SignatureError(
                f"the wallet at {self.url} answered {method} with HTTP {response.status_code}, "
                "not JSON-RPC"
            ) from None
        if not isinstance(answer, dict):
            raise SignatureError(f"the wallet at {self.url} answered {method} with {answer!r}")
        error = answer.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            text = error.get("message") if isinstance(error, dict) else str(error)
            what = _REFUSALS.get(code, "refused") if isinstance(code, int) else "refused"
            raise SignatureError(f"the wallet at {self.url} {what} {method}: {text}")
        if "result" not in answer:
            raise SignatureError(f"the wallet at {self.url} answered {method} without a result")
        return answer["result"]


def _jsonable(value: Any) -> Any:
    """Typed data as JSON for the wallet: bytes as 0x-hex, integers as decimal strings."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _quantity(value: Any) -> Any:
    """A transaction field in JSON-RPC form: integers as 0x quantities, bytes as 0x-hex."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_quantity(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _quantity(v) for k, v in value.items()}
    return value
