"""x402 scheme ``exact`` on EVM: one EIP-3009 ``transferWithAuthorization`` per call.

Spec: x402 ``specs/schemes/exact/scheme_exact_evm.md`` (payload
``{"authorization": {from, to, value, validAfter, validBefore, nonce}, "signature"}``,
``extra: {name, version}`` naming the token's EIP-712 domain) and EIP-3009
(``TransferWithAuthorization``). The node is its own facilitator: it checks the
authorization locally (signature recovery, microseconds), reads the token once
for the nonce and the balance, and after the work submits the transfer itself,
paying the gas; the answer leaves only once the transfer is mined.

What is refused, each with one line and before any work: a recipient, amount,
token or chain other than offered (the last two show as a signature that does
not recover to ``from``, since the EIP-712 domain binds them); a window not yet
open or about to close (:data:`SETTLE_MARGIN_S`); an authorization already used,
in flight, or cancelled; a balance too small; a signature that is not 65 bytes
(a smart-contract wallet's EIP-1271 signature: CairnUSD takes ``v, r, s`` only).
Two requests carrying one authorization race for one reservation: exactly one is
admitted, so nothing is served twice for one payment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cairn.chain.token import Token, TokenDomain, authorization_digest
from cairn.errors import CairnError, PaymentInvalid
from cairn.identity import Signer, checksum_address, recover_hash
from cairn.payments.base import Admitted
from cairn.payments.x402 import Payment, Requirement, Settled

__all__ = ["SETTLE_MARGIN_S", "Authorization", "ExactScheme"]

#: an authorization must stay valid this long after admission, to be mined in time
SETTLE_MARGIN_S = 10


@dataclass(frozen=True)
class Authorization:
    """An EIP-3009 transfer authorization and its signature, as x402 sends them."""

    from_: str
    to: str
    value: int
    valid_after: int
    valid_before: int
    nonce: bytes
    signature: bytes

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Authorization:
        auth = payload.get("authorization")
        if not isinstance(auth, dict):
            raise PaymentInvalid("exact payload needs an authorization object")
        return cls(
            from_=_address(auth, "from"),
            to=_address(auth, "to"),
            value=_uint(auth, "value"),
            valid_after=_uint(auth, "validAfter"),
            valid_before=_uint(auth, "validBefore"),
            nonce=_hex(auth, "nonce", 32),
            signature=_hex(payload, "signature", None),
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "authorization": {
                "from": self.from_,
                "to": self.to,
                "value": str(self.value),
                "validAfter": str(self.valid_after),
                "validBefore": str(self.valid_before),
                "nonce": "0x" + self.nonce.hex(),
            },
            "signature": "0x" + self.signature.hex(),
        }

    def digest(self, domain: TokenDomain) -> bytes:
        return authorization_digest(
            domain,
            from_=self.from_,
            to=self.to,
            value=self.value,
            valid_after=self.valid_after,
            valid_before=self.valid_before,
            nonce=self.nonce,
        )


def _address(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    try:
        if not isinstance(value, str):
            raise ValueError
        return checksum_address(value)
    except (ValueError, CairnError):
        raise PaymentInvalid(f"authorization.{key} is not an address") from None


def _uint(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isdigit() or len(text) > 78 or int(text) >= 1 << 256:
        raise PaymentInvalid(f"authorization.{key} must be a decimal integer")
    return int(text)


def _hex(obj: Mapping[str, Any], key: str, size: int | None) -> bytes:
    value = obj.get(key)
    try:
        if not isinstance(value, str) or len(value) > 1024:
            raise ValueError
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise PaymentInvalid(f"{key} must be 0x-prefixed hex") from None
    if size is not None and len(raw) != size:
        raise PaymentInvalid(f"{key} must be {size} bytes, got {len(raw)}")
    return raw


class ExactScheme:
    """``exact`` for one token, paying ``pay_to``; ``submitter`` sends the transfers.

    ``chain_lock`` serializes this scheme's chain calls with the node's others.
    """

    name = "exact"

    def __init__(
        self,
        token: Token,
        domain: TokenDomain,
        pay_to: str,
        submitter: Signer,
        chain_lock: threading.Lock,
        *,
        max_timeout_s: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.domain = domain
        self.pay_to = checksum_address(pay_to)
        self.submitter = submitter
        self.chain_lock = chain_lock
        self.max_timeout_s = max_timeout_s
        self.clock = clock
        self.network = f"eip155:{domain.chain_id}"
        self._lock = threading.Lock()
        self._taken: dict[tuple[str, bytes], int] = {}  # in flight or spent -> validBefore

    def requirement(self, price: int) -> Requirement:
        return Requirement(
            scheme=self.name,
            network=self.network,
            asset=self.token.address,
            amount=price,
            pay_to=self.pay_to,
            max_timeout_s=self.max_timeout_s,
            extra={"name": self.domain.name, "version": self.domain.version},
        )

    def admit(self, payment: Payment, offered: Requirement) -> Admitted:
        auth = Authorization.from_payload(payment.payload)
        if auth.to != self.pay_to:
            raise PaymentInvalid(
                f"wrong recipient: the authorization pays {auth.to}, not {self.pay_to}"
            )
        if auth.value != offered.amount:
            raise PaymentInvalid(
                f"authorization of {auth.value} for a call that costs exactly {offered.amount}"
            )
        now = int(self.clock())
        if auth.valid_after > now:
            raise PaymentInvalid(f"authorization not valid until {auth.valid_after} (now {now})")
        if auth.valid_before <= now + SETTLE_MARGIN_S:
            raise PaymentInvalid(
                f"authorization expired or expiring (validBefore {auth.valid_before}, now {now})"
            )
        if len(auth.signature) != 65:
            raise PaymentInvalid(
                f"signature of {len(auth.signature)} bytes: exact takes a 65-byte EOA signature "
                "(smart-contract wallet signatures, EIP-1271, are not accepted by this token)"
            )
        try:
            signer = recover_hash(auth.digest(self.domain), auth.signature)
        except CairnError as exc:
            raise PaymentInvalid(f"signature does not recover: {exc}") from None
        if signer != auth.from_:
            raise PaymentInvalid(
                f"signature is by {signer}, not {auth.from_} (or signed for another chain or token)"
            )
        key = (auth.from_, auth.nonce)
        with self._lock:
            self._prune(now)
            if key in self._taken:
                raise PaymentInvalid("authorization already used (replay)")
            self._taken[key] = auth.valid_before
        try:
            with self.chain_lock:
                used = self.token.authorization_state(auth.from_, auth.nonce)
                balance = 0 if used else self.token.balance_of(auth.from_)
        except BaseException:
            self._give_back(key)
            raise
        if used:
            raise PaymentInvalid("authorization already used or cancelled onchain (replay)")
        if balance < auth.value:
            self._give_back(key)
            raise PaymentInvalid(
                f"{auth.from_} holds {balance}, less than the {auth.value} authorized"
            )
        return Admitted(self.name, auth.from_, auth.value, offered, auth)

    def settle(self, admitted: Admitted, then: Callable[[], object] | None = None) -> Settled:
        auth: Authorization = admitted.state
        try:
            with self.chain_lock:
                tx = self.token.transfer_with_authorization(
                    self.submitter,
                    from_=auth.from_,
                    to=auth.to,
                    value=auth.value,
                    valid_after=auth.valid_after,
                    valid_before=auth.valid_before,
                    nonce=auth.nonce,
                    signature=auth.signature,
                )
        except CairnError as exc:
            raise PaymentInvalid(f"settlement failed: {exc}") from None
        if then is not None:  # the transfer is mined: nothing of ours left to record
            then()
        return Settled(True, tx.hash, self.network, auth.from_, auth.value)

    def release(self, admitted: Admitted) -> None:
        auth: Authorization = admitted.state
        self._give_back((auth.from_, auth.nonce))

    def _give_back(self, key: tuple[str, bytes]) -> None:
        with self._lock:
            self._taken.pop(key, None)

    def _prune(self, now: int) -> None:
        """Forget authorizations past their window: the token refuses them anyway."""
        if len(self._taken) > 4096:
            for key in [k for k, before in self._taken.items() if before <= now]:
                del self._taken[key]
