"""Staking: nodes and validators bond stake; only the dispute contract slashes.

The minimum stake per role is the price of a Sybil identity. Unbonding stake
stays slashable until withdrawn after the delay. The slasher is set once and
never changes (the seam for the Disputes contract).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from eth_hash.auto import keccak
from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.content import Cid
from cairn.errors import CairnError
from cairn.identity import Signer

__all__ = ["Participant", "Role", "Staking", "model_id"]

_ZERO = "0x" + "00" * 20


class Role(IntEnum):
    NODE = 1
    VALIDATOR = 2


def model_id(model: str | bytes) -> bytes:
    """A model as Staking records it: keccak256 of its binary CID, as
    ``Disputes.challengeModel`` computes it from ``receipt.model`` (32 raw bytes pass as
    they are). Anything that is not a CID is hashed as text: a label no receipt can match.
    """
    if isinstance(model, bytes):
        return model
    try:
        return keccak(bytes(Cid.parse(model)))
    except CairnError:
        return keccak(model.encode())


@dataclass(frozen=True)
class Participant:
    address: str
    role: Role | None
    endpoint: str
    models: tuple[bytes, ...]
    seal_key: bytes
    stake: int
    unbonding: int
    release_at: int


class Staking(ContractWrapper):
    """Typed calls of the Staking contract."""

    name = "Staking"

    def register(
        self,
        signer: Signer,
        role: Role,
        endpoint: str,
        models: Sequence[str | bytes] = (),
        seal_key: bytes = b"\0" * 32,
    ) -> Tx[None]:
        """Register (or update) the signer as a node or validator."""
        ids = [model_id(m) for m in models]
        return tx_of(self._send(signer, "register", int(role), endpoint, ids, seal_key), None)

    def stake(self, signer: Signer, wei: int) -> Tx[None]:
        return tx_of(self._send(signer, "stake", wei, value=wei), None)

    def unbond(self, signer: Signer, wei: int) -> Tx[int]:
        """Start unbonding ``wei``; ``value`` is the release time."""
        receipt = self._send(signer, "unbond", wei)
        return tx_of(receipt, int(self._event(receipt, "Unbonding")["releaseAt"]))

    def withdraw(self, signer: Signer) -> Tx[int]:
        """Withdraw everything unbonded; ``value`` is the amount."""
        receipt = self._send(signer, "withdraw")
        return tx_of(receipt, int(self._event(receipt, "Withdrawn")["amount"]))

    def set_slasher(self, signer: Signer, slasher: str) -> Tx[None]:
        """Once only, by the deployer: name the dispute contract."""
        return tx_of(self._send(signer, "setSlasher", Web3.to_checksum_address(slasher)), None)

    def slash(self, signer: Signer, who: str, wei: int) -> Tx[int]:
        """Slash (only the slasher may); ``value`` is what was taken."""
        receipt = self._send(signer, "slash", Web3.to_checksum_address(who), wei)
        return tx_of(receipt, int(self._event(receipt, "Slashed")["amount"]))

    def registered(self, from_block: int = 0) -> dict[str, Role]:
        """Every address that registered (``Registered`` events), first registration first,
        with the role it registered last."""
        found: dict[str, Role] = {}
        for log in self._logs("Registered", from_block):
            found[Web3.to_checksum_address(log["args"]["who"])] = Role(int(log["args"]["role"]))
        return found

    def participant(self, address: str) -> Participant:
        who = Web3.to_checksum_address(address)
        role, endpoint, models, seal_key = self._call("participants", who)
        return Participant(
            who,
            Role(role) if role else None,
            endpoint,
            tuple(bytes(m) for m in models),
            bytes(seal_key),
            int(self._call("stakeOf", who)),
            int(self._call("unbondingOf", who)),
            int(self._call("releaseAt", who)),
        )

    def registered_for(self, address: str, model: str | bytes) -> tuple[int, int]:
        """When ``model`` entered ``address``'s registration and left it (0: never / still)."""
        who, mid = Web3.to_checksum_address(address), model_id(model)
        return int(self._call("modelSince", who, mid)), int(self._call("modelUntil", who, mid))

    def is_staked(self, address: str, role: Role = Role.NODE) -> bool:
        """True if ``address`` is registered in ``role`` with at least the minimum bonded."""
        return bool(self._call("isStaked", Web3.to_checksum_address(address), int(role)))

    def min_stake(self, role: Role) -> int:
        return int(self._call("minNodeStake" if role is Role.NODE else "minValidatorStake"))

    @property
    def unbonding_delay(self) -> int:
        return int(self._call("unbondingDelay"))

    @property
    def slasher(self) -> str | None:
        found = str(self._call("slasher"))
        return None if found == _ZERO else found
