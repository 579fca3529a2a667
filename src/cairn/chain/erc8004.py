"""ERC-8004 ("Trustless Agents") registries: how nodes are found onchain, and rated.

A cairn node is an ERC-8004 *agent*: an ERC-721 token of the Identity Registry
whose ``agentURI`` (``ipfs://CID`` of its agent card) says where it serves and
what; clients rate it in the Reputation Registry, validators record their audits
in the Validation Registry (the evidence is a CID). The contracts are written
from the ERC-8004 text (``contracts/IdentityRegistry.vy``, ``ReputationRegistry.vy``,
``ValidationRegistry.vy``) and keep its ABI, so a client we did not write
(the PyPI ``agent0-sdk``) reads them; docs/erc8004.md lists what it can read and
every deviation Vyper forced.

The agent-wallet proof is EIP-712 typed data (:func:`agent_wallet_typed_data`:
domain ``ERC8004IdentityRegistry`` / ``1``, ``AgentWalletSet(uint256 agentId,
address newWallet,address owner,uint256 deadline)``), signed by the new wallet;
the contract recomputes the digest (``walletDigest``), so the two are tested equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.identity import Signer, sign_typed_data

__all__ = [
    "Agent",
    "Feedback",
    "IdentityRegistry",
    "ReputationRegistry",
    "Summary",
    "ValidationRegistry",
    "ValidationStatus",
    "agent_wallet_typed_data",
]

ZERO32 = b"\x00" * 32
_ZERO = "0x" + "00" * 20


def agent_wallet_typed_data(
    chain_id: int, registry: str, agent_id: int, new_wallet: str, owner: str, deadline: int
) -> dict[str, Any]:
    """The EIP-712 message ``new_wallet`` signs to become agent ``agent_id``'s wallet."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "AgentWalletSet": [
                {"name": "agentId", "type": "uint256"},
                {"name": "newWallet", "type": "address"},
                {"name": "owner", "type": "address"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "AgentWalletSet",
        "domain": {
            "name": "ERC8004IdentityRegistry",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": Web3.to_checksum_address(registry),
        },
        "message": {
            "agentId": agent_id,
            "newWallet": Web3.to_checksum_address(new_wallet),
            "owner": Web3.to_checksum_address(owner),
            "deadline": deadline,
        },
    }


@dataclass(frozen=True)
class Agent:
    """A ``Registered`` event: an agent id, its first URI and its first owner."""

    agent_id: int
    agent_uri: str
    owner: str
    block_number: int


@dataclass(frozen=True)
class Feedback:
    """One feedback as stored: ``value / 10**decimals``, two tags, revoked or not."""

    client: str
    index: int
    value: int
    decimals: int
    tag1: str
    tag2: str
    revoked: bool

    @property
    def amount(self) -> Decimal:
        return Decimal(self.value).scaleb(-self.decimals)


@dataclass(frozen=True)
class Summary:
    """``getSummary``: how many feedback matched and their average."""

    count: int
    value: int
    decimals: int

    @property
    def average(self) -> Decimal:
        return Decimal(self.value).scaleb(-self.decimals)


@dataclass(frozen=True)
class ValidationStatus:
    """``getValidationStatus``: the named validator's last answer (0-100) to a request."""

    validator: str
    agent_id: int
    response: int
    response_hash: bytes
    tag: str
    last_update: int
    answered: bool


class IdentityRegistry(ContractWrapper):
    """Typed calls of the ERC-8004 Identity Registry (ERC-721 agent ids)."""

    name = "IdentityRegistry"

    def register(
        self,
        signer: Signer,
        agent_uri: str | None = None,
        metadata: Mapping[str, bytes] | None = None,
    ) -> Tx[int]:
        """Mint the next agent id to ``signer``; ``value`` is the agent id."""
        if metadata:
            entries = [(k, bytes(v)) for k, v in metadata.items()]
            receipt = self._send(signer, "register", agent_uri or "", entries)
        elif agent_uri is not None:
            receipt = self._send(signer, "register", agent_uri)
        else:
            receipt = self._send(signer, "register")
        return tx_of(receipt, int(self._event(receipt, "Registered")["agentId"]))

    def set_agent_uri(self, signer: Signer, agent_id: int, uri: str) -> Tx[None]:
        return tx_of(self._send(signer, "setAgentURI", agent_id, uri), None)

    def set_metadata(self, signer: Signer, agent_id: int, key: str, value: bytes) -> Tx[None]:
        return tx_of(self._send(signer, "setMetadata", agent_id, key, value), None)

    def wallet_proof(
        self, wallet: Signer, agent_id: int, owner: str, deadline: int, chain_id: int
    ) -> bytes:
        """``wallet``'s EIP-712 consent to become ``agent_id``'s wallet (owner ``owner``)."""
        typed = agent_wallet_typed_data(
            chain_id, self.address, agent_id, wallet.address, owner, deadline
        )
        return sign_typed_data(wallet, typed).to_bytes()

    def set_agent_wallet(
        self, signer: Signer, agent_id: int, wallet: str, deadline: int, signature: bytes
    ) -> Tx[None]:
        """Set the agent's wallet; ``signature`` is the wallet's :meth:`wallet_proof`."""
        args = (agent_id, Web3.to_checksum_address(wallet), deadline, signature)
        return tx_of(self._send(signer, "setAgentWallet", *args), None)

    def unset_agent_wallet(self, signer: Signer, agent_id: int) -> Tx[None]:
        return tx_of(self._send(signer, "unsetAgentWallet", agent_id), None)

    def approve(self, signer: Signer, to: str, agent_id: int) -> Tx[None]:
        return tx_of(self._send(signer, "approve", Web3.to_checksum_address(to), agent_id), None)

    def set_approval_for_all(self, signer: Signer, operator: str, approved: bool) -> Tx[None]:
        args = (Web3.to_checksum_address(operator), approved)
        return tx_of(self._send(signer, "setApprovalForAll", *args), None)

    def transfer(self, signer: Signer, sender: str, to: str, agent_id: int) -> Tx[None]:
        args = (Web3.to_checksum_address(sender), Web3.to_checksum_address(to), agent_id)
        return tx_of(self._send(signer, "transferFrom", *args), None)

    # -- reads ----------------------------------------------------------------------

    def agent_uri(self, agent_id: int) -> str:
        return str(self._call("tokenURI", agent_id))

    def owner_of(self, agent_id: int) -> str:
        return str(self._call("ownerOf", agent_id))

    def metadata(self, agent_id: int, key: str) -> bytes:
        return bytes(self._call("getMetadata", agent_id, key))

    def agent_wallet(self, agent_id: int) -> str | None:
        wallet = str(self._call("getAgentWallet", agent_id))
        return None if wallet == _ZERO else wallet

    def wallet_digest(self, agent_id: int, wallet: str, owner: str, deadline: int) -> bytes:
        """The digest the contract checks a wallet proof against (its own EIP-712)."""
        w, o = Web3.to_checksum_address(wallet), Web3.to_checksum_address(owner)
        return bytes(self._call("walletDigest", agent_id, w, o, deadline))

    def last_id(self) -> int:
        return int(self._call("lastId"))

    def agents(self, from_block: int = 0, to_block: int | None = None) -> list[Agent]:
        """Every ``Registered`` event (the URI as registered: see :meth:`agent_uri`)."""
        return [
            Agent(
                int(log["args"]["agentId"]),
                str(log["args"]["agentURI"]),
                str(log["args"]["owner"]),
                int(log["blockNumber"]),
            )
            for log in self._logs("Registered", from_block, to_block)
        ]


def _checksummed(addresses: Sequence[str]) -> list[str]:
    return [Web3.to_checksum_address(a) for a in addresses]


class ReputationRegistry(ContractWrapper):
    """Typed calls of the ERC-8004 Reputation Registry."""

    name = "ReputationRegistry"

    def give_feedback(
        self,
        signer: Signer,
        agent_id: int,
        value: int,
        decimals: int = 0,
        tag1: str = "",
        tag2: str = "",
        endpoint: str = "",
        feedback_uri: str = "",
        feedback_hash: bytes = ZERO32,
    ) -> Tx[int]:
        """Rate ``agent_id`` ``value / 10**decimals``; ``value`` of the Tx is the index."""
        args = (agent_id, value, decimals, tag1, tag2, endpoint, feedback_uri, feedback_hash)
        receipt = self._send(signer, "giveFeedback", *args)
        return tx_of(receipt, int(self._event(receipt, "NewFeedback")["feedbackIndex"]))

    def revoke_feedback(self, signer: Signer, agent_id: int, index: int) -> Tx[None]:
        return tx_of(self._send(signer, "revokeFeedback", agent_id, index), None)

    def append_response(
        self,
        signer: Signer,
        agent_id: int,
        client: str,
        index: int,
        response_uri: str,
        response_hash: bytes = ZERO32,
    ) -> Tx[None]:
        args = (agent_id, Web3.to_checksum_address(client), index, response_uri, response_hash)
        return tx_of(self._send(signer, "appendResponse", *args), None)

    def read_feedback(self, agent_id: int, client: str, index: int) -> Feedback:
        client = Web3.to_checksum_address(client)
        v, d, t1, t2, revoked = self._call("readFeedback", agent_id, client, index)
        return Feedback(client, index, int(v), int(d), str(t1), str(t2), bool(revoked))

    def all_feedback(
        self,
        agent_id: int,
        clients: Sequence[str] = (),
        tag1: str = "",
        tag2: str = "",
        include_revoked: bool = False,
    ) -> list[Feedback]:
        args = (agent_id, _checksummed(clients), tag1, tag2, include_revoked)
        cs, idx, vs, ds, t1s, t2s, rs = self._call("readAllFeedback", *args)
        return [
            Feedback(str(c), int(i), int(v), int(d), str(a), str(b), bool(r))
            for c, i, v, d, a, b, r in zip(cs, idx, vs, ds, t1s, t2s, rs, strict=True)
        ]

    def summary(
        self, agent_id: int, clients: Sequence[str], tag1: str = "", tag2: str = ""
    ) -> Summary:
        """Count and average of the unrevoked feedback of ``clients`` (required)."""
        count, value, decimals = self._call(
            "getSummary", agent_id, _checksummed(clients), tag1, tag2
        )
        return Summary(int(count), int(value), int(decimals))

    def last_index(self, agent_id: int, client: str) -> int:
        return int(self._call("getLastIndex", agent_id, Web3.to_checksum_address(client)))

    def clients(self, agent_id: int) -> list[str]:
        return [str(c) for c in self._call("getClients", agent_id)]

    def response_count(
        self, agent_id: int, client: str, index: int, responders: Sequence[str] = ()
    ) -> int:
        args = (agent_id, Web3.to_checksum_address(client), index, _checksummed(responders))
        return int(self._call("getResponseCount", *args))

    def identity_address(self) -> str:
        return str(self._call("getIdentityRegistry"))


class ValidationRegistry(ContractWrapper):
    """Typed calls of the ERC-8004 Validation Registry."""

    name = "ValidationRegistry"

    def request(
        self, signer: Signer, validator: str, agent_id: int, request_uri: str, request_hash: bytes
    ) -> Tx[None]:
        """Ask ``validator`` to check ``agent_id``'s work (the agent's owner or operator)."""
        args = (Web3.to_checksum_address(validator), agent_id, request_uri, request_hash)
        return tx_of(self._send(signer, "validationRequest", *args), None)

    def respond(
        self,
        signer: Signer,
        request_hash: bytes,
        response: int,
        response_uri: str = "",
        response_hash: bytes = ZERO32,
        tag: str = "",
    ) -> Tx[None]:
        """Answer a request 0-100 (only its validator); ``response_uri`` is the evidence."""
        args = (request_hash, response, response_uri, response_hash, tag)
        return tx_of(self._send(signer, "validationResponse", *args), None)

    def status(self, request_hash: bytes) -> ValidationStatus:
        v, agent, response, rhash, tag, last = self._call("getValidationStatus", request_hash)
        answered = bool(self._call("hasResponse", request_hash))
        return ValidationStatus(
            str(v), int(agent), int(response), bytes(rhash), str(tag), int(last), answered
        )

    def summary(
        self, agent_id: int, validators: Sequence[str] = (), tag: str = ""
    ) -> tuple[int, int]:
        """(count, average response) of the agent's answered requests."""
        count, average = self._call("getSummary", agent_id, _checksummed(validators), tag)
        return int(count), int(average)

    def agent_validations(self, agent_id: int) -> list[bytes]:
        return [bytes(h) for h in self._call("getAgentValidations", agent_id)]

    def validator_requests(self, validator: str) -> list[bytes]:
        address = Web3.to_checksum_address(validator)
        return [bytes(h) for h in self._call("getValidatorRequests", address)]

    def identity_address(self) -> str:
        return str(self._call("getIdentityRegistry"))
