"""An embedded cairn network with known stakes, owners, jail and an unbonding node.

Built once per module by the live-audit tests: three staked nodes (3, 2 and 1
ether), one more that is unbonding and one that is jailed (convicted by an
objective anchor challenge), two staked validators in the juror pool, and a
model whose owner set a one-hour update delay. Imported by name: tests are not
a package.
"""

from __future__ import annotations

import os
from pathlib import Path

from eth_hash.auto import keccak

from cairn.chain import Chain, DeployParams, DisputeParams, Network, Role, connect
from cairn.config import DataDir
from cairn.content import Cid
from cairn.identity import LocalSigner
from cairn.receipts import Receipt, ReceiptDomain

ETHER = 10**18
PARAMS = DeployParams(unbonding_delay=1000)
DPARAMS = DisputeParams(
    draw_window=100, commit_window=100, reveal_window=100, leave_delay=400, response_window=100
)
MODEL = str(Cid.of(b"the audited model"))
STAKES = {"n1": 3 * ETHER, "n2": 2 * ETHER, "n3": 1 * ETHER}
OWNER_DELAY = 3600


def account(name: str) -> LocalSigner:
    return LocalSigner(keccak(f"cairn-audit-live-{name}".encode()))


def build(root: Path) -> tuple[DataDir, Network]:
    """Deploy and populate the network in ``root``; its profile reads it as ``embedded://``."""
    dd = DataDir(root).ensure()
    chain = connect("embedded://", dd)
    try:
        dev = chain.dev_keys()[0]
        chain.deploy(dev, PARAMS, disputes=DPARAMS)
        for name in (*STAKES, "leaver", "cheat", "v1", "v2", "client"):
            chain.fund(account(name).address, 100 * ETHER)
        for name, wei in STAKES.items():
            _node(chain, name, wei)
        _node(chain, "leaver", ETHER)
        chain.staking.unbond(account("leaver"), ETHER // 2)
        _node(chain, "cheat", ETHER)
        for name in ("v1", "v2"):
            chain.staking.register(account(name), Role.VALIDATOR, "")
            chain.staking.stake(account(name), ETHER)
            chain.disputes.join(account(name))
        owner = account("n1")
        chain.registry.register(owner, "audited", OWNER_DELAY)
        chain.registry.publish(owner, "audited", MODEL)
        _jail(chain, "cheat")
        network = Network.from_deployment("emb", chain.deployment, "embedded://")
    finally:
        chain.close()
    return dd, network


def _node(chain: Chain, name: str, wei: int) -> None:
    chain.staking.register(account(name), Role.NODE, f"http://{name}.example:8000", [MODEL])
    chain.staking.stake(account(name), wei)


def _jail(chain: Chain, name: str) -> None:
    """A receipt the node never anchored, challenged and left unanswered: it is jailed."""
    cheat = account(name)
    domain = ReceiptDomain(chain.chain_id, chain.deployment.anchor)
    receipt = Receipt(
        MODEL,
        os.urandom(32),
        os.urandom(32),
        cheat.address,
        os.urandom(32),
        chain.now(),
        "onnxruntime/test",
        7,
        domain,
    ).sign(cheat)
    chain.increase_time(DPARAMS.anchor_deadline + 400)
    opened = chain.challenges.challenge_anchor(account("client"), receipt)
    chain.increase_time(DPARAMS.response_window + 1)
    chain.challenges.resolve(account("client"), opened.value)
    assert chain.disputes.is_jailed(cheat.address)
