"""Objective challenges: guilt the Challenges contract decides alone, without a jury.

``contracts/Challenges.vy`` obliges a node to post onchain, within the response
window, what it owes the network; only silence past the window is guilt, and
then anyone calls :meth:`Challenges.resolve`: the Disputes contract (the verdict
book: locks, jail, claims) slashes and jails the node and credits the
challenger (:class:`Conviction`). An answer ends a challenge and credits the
challenger's bond to whoever answered, so a challenge of something the node
holds pays for the node's gas. The node's stake is locked while one is open.

- **Input** (:meth:`Challenges.challenge_input`; a staked validator, inside the
  receipt's audit window): post the receipt's retained input — the bytes
  :mod:`cairn.receipts.wire` defines, sha256 = ``inputHash``, at most
  :data:`MAX_INPUT` bytes (:meth:`~Challenges.answer_input`).
- **Leaf** (:meth:`Challenges.challenge_leaf`; a staked validator, inside the
  batch's audit window counted from its anchor): post the signed receipt at leaf
  ``index`` of an anchored batch with its inclusion proof
  (:meth:`~Challenges.answer_leaf`); the challenger names the batch's root and
  count from its ``Anchored`` event, so only a leaf the batch has can be asked.
- **Anchor** (:meth:`Challenges.challenge_anchor`; anyone holding a signed
  receipt, after ``anchorDeadline``): prove the receipt was anchored by
  ``issuedAt + anchorDeadline`` (:meth:`~Challenges.answer_anchor`).
- **Model** (:meth:`Challenges.challenge_model`; a staked validator, no bond):
  convicts at once a receipt whose model — ``keccak256`` of its binary CID,
  :func:`cairn.chain.staking.model_id` — the node had not registered in Staking
  at the receipt's ``issuedAt`` (300 s of clock skew allowed).

The node answers by itself (:mod:`cairn.node.responder`); validators open and
resolve them (:mod:`cairn.verification`). Docs: docs/verification.md,
"Objective challenges".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak
from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.chain.disputes import Evidence, receipt_from_struct, receipt_struct
from cairn.errors import ContractRevert
from cairn.identity import Signer
from cairn.receipts import Receipt, ReceiptDomain

__all__ = [
    "MAX_INPUT",
    "Challenge",
    "ChallengeKind",
    "ChallengeStatus",
    "Challenges",
    "Conviction",
    "InputAnswer",
    "LeafAnswer",
    "leaf_key",
]

MAX_INPUT = 16384  # Challenges.MAX_INPUT: the largest input a node can post onchain


class ChallengeKind(IntEnum):
    """A challenge's ``kind`` (after the dispute kinds 1 and 2)."""

    WITHHELD_INPUT = 3
    UNREGISTERED_MODEL = 4
    WITHHELD_LEAF = 5
    UNANCHORED = 6


class ChallengeStatus(IntEnum):
    OPEN = 1
    ANSWERED = 2
    UPHELD = 3  # no answer in time: the node was convicted


def leaf_key(node: str, batch_id: int, index: int) -> bytes:
    """The key of a leaf challenge: ``keccak256(abi.encode(node, batchId, index))``."""
    return bytes(
        keccak(
            encode(
                ["address", "uint256", "uint256"],
                [Web3.to_checksum_address(node), batch_id, index],
            )
        )
    )


@dataclass(frozen=True)
class Challenge:
    """An objective challenge, as stored or as its ``Challenged`` event."""

    id: int
    kind: ChallengeKind
    node: str
    challenger: str
    key: bytes  # input, anchor: the receipt's digest; leaf: leaf_key(node, batch, index)
    input_hash: bytes  # input, anchor
    batch_id: int  # input: where the receipt is anchored; leaf: the batch asked
    index: int  # leaf
    status: ChallengeStatus
    bond: int
    deadline: int  # chain time; answer at or before it
    request_id: bytes = b""  # from the event (the node finds the receipt by it)
    block_number: int = 0


@dataclass(frozen=True)
class InputAnswer:
    """An ``InputAnswered`` event: the input posted onchain."""

    id: int
    node: str
    answerer: str
    input: bytes
    block_number: int


@dataclass(frozen=True)
class LeafAnswer:
    """A ``LeafAnswered`` event: the signed receipt at a challenged leaf, as evidence."""

    id: int
    node: str
    evidence: Evidence  # the signed receipt (under the network's domain) and its proof
    block_number: int


@dataclass(frozen=True)
class Conviction:
    """A ``Convicted`` event: a node slashed without a jury."""

    node: str
    challenger: str
    kind: ChallengeKind
    id: int  # the challenge (0 for a model challenge)
    key: bytes
    slashed: int
    reward: int
    burned: int


def _conviction(args: Any) -> Conviction:
    return Conviction(
        args["node"],
        args["challenger"],
        ChallengeKind(args["kind"]),
        int(args["id"]),
        bytes(args["key"]),
        int(args["slashed"]),
        int(args["reward"]),
        int(args["burned"]),
    )


def _node_filter(node: str | None) -> dict[str, Any]:
    return {"node": Web3.to_checksum_address(node)} if node else {}


class Challenges(ContractWrapper):
    """Typed calls of the Challenges contract."""

    name = "Challenges"

    def _bond(self, bond: int | None) -> int:
        return int(self._call("challengeBond")) if bond is None else bond

    def _opened(self, receipt: Any) -> Tx[int]:
        return tx_of(receipt, int(self._event(receipt, "Challenged")["id"]))

    def challenge_input(
        self, signer: Signer, evidence: Evidence, bond: int | None = None
    ) -> Tx[int]:
        """Oblige the node to post the receipt's input; ``value`` is the challenge id."""
        tx = self._send(signer, "challengeInput", *evidence.args(), value=self._bond(bond))
        return self._opened(tx)

    def answer_input(self, signer: Signer, challenge_id: int, data: bytes) -> Tx[None]:
        """Post the challenged input (its sha256 must be the receipt's ``inputHash``)."""
        return tx_of(self._send(signer, "answerInput", challenge_id, data), None)

    def challenge_leaf(
        self,
        signer: Signer,
        node: str,
        batch_id: int,
        index: int,
        root: bytes,
        count: int,
        bond: int | None = None,
    ) -> Tx[int]:
        """Oblige ``node`` to post leaf ``index`` of its batch (``root``, ``count`` from
        the ``Anchored`` event); ``value`` is the challenge id."""
        args = (Web3.to_checksum_address(node), batch_id, index, root, count)
        return self._opened(self._send(signer, "challengeLeaf", *args, value=self._bond(bond)))

    def answer_leaf(self, signer: Signer, challenge_id: int, evidence: Evidence) -> Tx[None]:
        """Post the challenged leaf: the signed receipt and its proof at that index."""
        args = (receipt_struct(evidence.receipt), evidence.signature, list(evidence.proof))
        return tx_of(self._send(signer, "answerLeaf", challenge_id, *args), None)

    def challenge_anchor(
        self, signer: Signer, receipt: Receipt, bond: int | None = None
    ) -> Tx[int]:
        """Oblige the receipt's node to prove it was anchored by its deadline."""
        if receipt.signature is None:
            raise ValueError("an anchor challenge needs a signed receipt")
        args = (receipt_struct(receipt), receipt.signature.to_bytes())
        return self._opened(self._send(signer, "challengeAnchor", *args, value=self._bond(bond)))

    def answer_anchor(self, signer: Signer, challenge_id: int, evidence: Evidence) -> Tx[None]:
        """Prove the challenged receipt's inclusion in a batch anchored in time."""
        args = (evidence.batch_id, evidence.leaf_index, evidence.count, list(evidence.proof))
        return tx_of(self._send(signer, "answerAnchor", challenge_id, *args), None)

    def resolve(self, signer: Signer, challenge_id: int) -> Tx[Conviction]:
        """Convict the node of a challenge left unanswered past its deadline (anyone)."""
        receipt = self._send(signer, "resolve", challenge_id)
        return tx_of(receipt, _conviction(self._event(receipt, "Convicted")))

    def challenge_model(self, signer: Signer, evidence: Evidence) -> Tx[Conviction]:
        """Convict the node of a receipt for a model it had not registered when it issued it."""
        receipt = self._send(signer, "challengeModel", *evidence.args())
        return tx_of(receipt, _conviction(self._event(receipt, "Convicted")))

    def would_convict_model(self, caller: str, evidence: Evidence) -> bool:
        """Whether :meth:`challenge_model` from ``caller`` would convict (an ``eth_call``:
        the contract's rule decides, not a copy of it)."""
        fn = self._contract.functions.challengeModel(*evidence.args())
        try:
            self._read("challengeModel", lambda: fn.call({"from": caller}))
        except ContractRevert:
            return False
        return True

    # -- reads ----------------------------------------------------------------------

    def challenge(self, challenge_id: int) -> Challenge:
        c = self._call("challenge", challenge_id)
        return Challenge(
            challenge_id,
            ChallengeKind(c[0]),
            c[1],
            c[2],
            bytes(c[3]),
            bytes(c[4]),
            int(c[5]),
            int(c[6]),
            ChallengeStatus(c[9]),
            int(c[10]),
            int(c[11]),
        )

    def response_window(self) -> int:
        return int(self._call("responseWindow"))

    def anchor_deadline(self) -> int:
        return int(self._call("anchorDeadline"))

    def max_skew(self) -> int:
        """Seconds a receipt's ``issuedAt`` may run ahead of the chain (``MAX_SKEW``)."""
        return int(self._call("MAX_SKEW"))

    def anchor_challenge_opens(self, issued_at: int) -> int:
        """The first chain time after which an unanchored receipt issued at ``issued_at``
        may be challenged (``challengeAnchor``: past issuedAt + anchorDeadline + MAX_SKEW)."""
        return issued_at + self.anchor_deadline() + self.max_skew()

    def answered(self, kind: ChallengeKind, key: bytes) -> bool:
        """True once what a challenge of ``kind`` on ``key`` asked was posted onchain."""
        return bool(self._call("answered", int(kind), key))

    def active(self, kind: ChallengeKind, key: bytes) -> int | None:
        """The open challenge of ``kind`` on ``key``, if any."""
        return int(self._call("active", int(kind), key)) or None

    def input_posted(self, digest: bytes) -> bool:
        return self.answered(ChallengeKind.WITHHELD_INPUT, digest)

    def active_input_challenge(self, digest: bytes) -> int | None:
        return self.active(ChallengeKind.WITHHELD_INPUT, digest)

    # -- events ---------------------------------------------------------------------

    def challenges(
        self, from_block: int = 0, node: str | None = None, to_block: int | None = None
    ) -> list[Challenge]:
        """``Challenged`` events (status as opened: see :meth:`challenge`)."""
        out = []
        for log in self._logs("Challenged", from_block, to_block, **_node_filter(node)):
            a = log["args"]
            out.append(
                Challenge(
                    int(a["id"]),
                    ChallengeKind(a["kind"]),
                    a["node"],
                    a["challenger"],
                    bytes(a["key"]),
                    bytes(a["inputHash"]),
                    int(a["batchId"]),
                    int(a["index"]),
                    ChallengeStatus.OPEN,
                    int(a["bond"]),
                    int(a["deadline"]),
                    bytes(a["requestId"]),
                    int(log["blockNumber"]),
                )
            )
        return out

    def input_answers(self, from_block: int = 0, node: str | None = None) -> list[InputAnswer]:
        return [
            InputAnswer(
                int(log["args"]["id"]),
                log["args"]["node"],
                log["args"]["answerer"],
                bytes(log["args"]["input"]),
                int(log["blockNumber"]),
            )
            for log in self._logs("InputAnswered", from_block, **_node_filter(node))
        ]

    def leaf_answers(
        self, domain: ReceiptDomain, from_block: int = 0, node: str | None = None
    ) -> list[LeafAnswer]:
        """``LeafAnswered`` events, each receipt signed under ``domain``."""
        out = []
        for log in self._logs("LeafAnswered", from_block, **_node_filter(node)):
            a = log["args"]
            receipt = receipt_from_struct(a["receipt"], domain, bytes(a["signature"]))
            proof = tuple(bytes(x) for x in a["proof"])
            evidence = Evidence(receipt, int(a["batchId"]), int(a["index"]), int(a["count"]), proof)
            out.append(LeafAnswer(int(a["id"]), a["node"], evidence, int(log["blockNumber"])))
        return out

    def convictions(self, from_block: int = 0, node: str | None = None) -> list[Conviction]:
        return [
            _conviction(log["args"])
            for log in self._logs("Convicted", from_block, **_node_filter(node))
        ]

    def disputes_address(self) -> str:
        """The Disputes contract this one convicts through (fixed at deployment)."""
        return str(self._call("disputes"))
