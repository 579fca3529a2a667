"""Validators are paid from demand: a validator attests the batches it audited, and
claims its share of what clients paid nodes (cairn.verification._pay, the pool in
cairn.chain.pool). The ledger balances to the wei: what the client paid equals what
the node and the validator got, plus the rounding the pool keeps.
"""

from __future__ import annotations

import os

from cairn.chain import Chain, DisputeParams, Role, connect
from cairn.content import Cid, MemoryBlockstore
from cairn.identity import LocalSigner
from cairn.receipts import MerkleTree, Receipt
from cairn.verification import MemoryNodeSource, Reexecutor, Validator, ValidatorState
from cairn.verification._pay import attest_audited, claim_earned

ETHER = 10**18


def _network() -> tuple[Chain, LocalSigner, LocalSigner, Validator]:
    chain = connect("embedded://")
    chain.deploy(chain.dev_keys()[0], disputes=DisputeParams())
    node = LocalSigner(b"paid-node".ljust(32, b"\1"))
    me = LocalSigner(b"paid-validator".ljust(32, b"\2"))
    for who, role in ((node, Role.NODE), (me, Role.VALIDATOR)):
        chain.fund(who.address, 10 * ETHER)
        chain.staking.register(who, role, "http://127.0.0.1:9", [])
        chain.staking.stake(who, chain.staking.min_stake(role))
    chain.mine()  # past the activation delay, if any
    v = Validator(
        chain,
        me,
        Reexecutor(MemoryBlockstore()),
        ValidatorState(None),
        sources=lambda _: MemoryNodeSource(),
    )
    return chain, node, me, v


def _anchor(chain: Chain, node: LocalSigner, batch_id: int) -> None:
    domain = chain.disputes.receipt_domain
    receipts = [
        Receipt(
            str(Cid.of(b"m")),
            os.urandom(32),
            os.urandom(32),
            node.address,
            os.urandom(32),
            chain.now(),
            "rt",
            1000,
            domain,
        ).sign(node)
        for _ in range(2)
    ]
    chain.anchor.anchor(node, batch_id, MerkleTree.build([r.digest() for r in receipts]).root, 2)


def test_a_validator_attests_what_it_audited_and_claims_its_share_to_the_wei() -> None:
    chain, node, me, v = _network()
    pool, token = chain.pool, chain.token
    deployer = chain.dev_keys()[0]
    _anchor(chain, node, 1)
    v.state.plan(node.address, 1, (0, 1))

    (first, second) = v.state.audits()
    v.state.settle(first, "passed")
    assert attest_audited(v, node.address, 1) is None  # a leaf still pending: not yet
    v.state.settle(second, "disputed")
    epoch = attest_audited(v, node.address, 1)
    assert epoch == pool.current_epoch() and pool.audits(epoch, me.address) == 1
    assert attest_audited(v, node.address, 1) is None  # once per batch
    assert attest_audited(v, node.address, 7) is None  # nothing audited there

    # a client pays the node 12 345 units through the node's splitter (its x402 payTo)
    client = LocalSigner(b"paying-client".ljust(32, b"\3"))
    paid = 12_345
    token.mint(deployer, client.address, paid)
    chain.fund(client.address, ETHER)  # gas for its transfer
    splitter = pool.create_splitter(deployer, node.address).value
    assert splitter == pool.splitter_of(node.address)
    token.transfer(client, splitter, paid)
    released = pool.splitter(node.address).release(deployer).value
    assert (released.to_node, released.to_pool) == (paid - paid // 10, paid // 10)

    assert claim_earned(v) == 0  # the epoch has not ended
    chain.increase_time(max(1, pool.epoch_end(epoch) - chain.now()))
    chain.mine()
    earned = claim_earned(v)
    assert earned == paid // 10  # the only validator that audited in the epoch
    assert claim_earned(v) == 0  # once
    ledger = pool.ledger()
    assert token.balance_of(client.address) == 0
    assert token.balance_of(node.address) + token.balance_of(me.address) + ledger.held == paid
    assert token.balance_of(pool.address) == ledger.held


def test_a_validator_that_audited_nothing_is_paid_nothing() -> None:
    chain, node, _me, v = _network()
    _anchor(chain, node, 1)
    pool = chain.pool
    epoch = pool.current_epoch()
    chain.increase_time(max(1, pool.epoch_end(epoch) - chain.now()))
    chain.mine()
    assert claim_earned(v) == 0
