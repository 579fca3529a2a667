"""Transactions and logs on the embedded chain found through indexes, not by reading every block.

eth-tester finds a transaction by hash by decoding every block from the head
down (``_get_transaction_by_hash``, whose own comment reads "the chain should be
able to look these up directly by hash"), and ``eth_getLogs`` decodes every
block of its range and looks each of its transactions up that way. A query from
block 0 — how cairn asks for disputes, challenges and convictions — thus decoded
about blocks × transactions blocks, and a chain that moves with the clock gains
a block a second: in the adversarial test nine processes polling one embedded
chain spent 344 of its 381 s of CPU inside ``eth_getLogs``.

py-evm keeps the index eth-tester leaves unused: transaction hash → (block
number, position) on the canonical chain (``ChainDB.get_transaction_index``),
written when a block is persisted and removed when it leaves the canonical
chain. :class:`IndexedBackend` looks there first and takes the answer only if
that block is already mined and holds that very transaction at that position;
otherwise (a transaction in the pending block, an index made stale by
``evm_revert``) eth-tester's own scan answers. Either way the answer is the one
eth-tester gives.

For logs, each block header carries a 2048-bit bloom of the addresses and
topics that logged in it (the Yellow Paper's ``logsBloom``, built by its
``M3:2048`` function), and a block with no transactions has the empty receipts
root. :class:`IndexedTester` reads only the headers of a range and hands
eth-tester the blocks that can hold a log of the filter's address; the others
cannot, so the logs are the same.
"""

from __future__ import annotations

from typing import Any

from eth.constants import BLANK_ROOT_HASH
from eth.exceptions import TransactionNotFound
from eth_bloom.bloom import BloomFilter
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import _get_block_by_number, _get_transaction_by_hash
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import BlockNotFound
from eth_utils.address import to_canonical_address
from eth_utils.types import is_list_like

__all__ = ["IndexedBackend", "IndexedTester"]


class IndexedBackend(PyEVMBackend):  # type: ignore[misc]
    """eth-tester's py-evm backend, finding a transaction by hash through py-evm's index."""

    def _find(self, tx_hash: bytes) -> tuple[Any, Any, int, bool]:
        """The block, transaction and position of ``tx_hash``, and whether the block is
        the pending one."""
        pending = self.chain.get_block()
        for index, tx in enumerate(pending.transactions):  # eth-tester looks here first
            if tx.hash == tx_hash:
                return pending, tx, index, True
        try:
            number, index = self.chain.chaindb.get_transaction_index(tx_hash)
            block = _get_block_by_number(self.chain, number)  # a mined one only
        except (TransactionNotFound, BlockNotFound):
            pass
        else:
            txs = block.transactions
            if index < len(txs) and txs[index].hash == tx_hash:
                return block, txs[index], index, False
        block, tx, index = _get_transaction_by_hash(self.chain, tx_hash)
        return block, tx, index, block.number == pending.number

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, tx, index, pending = self._find(transaction_hash)
        return serialize_transaction(block, tx, index, pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, tx, index, pending = self._find(transaction_hash)
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(
            block, receipts, tx, index, pending, self.chain.get_vm()
        )


class IndexedTester(EthereumTester):  # type: ignore[misc]
    """eth-tester whose ``get_logs`` skips the blocks a log of the filter cannot be in."""

    backend: IndexedBackend

    def get_logs(
        self, from_block: Any = None, to_block: Any = None, address: Any = None, topics: Any = None
    ) -> tuple[Any, ...]:
        span = self._span(from_block, to_block)
        if span is None:
            return tuple(super().get_logs(from_block, to_block, address, topics))
        # eth-tester's checks first, so a bad filter fails even over blocks skipped below
        self.validator.validate_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        terms = _bloom_terms(address)
        logs: list[Any] = []
        for number in span:
            if self._may_hold(number, terms):
                logs += super().get_logs(number, number, address, topics)
        return tuple(logs)

    def _span(self, from_block: Any, to_block: Any) -> range | None:
        """The mined blocks ``from_block..to_block``; None where eth-tester answers itself:
        for other tags (its filter reads ``earliest`` and ``pending`` its own way) and for
        a range reaching past the mined blocks (an error)."""
        if not all(isinstance(b, int) or b in (None, "latest") for b in (from_block, to_block)):
            return None
        pending = self.backend.chain.get_block().number  # every mined block is below it
        lo, hi = (b if isinstance(b, int) else pending - 1 for b in (from_block, to_block))
        return None if hi >= pending else range(lo, hi + 1)

    def _may_hold(self, number: int, terms: list[bytes]) -> bool:
        header = self.backend.chain.get_canonical_block_header_by_number(number)
        if header.receipt_root == BLANK_ROOT_HASH:  # no transactions, no logs
            return False
        if not terms:
            return True
        bloom = BloomFilter(header.bloom)
        return any(term in bloom for term in terms)


def _bloom_terms(address: Any) -> list[bytes]:
    """What the bloom of a block holding a wanted log contains (one of them); empty: anything.

    Called after eth-tester's validation: ``address`` is None, an address or a list of them.
    """
    if address is None:
        return []
    return [to_canonical_address(a) for a in (address if is_list_like(address) else [address])]
