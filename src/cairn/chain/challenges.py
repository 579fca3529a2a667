"""Objective challenges: guilt the Disputes contract decides alone, without a jury.

Two challenges of ``contracts/Disputes.vy`` (section "objective challenges"),
each opened by a staked validator with a receipt's evidence (signature and
inclusion in the anchored batch, inside the audit window):

- **Data availability** (:meth:`ObjectiveChallenges.challenge_input`, with the
  challenge bond). The node must post the receipt's retained input — the bytes
  :mod:`cairn.receipts.wire` defines, whose sha256 is ``inputHash``, at most
  :data:`MAX_INPUT` bytes — with :meth:`~ObjectiveChallenges.answer_input`
  within ``response_window`` seconds. An answer ends the challenge and credits
  the bond to whoever answered (the challenger of an input the node holds pays
  for the node's gas); the input is in the ``InputAnswered`` event, for anyone
  to re-execute. Silence past the window: anyone calls
  :meth:`~ObjectiveChallenges.resolve_input` and the node is slashed and jailed
  (:class:`Conviction`). The node's stake is locked meanwhile, as by a dispute.
- **Unregistered model** (:meth:`ObjectiveChallenges.challenge_model`, no
  bond). Convicts at once a receipt whose model — ``keccak256`` of its binary
  CID, :func:`cairn.chain.staking.model_id` — the node had not registered in
  Staking at the receipt's ``issuedAt`` (300 s of clock skew allowed).

Docs: docs/verification.md, "Objective challenges".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.identity import Signer

__all__ = [
    "MAX_INPUT",
    "ChallengeKind",
    "ChallengeStatus",
    "Conviction",
    "InputAnswer",
    "InputChallenge",
    "ObjectiveChallenges",
]

MAX_INPUT = 16384  # Disputes.MAX_INPUT: the largest input a node can post onchain


class ChallengeKind:
    """The ``kind`` of a ``Convicted`` event (after the dispute kinds 1 and 2)."""

    WITHHELD_INPUT = 3
    UNREGISTERED_MODEL = 4


class ChallengeStatus:
    OPEN = 1
    ANSWERED = 2
    UPHELD = 3  # no answer in time: the node was convicted


@dataclass(frozen=True)
class InputChallenge:
    """A data-availability challenge, as stored or as its ``InputChallenged`` event."""

    id: int
    node: str
    challenger: str
    digest: bytes
    input_hash: bytes
    status: int
    bond: int
    deadline: int  # chain time; answer at or before it
    request_id: bytes = b""  # from the event (the node finds the input by it)
    batch_id: int = 0
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
class Conviction:
    """A ``Convicted`` event: a node slashed without a jury."""

    node: str
    challenger: str
    kind: int  # ChallengeKind
    id: int  # the input challenge (0 for a model challenge)
    digest: bytes
    slashed: int
    reward: int
    burned: int


class Evidence(Protocol):
    """A receipt's evidence (:class:`cairn.chain.Evidence`), as the contract takes it."""

    def args(self) -> tuple[Any, ...]: ...


def _conviction(args: Any) -> Conviction:
    return Conviction(
        args["node"],
        args["challenger"],
        int(args["kind"]),
        int(args["id"]),
        bytes(args["digest"]),
        int(args["slashed"]),
        int(args["reward"]),
        int(args["burned"]),
    )


class ObjectiveChallenges(ContractWrapper):
    """The objective challenges of the Disputes contract (its wrapper's base class)."""

    def challenge_input(
        self, signer: Signer, evidence: Evidence, bond: int | None = None
    ) -> Tx[int]:
        """Oblige the node to post the receipt's input; ``value`` is the challenge id."""
        bond = int(self._call("challengeBond")) if bond is None else bond
        receipt = self._send(signer, "challengeInput", *evidence.args(), value=bond)
        return tx_of(receipt, int(self._event(receipt, "InputChallenged")["id"]))

    def answer_input(self, signer: Signer, challenge_id: int, data: bytes) -> Tx[None]:
        """Post the challenged input (its sha256 must be the receipt's ``inputHash``)."""
        return tx_of(self._send(signer, "answerInput", challenge_id, data), None)

    def resolve_input(self, signer: Signer, challenge_id: int) -> Tx[Conviction]:
        """Convict the node of a challenge left unanswered past its deadline (anyone)."""
        receipt = self._send(signer, "resolveInput", challenge_id)
        return tx_of(receipt, _conviction(self._event(receipt, "Convicted")))

    def challenge_model(self, signer: Signer, evidence: Evidence) -> Tx[Conviction]:
        """Convict the node of a receipt for a model it had not registered when it issued it."""
        receipt = self._send(signer, "challengeModel", *evidence.args())
        return tx_of(receipt, _conviction(self._event(receipt, "Convicted")))

    # -- reads ----------------------------------------------------------------------

    def input_challenge(self, challenge_id: int) -> InputChallenge:
        c = self._call("inputChallenge", challenge_id)
        status, bond, deadline = (int(x) for x in c[4:7])
        return InputChallenge(
            challenge_id, c[0], c[1], bytes(c[2]), bytes(c[3]), status, bond, deadline
        )

    def response_window(self) -> int:
        return int(self._call("responseWindow"))

    def input_posted(self, digest: bytes) -> bool:
        return bool(self._call("inputPosted", digest))

    def active_input_challenge(self, digest: bytes) -> int | None:
        return int(self._call("activeInputChallenge", digest)) or None

    # -- events ---------------------------------------------------------------------

    def input_challenges(
        self, from_block: int = 0, node: str | None = None, to_block: int | None = None
    ) -> list[InputChallenge]:
        """``InputChallenged`` events (status as opened: see :meth:`input_challenge`)."""
        filters: dict[str, Any] = {"node": Web3.to_checksum_address(node)} if node else {}
        out = []
        for log in self._logs("InputChallenged", from_block, to_block, **filters):
            a = log["args"]
            out.append(
                InputChallenge(
                    int(a["id"]),
                    a["node"],
                    a["challenger"],
                    bytes(a["digest"]),
                    bytes(a["inputHash"]),
                    ChallengeStatus.OPEN,
                    int(a["bond"]),
                    int(a["deadline"]),
                    bytes(a["requestId"]),
                    int(a["batchId"]),
                    int(log["blockNumber"]),
                )
            )
        return out

    def input_answers(self, from_block: int = 0, node: str | None = None) -> list[InputAnswer]:
        filters: dict[str, Any] = {"node": Web3.to_checksum_address(node)} if node else {}
        return [
            InputAnswer(
                int(log["args"]["id"]),
                log["args"]["node"],
                log["args"]["answerer"],
                bytes(log["args"]["input"]),
                int(log["blockNumber"]),
            )
            for log in self._logs("InputAnswered", from_block, **filters)
        ]

    def convictions(self, from_block: int = 0, node: str | None = None) -> list[Conviction]:
        filters: dict[str, Any] = {"node": Web3.to_checksum_address(node)} if node else {}
        return [_conviction(log["args"]) for log in self._logs("Convicted", from_block, **filters)]
