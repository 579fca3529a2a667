"""Invariants under random operation sequences (hypothesis), on the embedded chain.

ETH is conserved across stake flows and the token across a payment channel
(x402 batch-settlement); nothing is withdrawn before its delay; a voucher never
pays more than the deposit, nor twice; only the slasher can slash; a non-owner
can never publish. Each example runs between an evm_snapshot and an evm_revert,
so examples are cheap and independent.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _vyper import SLASHER, Probe, deploy
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.chain import Chain, DeployParams, Role, batch, connect
from cairn.errors import ContractRevert
from cairn.identity import LocalSigner

PARAMS = DeployParams()
MIN = PARAMS.min_node_stake
ACCOUNTS = [LocalSigner(keccak(f"prop-{i}".encode())) for i in range(4)]
NODE, PAYEE, JUDGE, OTHER = ACCOUNTS
SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def base() -> Chain:
    c = connect("embedded://")
    dev = c.dev_keys()[0]
    c.deploy(dev, PARAMS, record=False)
    for a in ACCOUNTS:
        c.fund(a.address, 1000 * 10**18)
    c.slasher = deploy(c, dev, SLASHER, c.staking.address, 0)  # type: ignore[attr-defined]
    c.staking.set_slasher(dev, c.slasher.address)  # type: ignore[attr-defined]
    c.registry.register(NODE, "owned")
    c.staking.register(NODE, Role.NODE, "https://n")
    return c


class _Rollback:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def __enter__(self) -> Chain:
        self.snap = self.chain.snapshot()
        return self.chain

    def __exit__(self, *exc: object) -> None:
        self.chain.revert(self.snap)


@pytest.fixture
def fresh(base: Chain) -> Iterator[_Rollback]:
    yield _Rollback(base)


def _total(c: Chain, addresses: list[str]) -> int:
    return sum(c.balance(a) for a in addresses)


stake_ops = st.lists(
    st.one_of(
        st.tuples(st.just("stake"), st.integers(1, 5)),
        st.tuples(st.just("unbond"), st.integers(1, 5)),
        st.tuples(st.just("withdraw"), st.just(0)),
        st.tuples(st.just("wait"), st.sampled_from([3600, PARAMS.unbonding_delay + 1])),
        st.tuples(st.just("slash"), st.integers(1, 3)),
    ),
    max_size=8,
)


@SETTINGS
@given(ops=stake_ops)
def test_stake_flows_conserve_eth_and_respect_delay(fresh, ops):
    with fresh as c:
        st_ = c.staking
        probe: Probe = c.slasher  # type: ignore[attr-defined]
        people = [NODE.address, JUDGE.address, st_.address, probe.address]
        total = _total(c, people)
        fees = 0
        last_unbond = None
        for op, n in ops:
            try:
                if op == "stake":
                    fees += st_.stake(NODE, n * MIN).fee
                elif op == "unbond":
                    fees += st_.unbond(NODE, n * MIN // 2).fee
                    last_unbond = c.now()
                elif op == "withdraw":
                    fees += st_.withdraw(NODE).fee
                    assert last_unbond is not None
                    assert c.now() >= last_unbond + PARAMS.unbonding_delay
                elif op == "slash":
                    fees += probe.send(JUDGE, "slash", NODE.address, n * MIN // 3).fee
                else:
                    c.increase_time(n)
            except ContractRevert:
                pass
            p = st_.participant(NODE.address)
            assert c.balance(st_.address) == p.stake + p.unbonding
            assert _total(c, people) + fees == total


@SETTINGS
@given(
    deposit=st.integers(1, 10**6),
    vouchers=st.lists(st.integers(0, 2 * 10**6), max_size=6),
    topup=st.integers(0, 10**6),
)
def test_vouchers_never_overpay_nor_pay_twice(fresh, deposit, vouchers, topup):
    """A batch-settlement channel: claims stay within the deposit, a voucher claims only
    its growth, settle pays exactly what was claimed, and no token unit is made or lost."""
    with fresh as c:
        settlement, token, dev = batch.canonical(c), c.token, c.dev_keys()[0]
        config = batch.ChannelConfig(
            payer=NODE.address, receiver=PAYEE.address, receiver_authorizer=PAYEE.address,
            token=token.address,
        )  # fmt: skip
        cid = batch.channel_id(config, c.chain_id)
        holders = [NODE.address, PAYEE.address, settlement.address]
        token.mint(dev, NODE.address, deposit + topup)
        total = sum(token.balance_of(a) for a in holders)
        for amount in (deposit, topup):
            if amount:
                settlement.deposit_eip3009(
                    NODE, NODE, config, amount, token.domain(), valid_before=c.now() + 3600
                )
        cap, best = deposit + topup, 0
        for amount in vouchers:
            signed = batch.sign_voucher(NODE, cid, amount, c.chain_id)
            claim = [batch.VoucherClaim(config, amount, signed, amount)]
            try:
                claimed = settlement.claim(PAYEE, claim).value
            except ContractRevert as exc:
                assert amount > cap, exc.reason
                continue
            assert claimed == max(0, amount - best) and amount <= cap
            best = max(best, amount)
            assert settlement.claim(PAYEE, claim).value == 0  # the same voucher again
        assert settlement.channel(cid).total_claimed == best <= cap
        assert settlement.settle(OTHER, PAYEE.address, token.address).value == best
        assert token.balance_of(PAYEE.address) == best
        assert token.balance_of(settlement.address) == cap - best
        assert sum(token.balance_of(a) for a in holders) == total


@SETTINGS
@given(who=st.sampled_from(ACCOUNTS), amount=st.integers(1, 10**18))
def test_only_the_slasher_can_slash(fresh, who, amount):
    with fresh as c:
        c.staking.stake(NODE, MIN)
        if who == JUDGE:  # through the slasher contract
            c.slasher.send(who, "slash", NODE.address, amount)  # type: ignore[attr-defined]
            assert c.staking.participant(NODE.address).stake == MIN - min(amount, MIN)
        else:
            with pytest.raises(ContractRevert, match="not the slasher"):
                c.staking.slash(who, NODE.address, amount)
            assert c.staking.participant(NODE.address).stake == MIN


@SETTINGS
@given(
    who=st.sampled_from([PAYEE, JUDGE, OTHER]),
    content=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    transfer=st.booleans(),
)
def test_a_non_owner_never_publishes(fresh, who, content, transfer):
    with fresh as c:
        if transfer:
            c.registry.transfer(NODE, "owned", OTHER.address)
        owner = OTHER if transfer else NODE
        before = c.registry.model("owned")
        if who == owner:
            c.registry.publish(who, "owned", content)
            return
        with pytest.raises(ContractRevert, match="not the owner"):
            c.registry.publish(who, "owned", content)
        assert c.registry.model("owned") == before
