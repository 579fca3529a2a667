"""The validator pool and node splitters on both backends: where clients pay (computed
offline, equal to the contract's view and to what CREATE2 creates), the 10% share of
every payment (ERC-20 transfer and EIP-3009 authorization), who may attest, pro-rata
claims with tracked dust, rollover, every refusal, and the ledger identity to the wei."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, replace
from fractions import Fraction

import pytest
from eth_hash.auto import keccak

from cairn.chain import (
    Deployment,
    DeployParams,
    Network,
    RevenueSplitter,
    Role,
    ValidatorPool,
    sign_authorization,
    splitter_address,
)
from cairn.chain.pool import BPS, proxy_init_code
from cairn.chain.token import new_nonce
from cairn.errors import ConfigError, ContractRevert, NotDeployed
from cairn.identity import LocalSigner

ETHER = 10**18
USD = 10**6
PARAMS = DeployParams()  # what tests/chain/conftest.py deploys with
ROOT = bytes(range(32))
DAVE = LocalSigner(keccak(b"pool-dave"))
ERIN = LocalSigner(keccak(b"pool-erin"))
# EIP-1167's runtime code around the implementation (what every splitter runs)
RUNTIME = ("363d3d373d3d3d363d73", "5af43d82803e903d91602b57fd5bf3")


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    """A revert this file trips (the revert-coverage test reads ``reverts("…")`` calls)."""
    return pytest.raises(ContractRevert, match=re.escape(reason))


@pytest.fixture
def pool(chain):
    return chain.pool


@pytest.fixture
def payer(chain, judge):
    """A client holding 1000 cUSD."""
    chain.token.mint(chain.dev_keys()[0], judge.address, 1000 * USD)
    return judge


def _stake(chain, who, role=Role.VALIDATOR):
    chain.staking.register(who, role, "https://x")
    amount = PARAMS.min_node_stake if role is Role.NODE else PARAMS.min_validator_stake
    chain.staking.stake(who, amount)


def _node_with_batches(chain, node, *batches):
    _stake(chain, node, Role.NODE)
    for batch in batches:
        chain.anchor.anchor(node, batch, ROOT, 10)


def _fresh_epoch(chain, pool) -> int:
    """Move to the first second of the next epoch (so a test's steps share one epoch)."""
    _end(chain, pool, pool.current_epoch())
    return pool.current_epoch()


def _end(chain, pool, epoch):
    """Move past ``epoch``; a block is mined there, so reads see the new epoch too."""
    chain.increase_time(max(1, pool.epoch_end(epoch) - chain.now()))
    chain.mine()


def _held(chain, pool):
    """The pool's ledger, checked against the token's own balance of the pool."""
    ledger = pool.ledger()
    assert chain.token.balance_of(pool.address) == ledger.held == ledger.unpaid + ledger.dust
    assert ledger.received == ledger.paid + ledger.unpaid + ledger.dust
    return ledger


# -- splitters: where clients pay ------------------------------------------------------------


def test_the_splitter_address_is_computed_offline(chain, pool, alice, bob):
    implementation = pool.implementation()
    offline = splitter_address(pool.address, implementation, alice.address)
    assert pool.splitter_of(alice.address) == offline
    assert not pool.splitter(alice.address).created()
    tx = pool.create_splitter(bob, alice.address)  # anyone may create it
    assert tx.value == offline and pool.splitter(alice.address).created()
    created = pool._event(chain._w3.eth.get_transaction_receipt(tx.hash), "SplitterCreated")
    assert (created["node"], created["splitter"]) == (alice.address, offline)
    code = chain._w3.eth.get_code(offline).hex().removeprefix("0x")
    assert code == RUNTIME[0] + implementation[2:].lower() + RUNTIME[1]
    again = pool.create_splitter(alice, alice.address)
    assert again.value == offline and again.gas_used < tx.gas_used // 2  # created once
    splitter = pool.splitter(alice.address)
    assert splitter.address == offline
    with pytest.raises(NotDeployed, match="create it"):  # an address without code yet
        pool.splitter(bob.address).release(bob)
    assert (splitter.node(), splitter.pool_address(), splitter.token_address()) == (
        alice.address,
        pool.address,
        chain.token.address,
    )
    with reverts("zero node"):
        pool.create_splitter(bob, "0x" + "00" * 20)


def test_offline_addresses_agree_with_the_contract_for_any_node(pool):
    implementation = pool.implementation()
    for i in range(8):
        node = LocalSigner(keccak(f"pool-node-{i}".encode())).address
        assert splitter_address(pool.address, implementation, node) == pool.splitter_of(node)
    assert len(proxy_init_code(implementation)) == 54  # Vyper's loader (9) + EIP-1167 (45)


def test_a_transfer_to_the_splitter_pays_the_pool_ten_percent(chain, pool, payer, alice, carol):
    token, to = chain.token, pool.splitter_of(alice.address)
    token.transfer(payer, to, 1_234_567)  # paid before the splitter exists
    splitter = RevenueSplitter(
        chain._w3, chain.backend, pool.create_splitter(carol, alice.address).value
    )
    epoch = pool.current_epoch()
    tx = splitter.release(carol)  # anyone releases; nothing reaches carol
    assert pool.share() == 1000
    assert (tx.value.node, tx.value.to_pool, tx.value.to_node) == (
        alice.address,
        123_456,
        1_111_111,
    )
    assert token.balance_of(alice.address) == 1_111_111 and token.balance_of(to) == 0
    assert token.balance_of(pool.address) == pool.pot(epoch) == 123_456
    assert token.balance_of(carol.address) == 0
    funded = pool._logs("Funded", tx.block_number, tx.block_number)
    assert [(f["args"]["funder"], f["args"]["amount"]) for f in funded] == [(to, 123_456)]
    assert tx.gas_used < 170_000  # the first: every balance and counter is written fresh
    with reverts("nothing to release"):
        splitter.release(carol)
    token.transfer(payer, to, 1_000)
    assert splitter.release(carol).gas_used < 90_000  # a release once the accounts exist
    token.transfer(payer, to, 9)  # the pool's share rounds down to nothing: all to the node
    assert splitter.release(carol).value.to_node == 9 and token.balance_of(to) == 0
    _held(chain, pool)


def test_an_eip3009_payment_to_the_splitter_is_split(chain, pool, payer, alice, carol):
    token, to = chain.token, pool.create_splitter(carol, alice.address).value
    auth = {
        "from_": payer.address,
        "to": to,
        "value": 5 * USD,
        "valid_after": 0,
        "valid_before": chain.now() + 3600,
        "nonce": new_nonce(),
    }
    signature = sign_authorization(payer, token.domain(), **auth)
    token.transfer_with_authorization(carol, **auth, signature=signature)  # carol: facilitator
    released = pool.splitter(alice.address).release(alice).value
    assert (released.to_pool, released.to_node) == (5 * USD * 1000 // BPS, 5 * USD * 9000 // BPS)
    assert token.balance_of(alice.address) == 4_500_000
    assert token.balance_of(pool.address) == 500_000 and token.balance_of(to) == 0
    assert _held(chain, pool).received == 500_000


def test_a_splitter_is_initialized_once_by_its_pool(chain, pool, alice, bob):
    pool.create_splitter(alice, alice.address)
    splitter = pool.splitter(alice.address)
    with reverts("already initialized"):
        splitter._send(bob, "initialize", bob.address, pool.address, chain.token.address)
    with reverts("already initialized"):  # not even by its pool's address
        splitter._send(bob, "initialize", bob.address, bob.address, chain.token.address)
    implementation = RevenueSplitter(chain._w3, chain.backend, pool.implementation())
    with reverts("not the pool"):
        implementation._send(bob, "initialize", bob.address, pool.address, chain.token.address)
    with reverts("not initialized"):
        implementation.release(bob)


# -- audits ------------------------------------------------------------------------------------


def test_attest_is_refused_unless_a_fresh_audit_by_a_staked_validator(
    chain, pool, alice, bob, carol, judge
):
    chain.fund(DAVE.address, 10 * ETHER)
    _node_with_batches(chain, alice, 1)
    with reverts("not a staked validator"):  # unstaked
        pool.attest(bob, alice.address, 1)
    chain.staking.register(bob, Role.VALIDATOR, "https://v")
    with reverts("not a staked validator"):  # registered, not staked
        pool.attest(bob, alice.address, 1)
    with reverts("not a staked validator"):  # a staked node is no validator
        pool.attest(alice, alice.address, 1)
    chain.staking.stake(bob, PARAMS.min_validator_stake)
    for v in (carol, judge, DAVE):
        _stake(chain, v)
    with reverts("own batch"):
        pool.attest(bob, bob.address, 1)
    with reverts("batch not anchored"):
        pool.attest(bob, alice.address, 2)
    tx = pool.attest(bob, alice.address, 1)
    assert tx.value == pool.current_epoch() and tx.gas_used < 140_000
    assert pool.has_attested(alice.address, 1, bob.address)
    with reverts("already attested"):
        pool.attest(bob, alice.address, 1)
    pool.attest(carol, alice.address, 1)
    pool.attest(judge, alice.address, 1)
    assert pool.attesters(alice.address, 1) == pool.max_attesters() == 3
    with reverts("attesters full"):
        pool.attest(DAVE, alice.address, 1)
    assert pool.total_audits(tx.value) == 3 and pool.audits(tx.value, DAVE.address) == 0


# -- claims ------------------------------------------------------------------------------------


def test_claims_are_pro_rata_after_the_epoch_and_dust_is_kept(
    chain, pool, payer, alice, bob, carol
):
    _node_with_batches(chain, alice, 1, 2)
    _stake(chain, bob)
    _stake(chain, carol)
    epoch = _fresh_epoch(chain, pool)
    chain.token.approve(payer, pool.address, 100)
    assert pool.fund(payer, 100).value == epoch
    assert {pool.attest(bob, alice.address, b).value for b in (1, 2)} == {epoch}
    assert pool.attest(carol, alice.address, 1).value == epoch
    with reverts("epoch not over"):
        pool.claim(bob, epoch)
    assert pool.claimable(epoch, bob.address) == 0
    _end(chain, pool, epoch)
    assert (pool.claimable(epoch, bob.address), pool.claimable(epoch, carol.address)) == (66, 33)
    first = pool.claim(bob, epoch)
    assert first.value == 66 and first.gas_used < 140_000  # every slot fresh
    assert pool.claim(carol, epoch).value == 33
    assert chain.token.balance_of(bob.address) == 66 and chain.token.balance_of(carol.address) == 33
    ledger = _held(chain, pool)
    assert (ledger.received, ledger.paid, ledger.unpaid, ledger.dust) == (100, 99, 0, 1)
    with reverts("already claimed"):
        pool.claim(bob, epoch)
    assert pool.claimable(epoch, bob.address) == 0
    with reverts("no audits"):
        pool.claim(payer, epoch)
    # the dust joins the next pot funded
    chain.token.approve(payer, pool.address, 10)
    tx = pool.fund(payer, 10)
    assert pool.pot(tx.value) == 11 and pool.ledger().dust == 0
    rolled = pool._logs("DustRolled", tx.block_number, tx.block_number)
    assert [(r["args"]["epoch"], r["args"]["amount"]) for r in rolled] == [(tx.value, 1)]
    _held(chain, pool)


def test_an_unaudited_pot_rolls_over(chain, pool, payer, alice, bob):
    _node_with_batches(chain, alice, 1)
    _stake(chain, bob)
    empty = _fresh_epoch(chain, pool)
    _end(chain, pool, empty)
    epoch = pool.current_epoch()
    chain.token.approve(payer, pool.address, 10**6)
    pool.fund(payer, 700)
    with reverts("epoch not over"):
        pool.rollover(payer, epoch)
    _end(chain, pool, epoch)
    with reverts("empty pot"):
        pool.rollover(payer, empty)
    tx = pool.rollover(bob, epoch)  # anyone
    now = pool.current_epoch()
    assert tx.value == 700 and (pool.pot(epoch), pool.pot(now)) == (0, 700)
    with reverts("empty pot"):
        pool.rollover(bob, epoch)
    pool.attest(bob, alice.address, 1)  # now the rolled pot has an audit
    _end(chain, pool, now)
    with reverts("epoch has audits"):
        pool.rollover(bob, now)
    assert pool.claim(bob, now).value == 700
    assert _held(chain, pool).unpaid == 0


def test_fund_refuses_nothing_and_what_it_cannot_pull(chain, pool, payer):
    with reverts("zero amount"):
        pool.fund(payer, 0)
    with reverts("transfer amount exceeds allowance"):  # the token's own refusal
        pool.fund(payer, 1)


def test_the_constructor_refuses_empty_epochs_and_no_seats(chain):
    dev, d = chain.dev_keys()[0], chain.deployment
    implementation = chain.pool.implementation()
    with reverts("zero epoch length"):
        chain._create(dev, "ValidatorPool", d.token, d.staking, d.anchor, implementation, 0, 3)
    with reverts("zero max attesters"):
        chain._create(dev, "ValidatorPool", d.token, d.staking, d.anchor, implementation, 60, 0)


# A token that answers `false` instead of reverting (as some ERC-20s do)
FALSE_TOKEN = """
# pragma version ~=0.4.1
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
refuseTransfer: public(bool)
refuseTransferFrom: public(bool)

@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount

@external
def refuse(transfer: bool, transferFrom: bool):
    self.refuseTransfer = transfer
    self.refuseTransferFrom = transferFrom

@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True

@external
def transfer(to: address, amount: uint256) -> bool:
    if self.refuseTransfer:
        return False
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    return True

@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    if self.refuseTransferFrom:
        return False
    self.allowance[owner][msg.sender] -= amount
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    return True
"""


def test_a_token_that_answers_false_is_refused(chain, alice, bob, carol):
    from _vyper import deploy

    dev, d = chain.dev_keys()[0], chain.deployment
    fake = deploy(chain, dev, FALSE_TOKEN)
    implementation, _ = chain._create(dev, "RevenueSplitter")
    address, _ = chain._create(
        dev, "ValidatorPool", fake.address, d.staking, d.anchor, implementation, 3600, 3
    )
    pool = chain._at(ValidatorPool, address)
    _fresh_epoch(chain, pool)  # fund and audit in one epoch
    fake.send(dev, "mint", carol.address, 1000)
    fake.send(carol, "approve", pool.address, 1000)
    fake.send(dev, "refuse", False, True)
    with reverts("transfer failed"):  # fund: transferFrom answered false
        pool.fund(carol, 100)
    fake.send(dev, "refuse", False, False)
    pool.fund(carol, 100)
    pool.create_splitter(alice, alice.address)
    splitter = pool.splitter(alice.address)
    fake.send(carol, "transfer", splitter.address, 50)
    fake.send(dev, "refuse", True, False)
    with reverts("transfer failed"):  # release: the node's part answered false
        splitter.release(alice)
    _node_with_batches(chain, alice, 1)
    _stake(chain, bob)
    epoch = pool.attest(bob, alice.address, 1).value
    _end(chain, pool, epoch)
    with reverts("transfer failed"):  # claim: the payout answered false
        pool.claim(bob, epoch)
    fake.send(dev, "refuse", False, False)
    assert pool.claim(bob, epoch).value == 100


# -- the ledger ---------------------------------------------------------------------------------


def test_the_ledger_holds_to_the_wei(chain, pool, payer, alice, bob, carol):
    """Payments to two nodes, releases, funds, audits, claims and a rollover over three
    epochs: after every step the pool holds exactly its unpaid pots plus its dust."""
    chain.fund(DAVE.address, 10 * ETHER)
    _node_with_batches(chain, alice, 1, 2, 3)
    for v in (bob, carol, DAVE):
        _stake(chain, v)
    token, start = chain.token, chain.head()
    token.approve(payer, pool.address, 10**9)
    inflow, claims = 0, {}

    def pay_and_release(node: str, amount: int) -> None:
        nonlocal inflow
        pool.create_splitter(payer, node)
        splitter = pool.splitter(node)
        token.transfer(payer, splitter.address, amount)
        inflow += splitter.release(payer).value.to_pool
        _held(chain, pool)

    a = _fresh_epoch(chain, pool)
    pay_and_release(alice.address, 3_333_337)
    pay_and_release(ERIN.address, 777_777)
    odd = (3 - pool.pot(a) % 4) % 4 + 4  # make pot(a) = 3 mod 4: claims leave remainders
    pool.fund(payer, odd)
    inflow += odd
    for v, batch in ((bob, 1), (bob, 2), (carol, 1), (DAVE, 3)):
        pool.attest(v, alice.address, batch)
    _held(chain, pool)
    pot_a = pool.pot(a)
    assert pot_a % 4 == 3 and pool.total_audits(a) == 4

    _end(chain, pool, a)
    b = pool.current_epoch()
    claims[bob.address] = pool.claim(bob, a).value
    _held(chain, pool)
    pay_and_release(alice.address, 1_000_003)  # epoch b: paid, never audited
    claims[carol.address] = pool.claim(carol, a).value
    _held(chain, pool)

    _end(chain, pool, b)
    c = pool.current_epoch()
    pool.rollover(carol, b)
    _held(chain, pool)
    claims[DAVE.address] = pool.claim(DAVE, a).value
    pay_and_release(ERIN.address, 55)

    for who, done in ((bob.address, 2), (carol.address, 1), (DAVE.address, 1)):
        assert claims[who] == int(Fraction(pot_a * done, 4))  # rounded down
    ledger = _held(chain, pool)
    assert ledger.received == inflow and ledger.paid == sum(claims.values())
    assert ledger.unpaid == pool.pot(c)  # a is fully claimed, b rolled into c
    dust_made = pot_a - sum(claims.values())
    rolled = sum(log["args"]["amount"] for log in pool._logs("DustRolled", start))
    assert dust_made == 2 and rolled + ledger.dust == dust_made
    assert token.balance_of(pool.address) == pool.pot(c) + ledger.dust


# -- deployment ---------------------------------------------------------------------------------


def test_the_pool_is_deployed_with_the_network(chain):
    pool, d = chain.pool, chain.deployment
    assert pool.address == d.pool and pool.token_address() == d.token
    assert (pool.staking_address(), pool.anchor_address()) == (d.staking, d.anchor)
    assert (pool.epoch_length(), pool.max_attesters()) == (24 * 3600, 3)
    assert chain._has_code(pool.implementation())


def test_old_records_and_profiles_without_a_pool_still_load(chain):
    old = {k: v for k, v in asdict(chain.deployment).items() if k != "pool"}
    old["params"] = {
        k: v for k, v in old["params"].items() if k not in ("pool_epoch", "pool_max_attesters")
    }
    d = Deployment.from_json(old)
    assert d.pool is None and d.params == PARAMS
    profile = Network.from_deployment("old", d, chain.url).to_json()
    profile.pop("pool")
    assert Network.from_json(profile).pool is None
    net = Network.from_deployment("new", chain.deployment, chain.url)
    assert net.pool == chain.pool.address and Network.from_json(net.to_json()) == net


def test_a_recorded_deployment_gains_the_pool(tmp_path):
    from cairn.chain import connect

    c = connect("embedded://", tmp_path / "data")
    dev = c.dev_keys()[0]
    c.deploy(dev)
    c._record(replace(c.deployment, pool=None))
    c2 = connect("embedded://", tmp_path / "data")
    assert c2.deployment.pool is None
    with pytest.raises(NotDeployed, match="no ValidatorPool recorded"):
        _ = c2.pool
    found = c2.deploy(dev)
    assert found.pool is not None and c2.pool.token_address() == found.token
    assert connect("embedded://", tmp_path / "data").deployment.pool == found.pool
    c2._deployment = replace(found, pool=None, token=None)
    with pytest.raises(NotDeployed, match="deploy_token first"):
        c2.deploy_pool(dev)


@pytest.mark.integration
def test_a_network_profile_pins_and_checks_the_pool(anvil_chain):
    from cairn.chain import check_network

    chain = anvil_chain  # check_network connects anew: the embedded chain is per process
    net = Network.from_deployment("t", chain.deployment, chain.url)
    assert check_network(net, use=True).pool.address == chain.deployment.pool
    dev, d = chain.dev_keys()[0], chain.deployment
    other_token, _ = chain._create(dev, "CairnUSD", "Other", "O", 6)
    args = (d.staking, d.anchor, chain.pool.implementation(), 60, 3)
    other, _ = chain._create(dev, "ValidatorPool", other_token, *args)
    with pytest.raises(ConfigError, match="uses token"):
        check_network(dataclasses.replace(net, pool=other))
    with pytest.raises(ConfigError, match="no contract at ValidatorPool"):
        check_network(dataclasses.replace(net, pool="0x" + "12" * 20))
