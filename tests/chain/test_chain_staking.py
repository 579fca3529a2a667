"""Staking on both backends: roles, minimums, unbonding delay, the one slasher and its locks."""

from __future__ import annotations

import pytest
from _vyper import SLASHER, deploy

from cairn.chain import DeployParams, Lock, Role
from cairn.errors import ContractRevert

ETHER = 10**18
PARAMS = DeployParams()  # what tests/chain/conftest.py deploys with

MIN = PARAMS.min_node_stake


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, match=f"^Staking: reverted: {reason}$")


def test_register_stake_unbond_withdraw(chain, alice):
    st = chain.staking
    st.register(alice, Role.NODE, "https://n.example", ["minilm"], b"\x07" * 32)
    assert not st.is_staked(alice.address)
    st.stake(alice, MIN)
    assert st.is_staked(alice.address) and not st.is_staked(alice.address, Role.VALIDATOR)
    p = st.participant(alice.address)
    assert (p.role, p.endpoint, p.stake) == (Role.NODE, "https://n.example", MIN)
    assert p.seal_key == b"\x07" * 32
    release = st.unbond(alice, MIN).value
    assert not st.is_staked(alice.address)
    with reverts("still unbonding"):
        st.withdraw(alice)
    chain.increase_time(PARAMS.unbonding_delay + 1)
    assert chain.now() >= release
    before = chain.balance(alice.address)
    tx = st.withdraw(alice)
    assert tx.value == MIN
    assert chain.balance(alice.address) == before + MIN - tx.fee


def test_register_reverts(chain, alice):
    st = chain.staking
    with reverts("bad role"):
        st.register(alice, 3, "x")  # type: ignore[arg-type]
    st.register(alice, Role.NODE, "x")
    with reverts("role cannot change"):
        st.register(alice, Role.VALIDATOR, "x")
    st.register(alice, Role.NODE, "https://moved.example")  # updating the endpoint is fine
    assert st.participant(alice.address).endpoint == "https://moved.example"


def test_stake_reverts(chain, alice, bob):
    st = chain.staking
    with reverts("not registered"):
        st.stake(alice, MIN)
    st.register(alice, Role.NODE, "x")
    with reverts("zero amount"):
        st.stake(alice, 0)
    with reverts("below minimum stake"):
        st.stake(alice, MIN - 1)
    st.register(bob, Role.VALIDATOR, "v")
    with reverts("below minimum stake"):
        st.stake(bob, MIN)
    with reverts("wrong value"):
        st._send(alice, "stake", MIN, value=MIN + 1)


def test_unbond_withdraw_reverts(chain, alice):
    st = chain.staking
    st.register(alice, Role.NODE, "x")
    st.stake(alice, 3 * MIN)
    with reverts("zero amount"):
        st.unbond(alice, 0)
    with reverts("exceeds stake"):
        st.unbond(alice, 3 * MIN + 1)
    with reverts("below minimum stake"):
        st.unbond(alice, 3 * MIN - 1)
    with reverts("nothing unbonding"):
        st.withdraw(alice)


def test_slash_takes_bonded_then_unbonding(chain, alice, judge, slasher):
    st = chain.staking
    st.register(alice, Role.NODE, "x")
    st.stake(alice, 3 * MIN)
    st.unbond(alice, MIN)
    before = chain.balance(slasher.address)
    slasher.send(judge, "slash", alice.address, 2 * MIN + MIN // 2)
    assert chain.balance(slasher.address) == before + 2 * MIN + MIN // 2
    p = st.participant(alice.address)
    assert (p.stake, p.unbonding) == (0, MIN // 2)
    slasher.send(judge, "slash", alice.address, 10 * ETHER)
    assert chain.balance(slasher.address) == before + 3 * MIN
    with pytest.raises(ContractRevert, match="nothing to slash"):
        slasher.send(judge, "slash", alice.address, 1)


@pytest.mark.parametrize(
    ("lock", "reason"),
    [
        (Lock.DISPUTED, "under dispute"),
        (Lock.JUROR, "locked by a dispute"),
        (Lock.POOL, "in the juror pool"),
        (Lock.JAILED, "jailed"),
    ],
)
def test_locked_stake_cannot_unbond_nor_withdraw(chain, alice, judge, slasher, lock, reason):
    st = chain.staking
    st.register(alice, Role.NODE, "x")
    st.stake(alice, 3 * MIN)
    st.unbond(alice, MIN)
    chain.increase_time(PARAMS.unbonding_delay + 1)
    slasher.send(judge, "setLock", alice.address, int(lock))
    with reverts(reason):
        st.unbond(alice, MIN)
    with reverts(reason):
        st.withdraw(alice)
    slasher.send(judge, "setLock", alice.address, int(Lock.NONE))
    assert st.withdraw(alice).value == MIN
    st.unbond(alice, MIN)


def test_unbonding_must_outlast_the_longest_dispute(chain, alice):
    dev = chain.dev_keys()[0]
    chain.deploy(dev, PARAMS, record=False)
    st = chain.staking
    too_long = deploy(chain, dev, SLASHER, st.address, PARAMS.unbonding_delay)
    with reverts("unbonding shorter than a dispute"):
        st.set_slasher(dev, too_long.address)
    with reverts("slasher is not a contract"):
        st.set_slasher(dev, alice.address)
    fits = deploy(chain, dev, SLASHER, st.address, PARAMS.unbonding_delay - 1)
    st.set_slasher(dev, fits.address)
    assert st.slasher == fits.address


def test_slasher_is_set_once(chain, alice, slasher):
    st = chain.staking
    assert st.slasher == slasher.address
    st.register(alice, Role.NODE, "x")
    st.stake(alice, MIN)
    with reverts("not the slasher"):
        st.slash(alice, alice.address, 1)
    dev = chain.dev_keys()[0]
    with reverts("slasher already set"):
        st.set_slasher(dev, alice.address)
    with reverts("not the admin"):
        st.set_slasher(alice, alice.address)


def test_zero_slasher_refused_on_fresh_deployment(chain):
    dev = chain.dev_keys()[0]
    chain.deploy(dev, PARAMS, record=False)
    assert chain.staking.slasher is None
    with reverts("zero slasher"):
        chain.staking.set_slasher(dev, "0x" + "00" * 20)
