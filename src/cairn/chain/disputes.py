"""Disputes: challenge an anchored receipt, vote in a committee, slash the loser.

The contract (``contracts/Disputes.vy``) is the only slasher Staking accepts. It
checks the evidence itself — the receipt's EIP-712 digest under the
ReceiptAnchor domain, the node's signature (ecrecover), the inclusion proof
against the anchored root, the receipt's audit window — draws a committee of
pool members by stake from the hash of the block that mined the dispute, and
settles by commit-reveal majority (guilty, innocent or abstain). Payouts are
pulled: :meth:`Disputes.claim`. This module is its typed client; what to
challenge and how to vote is decided in :mod:`cairn.verification`.

The evidence *is* a :class:`cairn.receipts.Receipt` (plus its batch and
inclusion proof): :func:`receipt_struct` turns a receipt into the contract's
``Receipt`` struct, and :func:`receipt_from_struct` turns a struct from an event
(``DisputeOpened``, ``LeafAnswered``) back into a :class:`~cairn.receipts.Receipt`
under the network's domain — one mapping, here, for Disputes and Challenges.

A juror's sealed vote is ``keccak256(abi.encode(id, juror, uint8 vote, salt))``
(:func:`commitment`): binding the juror's address means a vote cannot be copied.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
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
from cairn.identity import Signature, Signer
from cairn.receipts import Receipt, ReceiptDomain

BURN = "0x000000000000000000000000000000000000dEaD"

__all__ = [
    "BURN",
    "DisputeInfo",
    "DisputeKind",
    "DisputeParams",
    "Disputes",
    "Evidence",
    "Lock",
    "OpenedDispute",
    "Outcome",
    "PoolMember",
    "Vote",
    "commitment",
    "receipt_from_struct",
    "receipt_struct",
]

ETHER = 10**18


class DisputeKind(IntEnum):
    WRONG_OUTPUT = 1  # re-execution disagrees with the signed output under the model's policy
    NO_INPUT = 2  # the node refused, or lost, the retained input


class Outcome(IntEnum):
    OPEN = 1
    GUILTY = 2  # node slashed and jailed, challenger rewarded, bond returned
    CLEARED = 3  # bond burned
    VOID = 4  # no quorum of guilty + innocent seats, or never drawn; bond returned


class Vote(IntEnum):
    """A juror's revealed vote (0 in ``vote_of`` means not revealed)."""

    GUILTY = 1
    INNOCENT = 2
    ABSTAIN = 3  # could not judge (node or input unreachable): never guilt, never penalized


class Lock(IntEnum):
    """Why Staking will not release an address's stake (``Disputes.lockOf``)."""

    NONE = 0
    DISPUTED = 1  # a dispute against this node is open
    JUROR = 2  # holds a seat on an undecided dispute
    POOL = 3  # a juror-pool member (until it has left)
    JAILED = 4


@dataclass(frozen=True)
class PoolMember:
    """A juror-pool member: its draw weight, first counting block, and leave time (0: staying)."""

    address: str
    weight: int
    active_from: int
    leave_at: int


@dataclass(frozen=True)
class DisputeParams:
    """Constructor settings of the Disputes contract (network parameters).

    ``audit_rate_ppm`` is the sampling rate p in parts per million; a node's first
    ``full_audit_receipts`` receipts are audited at 100%. A receipt can be disputed
    until ``audit_window`` seconds after it was issued (the node's retention,
    ``NodeSettings.audit_window_s``, must be at least as long). The challenger's
    reward is ``reward_bps`` of the slash, at most ``max_reward_bonds`` bonds; seats
    voting with the outcome share ``juror_reward_bps`` of the slash (GUILTY) or of
    the bond (CLEARED). A pool member counts ``activation_blocks`` after joining
    (more than the 256 blocks a seed can be read) and ``leave_delay`` seconds after
    asking to leave (more than :attr:`max_dispute_duration`). A node answers an
    objective challenge within ``response_window`` seconds (:mod:`cairn.chain.challenges`).

    >>> DisputeParams().audit_rate_ppm / 1e6
    0.05
    >>> DisputeParams().max_dispute_duration
    10800
    """

    challenge_bond: int = ETHER // 100
    slash_bps: int = 5000
    reward_bps: int = 5000
    max_reward_bonds: int = 3
    juror_reward_bps: int = 2000
    jail_period: int = 7 * 24 * 3600
    committee_size: int = 5
    draw_window: int = 3600
    commit_window: int = 3600
    reveal_window: int = 3600
    juror_penalty: int = ETHER // 100
    audit_rate_ppm: int = 50_000
    full_audit_receipts: int = 100
    audit_window: int = 7 * 24 * 3600
    activation_blocks: int = 257
    leave_delay: int = 24 * 3600
    response_window: int = 3600  # objective challenges: the node's time to answer
    anchor_deadline: int = 3600  # a receipt must be anchored this long after its issue

    @property
    def max_dispute_duration(self) -> int:
        """The longest a dispute stays open (draw + commit + reveal windows), or a
        challenge (the response window)."""
        return max(self.draw_window + self.commit_window + self.reveal_window, self.response_window)

    def args(self) -> tuple[int, ...]:
        """The Disputes constructor's arguments after Staking and ReceiptAnchor, in order
        (``anchor_deadline`` is the Challenges contract's)."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.name not in _CHALLENGES)


_CHALLENGES = ("anchor_deadline",)  # DisputeParams fields the Challenges contract holds


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def receipt_struct(receipt: Receipt) -> tuple[Any, ...]:
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


def receipt_from_struct(r: Any, domain: ReceiptDomain, signature: bytes | None = None) -> Receipt:
    """A contract ``Receipt`` struct from an event, as a receipt of ``domain``."""
    return Receipt(
        str(Cid.parse(bytes(r["model"]))),
        bytes(r["inputHash"]),
        bytes(r["outputHash"]),
        Web3.to_checksum_address(r["node"]),
        bytes(r["requestId"]),
        int(r["issuedAt"]),
        str(r["runtime"]),
        int(r["price"]),
        domain,
        Signature.from_bytes(signature) if signature is not None else None,
    )


@dataclass(frozen=True)
class Evidence:
    """A signed receipt, the batch it was anchored in and its positional inclusion proof
    (leaf ``leaf_index`` of the ``count`` the batch's commitment binds)."""

    receipt: Receipt
    batch_id: int
    leaf_index: int
    count: int
    proof: tuple[bytes, ...]

    @property
    def signature(self) -> bytes:
        """The node's signature, 65 bytes ``r || s || v``."""
        if self.receipt.signature is None:
            raise ReceiptInvalid("evidence needs a signed receipt")
        return self.receipt.signature.to_bytes()

    def args(self) -> tuple[Any, ...]:
        """The contract's evidence arguments: receipt struct, signature, batch id, leaf
        index, count, proof."""
        return (
            receipt_struct(self.receipt),
            self.signature,
            self.batch_id,
            self.leaf_index,
            self.count,
            list(self.proof),
        )


@dataclass(frozen=True)
class DisputeInfo:
    id: int
    node: str
    challenger: str
    digest: bytes
    kind: DisputeKind
    status: Outcome
    bond: int
    opened_block: int  # the seed block
    snapshot_at: int  # the seed block's time: who counted as a candidate
    draw_deadline: int
    commit_deadline: int  # 0 until the committee is drawn
    reveal_deadline: int
    committee: tuple[str, ...]  # one entry per seat (a juror may hold several)
    guilty: int  # seats
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


def commitment(dispute_id: int, juror: str, vote: Vote, salt: bytes) -> bytes:
    """The sealed vote ``keccak256(abi.encode(id, juror, uint8 vote, salt))``."""
    data = encode(
        ["uint256", "address", "uint8", "bytes32"],
        [dispute_id, Web3.to_checksum_address(juror), int(vote), salt],
    )
    return bytes(keccak(data))


class _ChallengesParams(ContractWrapper):
    """The Challenges contract, for its parameters (its calls: cairn.chain.challenges)."""

    name = "Challenges"


class Disputes(ContractWrapper):
    """Typed calls of the Disputes contract (its objective challenges: :attr:`Chain.challenges`)."""

    name = "Disputes"

    def join(self, signer: Signer) -> Tx[None]:
        """Enter the juror pool (a staked validator); it counts ``activation_blocks`` later."""
        return tx_of(self._send(signer, "join"), None)

    def leave(self, signer: Signer) -> Tx[int]:
        """Ask to leave the pool; ``value`` is when :meth:`exit` becomes possible."""
        receipt = self._send(signer, "leave")
        return tx_of(receipt, int(self._event(receipt, "Leaving")["leaveAt"]))

    def exit(self, signer: Signer) -> Tx[None]:
        """Leave the pool after the leave delay (then the stake can be unbonded)."""
        return tx_of(self._send(signer, "exit"), None)

    def prune(self, signer: Signer, member: str) -> Tx[None]:
        """Remove a member whose stake fell below the validator minimum (anyone)."""
        return tx_of(self._send(signer, "prune", Web3.to_checksum_address(member)), None)

    def claim(self, signer: Signer) -> Tx[int]:
        """Withdraw what resolved disputes credited to the signer; ``value`` is the amount."""
        receipt = self._send(signer, "claim")
        return tx_of(receipt, int(self._event(receipt, "Claimed")["amount"]))

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
            *evidence.args(),
            challenger_output,
            int(kind),
            value=bond,
        )
        return tx_of(receipt, int(self._event(receipt, "DisputeOpened")["id"]))

    def draw(self, signer: Signer, dispute_id: int) -> Tx[None]:
        return tx_of(self._send(signer, "draw", dispute_id), None)

    def commit(self, signer: Signer, dispute_id: int, sealed: bytes) -> Tx[None]:
        return tx_of(self._send(signer, "commit", dispute_id, sealed), None)

    def reveal(self, signer: Signer, dispute_id: int, vote: Vote, salt: bytes) -> Tx[None]:
        return tx_of(self._send(signer, "reveal", dispute_id, int(vote), salt), None)

    def resolve(self, signer: Signer, dispute_id: int) -> Tx[Outcome]:
        """Settle (anyone); it sends nothing but burns: payouts wait in :meth:`claimable`."""
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
            int(d[9]),
            int(d[10]),
            tuple(d[11]),
            int(d[12]),
            int(d[13]),
        )

    def count(self) -> int:
        return int(self._call("disputeCount"))

    def pool(self) -> list[str]:
        """Every member, counting or not yet (:meth:`member` says which)."""
        return [str(self._call("poolAt", i)) for i in range(int(self._call("poolSize")))]

    def in_pool(self, address: str) -> bool:
        return bool(self._call("inPool", Web3.to_checksum_address(address)))

    def member(self, address: str) -> PoolMember | None:
        who = Web3.to_checksum_address(address)
        weight, active_from, leave_at, index = self._call("members", who)
        return PoolMember(who, int(weight), int(active_from), int(leave_at)) if index else None

    def vote_of(self, dispute_id: int, juror: str) -> Vote | None:
        """The revealed vote, None if not revealed."""
        found = int(self._call("voteOf", dispute_id, Web3.to_checksum_address(juror)))
        return Vote(found) if found else None

    def claimable(self, address: str) -> int:
        """Wei credited to ``address`` by resolved disputes and not yet claimed."""
        return int(self._call("claimable", Web3.to_checksum_address(address)))

    def open_disputes(self, node: str) -> int:
        return int(self._call("openDisputes", Web3.to_checksum_address(node)))

    def lock_of(self, address: str) -> Lock:
        """Why Staking would refuse to release ``address``'s stake now."""
        return Lock(int(self._call("lockOf", Web3.to_checksum_address(address))))

    def max_dispute_duration(self) -> int:
        return int(self._call("maxDisputeDuration"))

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

    def batch_commitment(
        self, digest: bytes, index: int, count: int, proof: tuple[bytes, ...]
    ) -> bytes | None:
        """The commitment the contract walks ``proof`` of leaf ``index`` of ``count`` to
        (``_commits``, the rule :mod:`cairn.receipts.merkle` mirrors); None if it cannot be one."""
        got = bytes(self._call("batchCommitment", digest, index, count, list(proof)))
        return None if got == b"\0" * 32 else got

    def receipt_digest(self, receipt: Receipt) -> bytes:
        """The digest the contract computes for a receipt (EIP-712, this network)."""
        return bytes(self._call("receiptDigest", receipt_struct(receipt)))

    @cached_property
    def receipt_domain(self) -> ReceiptDomain:
        """The EIP-712 domain of this network's receipts (chain id, ReceiptAnchor)."""
        chain_id = int(self._read("chain id", lambda: self._w3.eth.chain_id))
        return ReceiptDomain(chain_id, Web3.to_checksum_address(self._call("anchor")))

    def params(self) -> DisputeParams:
        """The network's verification parameters (``anchor_deadline`` from Challenges)."""
        found = {
            f.name: int(self._call(_camel(f.name)))
            for f in fields(DisputeParams)
            if f.name not in _CHALLENGES
        }
        challenges = self.challenges_address()
        if challenges is not None:
            at = _ChallengesParams(self._w3, self.backend, challenges)
            found |= {name: int(at._call(_camel(name))) for name in _CHALLENGES}
        return DisputeParams(**found)

    def challenges_address(self) -> str | None:
        """The Challenges contract that convicts through this one (None until set)."""
        found = str(self._call("challenges"))
        return None if int(found, 16) == 0 else Web3.to_checksum_address(found)

    def set_challenges(self, signer: Signer, address: str) -> Tx[None]:
        """Name the Challenges contract (once, by the deployer)."""
        call = self._send(signer, "setChallenges", Web3.to_checksum_address(address))
        return tx_of(call, None)

    # -- events -----------------------------------------------------------------

    def _opened(self, log: Any) -> OpenedDispute:
        a = log["args"]
        receipt = receipt_from_struct(a["receipt"], self.receipt_domain)
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

    def opened(
        self, from_block: int = 0, node: str | None = None, to_block: int | None = None
    ) -> list[OpenedDispute]:
        filters: dict[str, Any] = {"node": Web3.to_checksum_address(node)} if node else {}
        logs = self._logs("DisputeOpened", from_block, to_block, **filters)
        return [self._opened(log) for log in logs]

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
