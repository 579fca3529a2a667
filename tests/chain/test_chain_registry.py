"""ModelRegistry on both backends: ownership, versions, delays, every revert."""

from __future__ import annotations

import pytest

from cairn.errors import ContractRevert


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, match=f"^ModelRegistry: reverted: {reason}$")


def test_register_publish_current_history(chain, alice):
    reg = chain.registry
    assert reg.model("minilm") is None
    reg.register(alice, "minilm")
    assert reg.publish(alice, "minilm", "bafyA", "bafyMA").value == 0
    assert reg.publish(alice, "minilm", "bafyB", "bafyMB").value == 1
    info = reg.model("minilm")
    assert info is not None and info.owner == alice.address and info.version_count == 2
    assert reg.current("minilm").content_cid == "bafyB"
    assert [v.manifest_cid for v in reg.history("minilm")] == ["bafyMA", "bafyMB"]


def test_update_delay_announces_then_applies(chain, alice):
    reg = chain.registry
    reg.register(alice, "m", update_delay=3600)
    v0 = reg.publish(alice, "m", "bafy0").value
    with reverts("no current version"):
        reg.current("m")
    chain.increase_time(3601)
    assert reg.current("m").index == v0
    reg.publish(alice, "m", "bafy1")
    assert reg.current("m").index == v0  # announced, not yet in effect
    assert reg.history("m")[1].effective_at > chain.now()
    chain.increase_time(3601)
    assert reg.current("m").content_cid == "bafy1"


def test_deprecate_falls_back_to_previous(chain, alice):
    reg = chain.registry
    reg.register(alice, "m")
    reg.publish(alice, "m", "bafy0")
    reg.publish(alice, "m", "bafy1")
    reg.deprecate(alice, "m", 1)
    assert reg.current("m").index == 0
    assert reg.version("m", 1).deprecated
    reg.deprecate(alice, "m", 0)
    with reverts("no current version"):
        reg.current("m")


def test_deprecating_waits_the_update_delay(chain, alice):
    reg = chain.registry
    reg.register(alice, "m", update_delay=3600)
    reg.publish(alice, "m", "bafy0")
    chain.increase_time(3601)
    effective = reg.deprecate(alice, "m", 0).value
    assert effective > chain.now() and reg.version("m", 0).deprecated
    assert reg.current("m").index == 0  # announced: users see it coming
    chain.increase_time(3601)
    with reverts("no current version"):
        reg.current("m")


def test_the_update_delay_is_bounded(chain, alice):
    reg = chain.registry
    month = 30 * 24 * 3600
    with reverts("delay over 30 days"):
        reg.register(alice, "m", update_delay=month + 1)
    reg.register(alice, "m", update_delay=month)
    reg.register(alice, "n", update_delay=10)
    with reverts("delay over 30 days"):
        reg.raise_update_delay(alice, "n", 2**64 - 1)  # would brick the name
    reg.raise_update_delay(alice, "n", month)


def test_transfer_moves_publishing_right(chain, alice, bob):
    reg = chain.registry
    reg.register(alice, "m")
    reg.transfer(alice, "m", bob.address)
    reg.publish(bob, "m", "bafyB")
    with reverts("not the owner"):
        reg.publish(alice, "m", "bafyA")


def test_raise_delay_only_grows(chain, alice):
    reg = chain.registry
    reg.register(alice, "m", update_delay=10)
    reg.raise_update_delay(alice, "m", 20)
    with reverts("delay can only grow"):
        reg.raise_update_delay(alice, "m", 5)
    assert reg.model("m").update_delay == 20


def test_register_reverts(chain, alice, bob):
    reg = chain.registry
    with reverts("empty name"):
        reg.register(alice, "")
    reg.register(alice, "m")
    with reverts("name taken"):
        reg.register(bob, "m")


def test_owner_only_reverts(chain, alice, bob):
    reg = chain.registry
    with reverts("unknown model"):
        reg.publish(alice, "nope", "bafy")
    reg.register(alice, "m")
    for call in (
        lambda: reg.publish(bob, "m", "bafy"),
        lambda: reg.deprecate(bob, "m", 0),
        lambda: reg.transfer(bob, "m", bob.address),
        lambda: reg.raise_update_delay(bob, "m", 100),
    ):
        with reverts("not the owner"):
            call()


def test_version_reverts(chain, alice):
    reg = chain.registry
    reg.register(alice, "m")
    with reverts("empty content CID"):
        reg.publish(alice, "m", "")
    with reverts("no version"):
        reg.current("m")
    with reverts("no such version"):
        reg.version("m", 0)
    with reverts("no such version"):
        reg.deprecate(alice, "m", 0)
    reg.publish(alice, "m", "bafy")
    reg.deprecate(alice, "m", 0)
    with reverts("already deprecated"):
        reg.deprecate(alice, "m", 0)
    with reverts("zero owner"):
        reg.transfer(alice, "m", "0x" + "00" * 20)
