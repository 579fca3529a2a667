"""The validator pool: validators are paid from demand, for audits they performed.

A node is paid at its *splitter*, never at its own address: x402's ``payTo`` is
the splitter, and ``release()`` (anyone may call it) sends ``SHARE`` basis points
of everything received to the :class:`ValidatorPool` and the rest to the node. So
a share of every payment funds verification without trusting the node to pass
it on. The pool pays each epoch's pot to staked validators pro rata to their
attested audits (``contracts/ValidatorPool.vy`` states the rules and the ledger
it keeps exact to the wei).

A splitter is an EIP-1167 minimal proxy created with CREATE2 (EIP-1014,
"Specification": ``keccak256(0xff ++ deployer ++ salt ++ keccak256(init_code))[12:]``)
under salt = the node's address, so a client computes where to pay from the
pinned pool, the implementation and the node alone (:func:`splitter_address`),
before the splitter exists. The init code is the exact bytes Vyper's
``create_minimal_proxy_to`` emits (its 9-byte loader differs from EIP-1167's
reference 10-byte one; the runtime code is EIP-1167's); the contract's
``splitterOf`` is the judge, and the tests check this function against it and
against the address the chain actually creates.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak
from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.errors import NotDeployed
from cairn.identity import Signer

__all__ = [
    "BPS",
    "PoolLedger",
    "RevenueSplitter",
    "SplitterRelease",
    "ValidatorPool",
    "proxy_init_code",
    "splitter_address",
]

BPS = 10_000  # basis points: a share of 1000 is 10%
# Vyper 0.4's create_minimal_proxy_to: loader, EIP-1167 forwarder, the target, forwarder tail
_PROXY_HEAD = bytes.fromhex("602d3d8160093d39f3363d3d373d3d3d363d73")
_PROXY_TAIL = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


def _raw(address: str) -> bytes:
    return bytes.fromhex(Web3.to_checksum_address(address)[2:])


def proxy_init_code(implementation: str) -> bytes:
    """The init code of a minimal proxy of ``implementation``, as Vyper creates it."""
    return _PROXY_HEAD + _raw(implementation) + _PROXY_TAIL


def splitter_address(pool: str, implementation: str, node: str) -> str:
    """Where ``pool`` creates ``node``'s splitter (EIP-1014; salt = the node, left-padded).

    >>> splitter_address("0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20)
    '0x42573f562E872683C8360Ff1f805600bf32aa0E3'
    """
    salt = b"\0" * 12 + _raw(node)
    digest = keccak(b"\xff" + _raw(pool) + salt + keccak(proxy_init_code(implementation)))
    return Web3.to_checksum_address(digest[12:])


@dataclass(frozen=True)
class SplitterRelease:
    """A ``Released`` event: what one release sent to the node and to the pool."""

    node: str
    to_node: int
    to_pool: int


@dataclass(frozen=True)
class PoolLedger:
    """The pool's totals: ``received == paid + unpaid + dust`` and the pool's token
    balance is ``unpaid + dust``, to the wei."""

    received: int
    paid: int
    unpaid: int
    dust: int

    @property
    def held(self) -> int:
        """What the pool should hold: every unpaid pot and the dust."""
        return self.unpaid + self.dust


def _address(address: str) -> str:
    return Web3.to_checksum_address(address)


class RevenueSplitter(ContractWrapper):
    """Typed calls of one node's splitter."""

    name = "RevenueSplitter"

    def release(self, signer: Signer) -> Tx[SplitterRelease]:
        """Split the whole balance (anyone may; ``signer`` pays gas).

        NotDeployed before the splitter is created: a call to an address without code
        would succeed and split nothing.
        """
        if not self.created():
            raise NotDeployed(
                f"no splitter at {self.address} yet: create it (ValidatorPool.create_splitter)"
            )
        receipt = self._send(signer, "release")
        got = self._event(receipt, "Released")
        released = SplitterRelease(str(got["node"]), int(got["toNode"]), int(got["toPool"]))
        return tx_of(receipt, released)

    def created(self) -> bool:
        """True once the pool has created this splitter (payments may arrive before)."""
        address = Web3.to_checksum_address(self.address)
        return len(self._read("code", lambda: self._w3.eth.get_code(address))) > 0

    def node(self) -> str:
        return str(self._call("node"))

    def pool_address(self) -> str:
        return str(self._call("pool"))

    def token_address(self) -> str:
        return str(self._call("token"))


class ValidatorPool(ContractWrapper):
    """Typed calls of the ValidatorPool. Amounts are in the token's base units."""

    name = "ValidatorPool"

    # -- splitters ----------------------------------------------------------------------

    def splitter_of(self, node: str) -> str:
        """``node``'s splitter address, as the contract computes it (created or not)."""
        return str(self._call("splitterOf", _address(node)))

    def create_splitter(self, signer: Signer, node: str) -> Tx[str]:
        """Create ``node``'s splitter if it does not exist; ``value`` is its address."""
        receipt = self._send(signer, "createSplitter", _address(node))
        return tx_of(receipt, self.splitter_of(node))

    def splitter(self, node: str) -> RevenueSplitter:
        """The wrapper of ``node``'s splitter (which may not be created yet)."""
        address = splitter_address(self.address, self.implementation(), node)
        return RevenueSplitter(self._w3, self.backend, address)

    # -- writes -------------------------------------------------------------------------

    def fund(self, signer: Signer, amount: int) -> Tx[int]:
        """Add ``amount`` (approved to the pool first) to this epoch's pot; ``value`` is
        the epoch."""
        receipt = self._send(signer, "fund", amount)
        return tx_of(receipt, int(self._event(receipt, "Funded")["epoch"]))

    def attest(self, signer: Signer, node: str, batch_id: int) -> Tx[int]:
        """Record ``signer``'s audit of ``node``'s batch; ``value`` is the epoch it counts in."""
        receipt = self._send(signer, "attest", _address(node), batch_id)
        return tx_of(receipt, int(self._event(receipt, "Attested")["epoch"]))

    def claim(self, signer: Signer, epoch: int) -> Tx[int]:
        """Pay ``signer`` its share of ended ``epoch``; ``value`` is the amount."""
        receipt = self._send(signer, "claim", epoch)
        return tx_of(receipt, int(self._event(receipt, "Claimed")["amount"]))

    def rollover(self, signer: Signer, epoch: int) -> Tx[int]:
        """Move ended, unaudited ``epoch``'s pot to the current epoch; ``value`` is the amount."""
        receipt = self._send(signer, "rollover", epoch)
        return tx_of(receipt, int(self._event(receipt, "RolledOver")["amount"]))

    # -- reads --------------------------------------------------------------------------

    def share(self) -> int:
        """The pool's share of every released payment, in basis points."""
        return int(self._call("SHARE"))

    def implementation(self) -> str:
        return str(self._call("splitterImplementation"))

    def token_address(self) -> str:
        return str(self._call("token"))

    def epoch_length(self) -> int:
        return int(self._call("epochLength"))

    def max_attesters(self) -> int:
        return int(self._call("maxAttesters"))

    def current_epoch(self) -> int:
        return int(self._call("currentEpoch"))

    def epoch_end(self, epoch: int) -> int:
        """The block time from which ``epoch`` can be claimed."""
        return int(self._call("epochEnd", epoch))

    def pot(self, epoch: int) -> int:
        return int(self._call("pot", epoch))

    def audits(self, epoch: int, validator: str) -> int:
        return int(self._call("audits", epoch, _address(validator)))

    def total_audits(self, epoch: int) -> int:
        return int(self._call("totalAudits", epoch))

    def claimable(self, epoch: int, validator: str) -> int:
        return int(self._call("claimable", epoch, _address(validator)))

    def claimed(self, epoch: int, validator: str) -> bool:
        return bool(self._call("claimed", epoch, _address(validator)))

    def attesters(self, node: str, batch_id: int) -> int:
        return int(self._call("attesters", _address(node), batch_id))

    def has_attested(self, node: str, batch_id: int, validator: str) -> bool:
        return bool(self._call("attested", _address(node), batch_id, _address(validator)))

    def ledger(self) -> PoolLedger:
        return PoolLedger(*(int(x) for x in self._call("ledger")))

    def staking_address(self) -> str:
        return str(self._call("staking"))

    def anchor_address(self) -> str:
        return str(self._call("anchor"))
