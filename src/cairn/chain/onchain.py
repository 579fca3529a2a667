"""Online receipt checks against a pinned network: the anchored root and the node's stake.

The network — chain id, RPC URL, ReceiptAnchor and Staking addresses — is the
client's own (:class:`~cairn.chain.networks.Network`, from a profile or the data
dir's deployment record), never read from the receipt being checked: a receipt
that names another chain or anchor is refused before anything is read, and the
anchor must answer to the pinned Staking contract. The stake is read at the
latest block (an archive node would allow checking it at the block the receipt
was issued). The two callables are what :func:`cairn.receipts.verify_online` takes.
"""

from __future__ import annotations

from collections.abc import Callable

from cairn.chain.anchor import ReceiptAnchor
from cairn.chain.client import Chain, connect
from cairn.chain.networks import Network
from cairn.chain.registry import ModelRegistry
from cairn.chain.staking import Participant, Role, Staking
from cairn.config import DataDir
from cairn.errors import ConfigError, NotDeployed, ReceiptInvalid
from cairn.receipts import Receipt

__all__ = ["OnchainView", "operator_refusal"]


class OnchainView:
    """``commitment_of`` and ``is_staked`` for receipts of one pinned network, read over RPC.

    >>> view = OnchainView(load_network(data_dir, "local"))   # doctest: +SKIP
    >>> commitment_of, is_staked = view.checks(receipt)       # doctest: +SKIP
    """

    def __init__(self, network: Network, data_dir: DataDir | None = None) -> None:
        self.network = network
        self.chain = connect(network.rpc, data_dir, expect_chain_id=network.chain_id)
        self.anchor = self.chain._at(ReceiptAnchor, network.anchor)
        staking = self.anchor.staking_address()
        if staking.lower() != network.staking.lower():
            raise ConfigError(
                f"network {network.name!r}: ReceiptAnchor {network.anchor} answers to "
                f"Staking {staking}, not the pinned {network.staking}"
            )
        self.staking = self.chain._at(Staking, network.staking)

    def checks(
        self, receipt: Receipt | None = None
    ) -> tuple[Callable[[str, int], bytes | None], Callable[[str], bool]]:
        """The checks; with ``receipt``, first refuse it if it names another network."""
        if receipt is not None and not receipt.domain.same_network(self.network.domain):
            raise ReceiptInvalid(
                f"receipt belongs to network {receipt.domain.describe()}, "
                f"not the pinned {self.network.describe()}"
            )
        return self.anchor.commitment_of, lambda node: self.staking.is_staked(node, Role.NODE)

    def current_model(self, name: str) -> str:
        """The CID of the pinned ModelRegistry's current version of ``name``."""
        if not self.network.registry:
            raise ConfigError(f"network {self.network.name!r} pins no ModelRegistry")
        return self.chain._at(ModelRegistry, self.network.registry).current(name).content_cid


def operator_refusal(chain: Chain, p: Participant) -> str | None:
    """Why ``p`` does not count as a serving operator of its role (None: it does).

    The one rule (issue 12) that the client's discovery and the auditor's operator
    counts share: at least the role's minimum bonded (``Staking.isStaked``), nothing
    unbonding (it is leaving), not jailed (``Disputes.isJailed``; nobody is jailed on
    a network without Disputes).
    """
    minimum = chain.staking.min_stake(p.role or Role.NODE)
    if p.role is None or p.stake == 0 or p.stake < minimum:
        return f"stake {p.stake} wei is below the minimum {minimum}"
    if p.unbonding > 0:
        return f"unbonding {p.unbonding} wei (leaving the network)"
    try:
        jailed = chain.disputes.is_jailed(p.address)
    except NotDeployed:
        jailed = False
    return "jailed" if jailed else None
