"""Online receipt checks against a chain: the anchored root and the node's stake.

Needs only a JSON-RPC URL and the receipt itself: the ReceiptAnchor address
is the receipt's EIP-712 ``verifyingContract`` and the anchor names its Staking
contract. The stake is read at the latest block (an archive node would allow
checking it at the block the receipt was issued).
"""

from __future__ import annotations

from collections.abc import Callable

from cairn.chain import ReceiptAnchor, Role, Staking, connect
from cairn.receipts.receipt import Receipt

__all__ = ["OnchainView"]


class OnchainView:
    """``root_of`` and ``is_staked`` for receipts of one network, read over RPC."""

    def __init__(self, chain_url: str, receipt: Receipt) -> None:
        self.chain = connect(chain_url, expect_chain_id=receipt.domain.chain_id)
        w3, backend = self.chain.w3, self.chain.backend
        self.anchor = ReceiptAnchor(w3, backend, receipt.domain.anchor)
        self.staking = Staking(w3, backend, str(self.anchor._call("staking")))

    def checks(self) -> tuple[Callable[[str, int], bytes | None], Callable[[str], bool]]:
        return self.anchor.root_of, lambda node: self.staking.is_staked(node, Role.NODE)
