"""Online receipt checks against a chain: the anchored root and the node's stake.

Needs only a JSON-RPC URL and the receipt itself: the ReceiptAnchor address
is the receipt's EIP-712 ``verifyingContract`` and the anchor names its Staking
contract. The stake is read at the latest block (an archive node would allow
checking it at the block the receipt was issued). The two callables are what
:func:`cairn.receipts.verify_online` takes.
"""

from __future__ import annotations

from collections.abc import Callable

from cairn.chain.anchor import ReceiptAnchor
from cairn.chain.client import connect
from cairn.chain.staking import Role, Staking
from cairn.receipts import Receipt

__all__ = ["OnchainView"]


class OnchainView:
    """``root_of`` and ``is_staked`` for receipts of one network, read over RPC.

    >>> root_of, is_staked = OnchainView(url, receipt).checks()  # doctest: +SKIP
    """

    def __init__(self, chain_url: str, receipt: Receipt) -> None:
        self.chain = connect(chain_url, expect_chain_id=receipt.domain.chain_id)
        self.anchor = self.chain._at(ReceiptAnchor, receipt.domain.anchor)
        self.staking = self.chain._at(Staking, self.anchor.staking_address())

    def checks(self) -> tuple[Callable[[str, int], bytes | None], Callable[[str], bool]]:
        return self.anchor.root_of, lambda node: self.staking.is_staked(node, Role.NODE)
