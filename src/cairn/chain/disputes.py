"""Disputes: challenge an anchored receipt, vote in a committee, slash the loser.

The contract (``contracts/Disputes.vy``) is the only slasher Staking accepts. It
checks the evidence itself — the receipt's EIP-712 digest under the
ReceiptAnchor domain, the node's signature (ecrecover), the inclusion proof
against the anchored root — draws a committee of staked validators from the
hash of the block that mined the dispute, and settles by commit-reveal
majority. This module is its typed client; what to challenge and how to vote
is decided in :mod:`cairn.verification`.

The evidence *is* a :class:`cairn.receipts.Receipt` (plus its batch and
inclusion proof): :func:`_onchain` turns a receipt into the contract's
``Receipt`` struct, and a ``DisputeOpened`` event turns back into a
:class:`~cairn.receipts.Receipt` under the network's domain — one mapping, here.

A juror's sealed vote is ``keccak256(abi.encode(id, juror, guilty, salt))``
(:func:`commitment`): binding the juror's address means a vote cannot be copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak
from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.content import Cid
from cairn.errors import ReceiptInvalid
from cairn.identity import Signer
from cairn.receipts import Receipt, ReceiptDomain

BURN = "0x000000000000000000000000000000000000dEaD"

__all__ = [
    "BURN",
    "DisputeInfo",
    "DisputeKind",
    "DisputeParams",
    "Disputes",
    "Evidence",
    "OpenedDispute",
    "Outcome",
    "commitment",
]

ETHER = 10**18


class DisputeKind(IntEnum):
    WRONG_OUTPUT = 1  # re-execution disagrees with the signed output under the model's policy
    NO_INPUT = 2  # the node refused, or lost, the retained input


class Outcome(IntEnum):
    OPEN = 1
    GUILTY = 2  # node slashed and jailed, challenger rewarded, bond returned
    CLEARED = 3  # bond burned
    VOID = 4  # the committee did not reach a quorum of reveals; bond returned


@dataclass(frozen=True)
class DisputeParams:
    """Constructor settings of the Disputes contract (network parameters).

    ``audit_rate_ppm`` is the sampling rate p in parts per million; a node's first
    ``full_audit_receipts`` receipts are audited at 100%.

    >>> DisputeParams().audit_rate_ppm / 1e6
    0.05
    """

    challenge_bond: int = ETHER // 100
    slash_bps: int = 5000
    reward_bps: int = 5000
    jail_period: int = 7 * 24 * 3600
    committee_size: int = 5
    commit_window: int = 3600
    reveal_window: int = 3600
    juror_penalty: int = ETHER // 100
    audit_rate_ppm: int = 50_000
    full_audit_receipts: int = 100

    def args(self) -> tuple[int, ...]:
        return (
            self.challenge_bond,
            self.slash_bps,
            self.reward_bps,
            self.jail_period,
            self.committee_size,
            self.commit_window,
            self.reveal_window,
            self.juror_penalty,
            self.audit_rate_ppm,
            self.full_audit_receipts,
        )


def _onchain(receipt: Receipt) -> tuple[Any, ...]:
    """The contract's ``Receipt`` struct: the model as its binary CID, the node checksummed."""
    return (
        bytes(Cid.parse(receipt.model)),
        receipt.input_hash,
        receipt.output_hash,
        Web3.to_checksum_address(receipt.node),
        receipt.request_id,
        receipt.issued_at,
        receipt.runtime,
        receipt.price,
    )


@dataclass(frozen=True)
class Evidence:
    """A signed receipt, the batch it was anchored in and its inclusion proof."""

    receipt: Receipt
    batch_id: int
    proof: tuple[bytes, ...]

    @property
    def signature(self) -> bytes:
        """The node's signature, 65 bytes ``r || s || v``."""
        if self.receipt.signature is None:
            raise ReceiptInvalid("evidence needs a signed receipt")
        return self.receipt.signature.to_bytes()


@dataclass(frozen=True)
class DisputeInfo:
    id: int
    node: str
    challenger: str
    digest: bytes
    kind: DisputeKind
    status: Outcome
    bond: int
    opened_block: int
    commit_deadline: int  # 0 until the committee is drawn
    reveal_deadline: int
    committee: tuple[str, ...]
    guilty: int
    innocent: int


@dataclass(frozen=True)
class OpenedDispute:
    """A ``DisputeOpened`` event: the dispute and the receipt it is about."""

    id: int
    node: str
    challenger: str
    kind: DisputeKind
    batch_id: int
    digest: bytes
    challenger_output: bytes
    bond: int
    receipt: Receipt  # as the event carries it: unsigned (the contract checked the signature)
    block_number: int


def commitment(dispute_id: int, juror: str, guilty: bool, salt: bytes) -> bytes:
    """The sealed vote ``keccak256(abi.encode(id, juror, guilty, salt))``."""
    data = encode(
        ["uint256", "address", "bool", "bytes32"],
        [dispute_id, Web3.to_checksum_address(juror), guilty, salt],
    )
    return bytes(keccak(data))


class Disputes(ContractWrapper):
    """Typed calls of the Disputes contract."""

    name = "Disputes"

    def join(self, signer: Signer) -> Tx[None]:
        """Enter the juror pool (the signer must be a staked validator)."""
        return tx_of(self._send(signer, "join"), None)

    def open(
        self,
        signer: Signer,
        evidence: Evidence,
        challenger_output: bytes,
        kind: DisputeKind,
        bond: int | None = None,
    ) -> Tx[int]:
        """Challenge a receipt with its evidence and the bond; ``value`` is the dispute id."""
        bond = self.params().challenge_bond if bond is None else bond
        receipt = self._send(
            signer,
            "open",
            _onchain(evidence.receipt),
            evidence.signature,
            evidence.batch_id,
            list(evidence.proof),
            challenger_output,
            int(kind),
            value=bond,
        )
        return tx_of(receipt, int(self._event(receipt, "DisputeOpened")["id"]))

    def draw(self, signer: Signer, dispute_id: int) -> Tx[None]:
        return tx_of(self._send(signer, "draw", dispute_id), None)

    def commit(self, signer: Signer, dispute_id: int, sealed: bytes) -> Tx[None]:
        return tx_of(self._send(signer, "commit", dispute_id, sealed), None)

    def reveal(self, signer: Signer, dispute_id: int, guilty: bool, salt: bytes) -> Tx[None]:
        return tx_of(self._send(signer, "reveal", dispute_id, guilty, salt), None)

    def resolve(self, signer: Signer, dispute_id: int) -> Tx[Outcome]:
        receipt = self._send(signer, "resolve", dispute_id)
        return tx_of(receipt, Outcome(self._event(receipt, "Resolved")["outcome"]))

    # -- reads ----------------------------------------------------------------

    def dispute(self, dispute_id: int) -> DisputeInfo:
        d = self._call("dispute", dispute_id)
        return DisputeInfo(
            dispute_id,
            d[0],
            d[1],
            bytes(d[2]),
            DisputeKind(d[3]) if d[3] else DisputeKind.WRONG_OUTPUT,
            Outcome(d[4]) if d[4] else Outcome.OPEN,
            int(d[5]),
            int(d[6]),
            int(d[7]),
            int(d[8]),
            tuple(d[9]),
            int(d[10]),
            int(d[11]),
        )

    def count(self) -> int:
        return int(self._call("disputeCount"))

    def pool(self) -> list[str]:
        return [str(self._call("pool", i)) for i in range(int(self._call("poolSize")))]

    def in_pool(self, address: str) -> bool:
        return bool(self._call("inPool", Web3.to_checksum_address(address)))

    def vote_of(self, dispute_id: int, juror: str) -> int:
        """0 not revealed, 1 guilty, 2 innocent."""
        return int(self._call("voteOf", dispute_id, Web3.to_checksum_address(juror)))

    def commitment_of(self, dispute_id: int, juror: str) -> bytes | None:
        found = bytes(self._call("commitOf", dispute_id, Web3.to_checksum_address(juror)))
        return None if found == b"\0" * 32 else found

    def is_jailed(self, node: str) -> bool:
        return bool(self._call("isJailed", Web3.to_checksum_address(node)))

    def jailed_until(self, node: str) -> int:
        return int(self._call("jailedUntil", Web3.to_checksum_address(node)))

    def verdict_of(self, digest: bytes) -> Outcome | None:
        found = int(self._call("verdictOf", digest))
        return Outcome(found) if found else None

    def active_dispute(self, digest: bytes) -> int | None:
        return int(self._call("activeDispute", digest)) or None

    def receipt_digest(self, receipt: Receipt) -> bytes:
        """The digest the contract computes for a receipt (EIP-712, this network)."""
        return bytes(self._call("receiptDigest", _onchain(receipt)))

    @cached_property
    def receipt_domain(self) -> ReceiptDomain:
        """The EIP-712 domain of this network's receipts (chain id, ReceiptAnchor)."""
        chain_id = int(self._read("chain id", lambda: self._w3.eth.chain_id))
        return ReceiptDomain(chain_id, Web3.to_checksum_address(self._call("anchor")))

    def params(self) -> DisputeParams:
        names = (
            "challengeBond",
            "slashBps",
            "rewardBps",
            "jailPeriod",
            "committeeSize",
            "commitWindow",
            "revealWindow",
            "jurorPenalty",
            "auditRatePpm",
            "fullAuditReceipts",
        )
        return DisputeParams(*(int(self._call(n)) for n in names))

    # -- events -----------------------------------------------------------------

    def _opened(self, log: Any) -> OpenedDispute:
        a, r = log["args"], log["args"]["receipt"]
        receipt = Receipt(
            str(Cid.parse(bytes(r["model"]))),
            bytes(r["inputHash"]),
            bytes(r["outputHash"]),
            Web3.to_checksum_address(r["node"]),
            bytes(r["requestId"]),
            int(r["issuedAt"]),
            str(r["runtime"]),
            int(r["price"]),
            self.receipt_domain,
        )
        return OpenedDispute(
            int(a["id"]),
            a["node"],
            a["challenger"],
            DisputeKind(a["kind"]),
            int(a["batchId"]),
            bytes(a["digest"]),
            bytes(a["challengerOutput"]),
            int(a["bond"]),
            receipt,
            int(log["blockNumber"]),
        )

    def opened(self, from_block: int = 0, node: str | None = None) -> list[OpenedDispute]:
        filters: dict[str, Any] = {"node": Web3.to_checksum_address(node)} if node else {}
        return [self._opened(log) for log in self._logs("DisputeOpened", from_block, **filters)]

    def resolved(self, from_block: int = 0, node: str | None = None) -> list[dict[str, Any]]:
        """``Resolved`` events as dicts: id, node, outcome, slashed, reward, burned."""
        filters: dict[str, Any] = {"node": Web3.to_checksum_address(node)} if node else {}
        out = []
        for log in self._logs("Resolved", from_block, **filters):
            a = dict(log["args"])
            a["outcome"] = Outcome(a["outcome"])
            a["block_number"] = int(log["blockNumber"])
            out.append(a)
        return out

    def penalties(self, from_block: int = 0) -> list[dict[str, Any]]:
        return [dict(log["args"]) for log in self._logs("JurorPenalized", from_block)]
