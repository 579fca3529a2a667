"""A batch-settlement channel on the wire and on disk: payloads parsed, vouchers kept.

Spec: x402 ``specs/schemes/batch-settlement/scheme_batch_settlement_evm.md``,
"Payment payloads", as the official SDK's client sends them (x402 2.25,
``batch_settlement/types.py``). Every payload names its channel by
``channelConfig`` and carries a cumulative ``voucher {channelId,
maxClaimableAmount, signature}``; ``type`` says what else comes:

- ``deposit``: ``deposit {amount, authorization {erc3009Authorization
  {validAfter, validBefore, salt, signature}}}``, the payer's EIP-3009
  ``ReceiveWithAuthorization`` to the deposit collector (a Permit2 authorization
  is refused: cairn's token is EIP-3009);
- ``voucher``: nothing else;
- ``refund``: an optional ``amount`` (absent: everything not yet claimed).

Parsing is where an attacker reaches the scheme first: every field is checked
for type and range and a bad one is :class:`~cairn.errors.PaymentInvalid` with
one line naming it, never a ``KeyError``.

:class:`SqliteVoucherStore` keeps, per channel, what the node charged and the
highest voucher that covers it. Those vouchers are the node's money until they
are claimed, so a record is durable before the answer it pays for leaves
(group commit: :mod:`cairn._journal`), as durable as the receipt it pays for: it
survives the process being killed. On a node the store writes through the receipt
store's journal, so that a paid call's voucher and its receipt share one write, to
that journal's spool, moved into SQLite off the request path
(:meth:`VoucherStore.stage`).
:class:`MemoryVoucherStore` is its in-memory twin for tests. Amounts are
uint128, beyond SQLite's integers, so they are stored as decimal text.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from cairn._journal import Journal
from cairn.chain.batch import MAX_WITHDRAW_DELAY, ChannelConfig
from cairn.errors import CairnError, PaymentInvalid
from cairn.identity import checksum_address

__all__ = [
    "ChannelPayload",
    "ChannelRecord",
    "DepositAuthorization",
    "MemoryVoucherStore",
    "SqliteVoucherStore",
    "Voucher",
    "VoucherStore",
    "nothing_to_wait",
    "parse_payload",
]

Kind = Literal["deposit", "voucher", "refund"]
_UINT128 = 1 << 128


@dataclass(frozen=True)
class Voucher:
    """A cumulative ceiling, signed by the payer (or its payerAuthorizer)."""

    channel_id: bytes
    max_claimable: int
    signature: bytes


@dataclass(frozen=True)
class DepositAuthorization:
    """An EIP-3009 ``ReceiveWithAuthorization`` of ``amount`` to the deposit collector."""

    amount: int
    valid_after: int
    valid_before: int
    salt: bytes
    signature: bytes


@dataclass(frozen=True)
class ChannelPayload:
    """One ``PaymentPayload.payload`` of scheme ``batch-settlement``."""

    kind: Kind
    config: ChannelConfig
    voucher: Voucher
    deposit: DepositAuthorization | None = None
    refund_amount: int | None = None


def _object(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise PaymentInvalid(f"{where}{key} must be an object")
    return value


def _uint(obj: Mapping[str, Any], key: str, where: str, bound: int = _UINT128) -> int:
    value = obj.get(key)
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isdigit() or len(text) > 78 or int(text) >= bound:
        raise PaymentInvalid(
            f"{where}{key} must be a decimal integer below 2**{bound.bit_length() - 1}"
        )
    return int(text)


def _hex(obj: Mapping[str, Any], key: str, where: str, size: int | None) -> bytes:
    value = obj.get(key)
    try:
        if not isinstance(value, str) or not value.startswith("0x") or len(value) > 1024:
            raise ValueError
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise PaymentInvalid(f"{where}{key} must be 0x-prefixed hex") from None
    if size is not None and len(raw) != size:
        raise PaymentInvalid(f"{where}{key} must be {size} bytes, got {len(raw)}")
    return raw


def _address(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    try:
        if not isinstance(value, str):
            raise ValueError
        return checksum_address(value)
    except (ValueError, CairnError):
        raise PaymentInvalid(f"{where}{key} is not an address") from None


_CONFIG = ("payer", "payerAuthorizer", "receiver", "receiverAuthorizer", "token")
_CONFIG_FIELDS = (*_CONFIG, "withdrawDelay", "salt")


def _config(obj: Mapping[str, Any]) -> ChannelConfig:
    raw = tuple(obj.get(k) for k in _CONFIG_FIELDS)
    try:  # keyed with the types too, since True == 1 and 900.0 == 900 as keys
        return _config_of(raw, tuple(type(v) for v in raw))
    except TypeError:  # an unhashable field (a list, an object): the parser names it
        return _parse_config(obj)


@functools.lru_cache(maxsize=4096)
def _config_of(raw: tuple[Any, ...], _types: tuple[type, ...]) -> ChannelConfig:
    """A channel's config parsed once: its EIP-55 checks are most of a voucher's parsing
    time, and a channel sends the same config with every call (a refusal is not kept)."""
    return _parse_config(dict(zip(_CONFIG_FIELDS, raw, strict=True)))


def _parse_config(obj: Mapping[str, Any]) -> ChannelConfig:
    where = "channelConfig."
    delay = obj.get("withdrawDelay")
    if (
        isinstance(delay, bool)
        or not isinstance(delay, int)
        or not 0 <= delay <= MAX_WITHDRAW_DELAY
    ):
        raise PaymentInvalid(f"{where}withdrawDelay must be an integer of seconds")
    return ChannelConfig(
        payer=_address(obj, "payer", where),
        payer_authorizer=_address(obj, "payerAuthorizer", where),
        receiver=_address(obj, "receiver", where),
        receiver_authorizer=_address(obj, "receiverAuthorizer", where),
        token=_address(obj, "token", where),
        withdraw_delay=delay,
        salt=_hex(obj, "salt", where, 32),
    )


def _voucher(obj: Mapping[str, Any]) -> Voucher:
    return Voucher(
        channel_id=_hex(obj, "channelId", "voucher.", 32),
        max_claimable=_uint(obj, "maxClaimableAmount", "voucher."),
        signature=_hex(obj, "signature", "voucher.", None),
    )


def _deposit(obj: Mapping[str, Any]) -> DepositAuthorization:
    authorization = _object(obj, "authorization", "deposit.")
    if "erc3009Authorization" not in authorization:
        raise PaymentInvalid(
            "deposit.authorization must be an erc3009Authorization "
            "(assetTransferMethod eip3009; Permit2 deposits are not accepted here)"
        )
    auth = _object(authorization, "erc3009Authorization", "deposit.authorization.")
    where = "deposit.authorization.erc3009Authorization."
    amount = _uint(obj, "amount", "deposit.")
    if amount == 0:
        raise PaymentInvalid("deposit.amount must be more than 0")
    return DepositAuthorization(
        amount=amount,
        valid_after=_uint(auth, "validAfter", where, 1 << 256),
        valid_before=_uint(auth, "validBefore", where, 1 << 256),
        salt=_hex(auth, "salt", where, 32),
        signature=_hex(auth, "signature", where, None),
    )


def parse_payload(payload: Mapping[str, Any]) -> ChannelPayload:
    """The channel payload in ``payload``, or :class:`PaymentInvalid` naming the bad field."""
    kind = payload.get("type")
    if kind not in ("deposit", "voucher", "refund"):
        raise PaymentInvalid(
            f"payload.type {str(kind)[:32]!r} is not deposit, voucher or refund (batch-settlement)"
        )
    config = _config(_object(payload, "channelConfig", "payload."))
    voucher = _voucher(_object(payload, "voucher", "payload."))
    if kind == "deposit":
        deposit = _deposit(_object(payload, "deposit", "payload."))
        return ChannelPayload(kind, config, voucher, deposit=deposit)
    refund = None
    if kind == "refund" and payload.get("amount") is not None:
        refund = _uint(payload, "amount", "payload.")
        if refund == 0:
            raise PaymentInvalid("payload.amount of a refund must be more than 0")
    return ChannelPayload(kind, config, voucher, refund_amount=refund)


# -- the store ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRecord:
    """What the node knows of one channel.

    ``charged`` is what the node served against it, cumulatively; ``voucher_max``
    and ``signature`` the highest voucher it received (at least ``charged``), the
    one it claims with. ``balance`` (deposits minus refunds and withdrawals),
    ``claimed`` (onchain ``totalClaimed``), ``refund_nonce`` and
    ``withdraw_requested_at`` are the chain's, as last read or changed by the node.
    """

    channel_id: bytes
    config: ChannelConfig
    balance: int
    charged: int
    voucher_max: int
    signature: bytes
    claimed: int = 0
    refund_nonce: int = 0
    withdraw_requested_at: int = 0

    def to_row(self) -> tuple[Any, ...]:
        return (
            self.channel_id,
            _config_text(self.config),
            str(self.balance),
            str(self.charged),
            str(self.voucher_max),
            self.signature,
            str(self.claimed),
            str(self.refund_nonce),
            self.withdraw_requested_at,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ChannelRecord:
        message = json.loads(row[1])
        config = ChannelConfig(
            payer=message["payer"],
            payer_authorizer=message["payerAuthorizer"],
            receiver=message["receiver"],
            receiver_authorizer=message["receiverAuthorizer"],
            token=message["token"],
            withdraw_delay=int(message["withdrawDelay"]),
            salt=bytes.fromhex(message["salt"][2:]),
        )
        return cls(
            bytes(row[0]),
            config,
            int(row[2]),
            int(row[3]),
            int(row[4]),
            bytes(row[5]),
            int(row[6]),
            int(row[7]),
            int(row[8]),
        )


@functools.lru_cache(maxsize=4096)
def _config_text(config: ChannelConfig) -> str:
    """A channel's config as stored (it is written again with each of its calls)."""
    return json.dumps({**config.message(), "salt": "0x" + config.salt.hex()})


class VoucherStore(Protocol):
    """Durable channel records: :meth:`put` returns once they are on disk; :meth:`stage`
    queues them and returns what to call to wait until they are (so that other writes
    can share their commit)."""

    def load(self) -> dict[bytes, ChannelRecord]: ...

    def put(self, records: Sequence[ChannelRecord]) -> None: ...

    def stage(self, records: Sequence[ChannelRecord]) -> Callable[[], None]: ...

    def close(self) -> None: ...


def nothing_to_wait() -> None:
    """What :meth:`VoucherStore.stage` returns when nothing is left to wait for."""


class MemoryVoucherStore:
    """A :class:`VoucherStore` that forgets everything with the process (tests only)."""

    def __init__(self) -> None:
        self._records: dict[bytes, ChannelRecord] = {}

    def load(self) -> dict[bytes, ChannelRecord]:
        return dict(self._records)

    def put(self, records: Sequence[ChannelRecord]) -> None:
        self._records.update((r.channel_id, r) for r in records)

    def stage(self, records: Sequence[ChannelRecord]) -> Callable[[], None]:
        self.put(records)
        return nothing_to_wait

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    channel_id BLOB PRIMARY KEY, config TEXT NOT NULL, balance TEXT NOT NULL,
    charged TEXT NOT NULL, voucher_max TEXT NOT NULL, signature BLOB NOT NULL,
    claimed TEXT NOT NULL, refund_nonce TEXT NOT NULL, withdraw_requested_at INTEGER NOT NULL);
"""


class SqliteVoucherStore:
    """Channel records in SQLite at ``path``, written through a
    :class:`~cairn._journal.Journal` (group commit: concurrent paid calls share one
    commit, no call returns before its record is on disk, and a failed commit fails
    every call it carried). WAL with ``synchronous=NORMAL``, the receipt store's
    durability: a committed voucher survives the process being killed; only a power
    loss can take the last commits, which an fsync per commit (``FULL``) would cover
    at the price of one disk flush per paid call.

    ``journal``: write through that journal (the node's receipt store's, tended: its
    spool), with ``path`` attached to it, so that a voucher and the receipt of the
    call it pays for are written together; by default the store has a journal of
    its own.
    """

    def __init__(self, path: Path, journal: Journal | None = None) -> None:
        self._own = journal is None
        if journal is None:
            journal, table = Journal(path), "channels"
        else:
            journal.attach(path, "vouchers")
            table = "vouchers.channels"
        self.journal = journal
        self._table = table
        self._insert = f"INSERT OR REPLACE INTO {table} VALUES (?,?,?,?,?,?,?,?,?)"
        with journal.lock:
            journal.db.executescript(_SCHEMA.format(table=table))

    def load(self) -> dict[bytes, ChannelRecord]:
        with self.journal.lock:
            self.journal.drain_locked()
            rows = self.journal.db.execute(f"SELECT * FROM {self._table}").fetchall()
        return {bytes(r[0]): ChannelRecord.from_row(r) for r in rows}

    def put(self, records: Sequence[ChannelRecord]) -> None:
        self.stage(records)()

    def stage(self, records: Sequence[ChannelRecord]) -> Callable[[], None]:
        if not records:
            return nothing_to_wait
        entry = self.journal.queue(self._insert, [r.to_row() for r in records])
        return lambda: self.journal.wait(entry)

    def close(self) -> None:
        """Commit what is queued; close the journal if it is the store's own."""
        if self._own:
            self.journal.close()
        else:
            self.journal.drain()
