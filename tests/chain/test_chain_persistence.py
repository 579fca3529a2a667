"""The embedded chain survives a restart; deployments are recorded per chain id;
a failed transaction changes nothing on disk; bad URLs and dead endpoints fail clearly."""

from __future__ import annotations

import json

import pytest
from eth_hash.auto import keccak

from cairn.chain import Role, batch, connect
from cairn.config import DataDir
from cairn.errors import (
    ChainError,
    ChainUnreachable,
    ConfigError,
    ContractRevert,
    NotDeployed,
)
from cairn.identity import LocalSigner

ALICE = LocalSigner(keccak(b"persist-alice"))
BOB = LocalSigner(keccak(b"persist-bob"))


def test_restart_keeps_registrations_stakes_channels(data_dir):
    c = connect("embedded://", data_dir)
    with pytest.raises(NotDeployed):
        _ = c.deployment
    deployment = c.deploy(c.dev_keys()[0])
    assert c.deploy(c.dev_keys()[0]) == deployment  # once per chain
    c.fund(ALICE.address, 10**19)
    c.registry.register(ALICE, "m")
    c.registry.publish(ALICE, "m", "bafyX", "bafyM")
    c.staking.register(ALICE, Role.NODE, "https://n")
    c.staking.stake(ALICE, 10**16)
    config = batch.ChannelConfig(
        payer=ALICE.address, receiver=BOB.address, receiver_authorizer=ALICE.address,
        token=c.token.address,
    )  # fmt: skip
    cid = batch.channel_id(config, c.chain_id)
    c.token.mint(c.dev_keys()[0], ALICE.address, 1000)
    settlement = batch.canonical(c)  # placed by deploy
    settlement.deposit_eip3009(ALICE, ALICE, config, 1000, c.token.domain(), valid_before=2**40)
    voucher = batch.sign_voucher(ALICE, cid, 123, c.chain_id)
    settlement.claim(ALICE, [batch.VoucherClaim(config, 123, voucher, 123)])
    c.increase_time(3600)
    now = c.now()
    c.close()

    again = connect("embedded://", data_dir)
    assert again.deployment == deployment
    assert again.registry.current("m").content_cid == "bafyX"
    assert again.staking.is_staked(ALICE.address)
    assert batch.canonical(again).channel(cid) == batch.ChannelBalance(1000, 123)
    assert again.now() >= now
    book = json.loads((DataDir(data_dir).chain / "deployments.json").read_text())
    assert book[str(again.chain_id)]["registry"] == deployment.registry


def test_a_record_made_before_batch_settlement_still_loads(data_dir):
    """PaymentChannels is retired: an older record names it, with its close window."""
    c = connect("embedded://", data_dir)
    deployment = c.deploy(c.dev_keys()[0])
    assert deployment.channels is None
    book_path = DataDir(data_dir).chain / "deployments.json"
    book = json.loads(book_path.read_text())
    old = book[str(c.chain_id)]
    old["params"]["close_window"] = 86400
    old["channels"] = "0x" + "cf" * 20
    book_path.write_text(json.dumps(book))
    again = connect("embedded://", data_dir)
    assert again.deployment.channels == "0x" + "cf" * 20
    assert again.deployment.params == deployment.params
    assert again.deploy(again.dev_keys()[0]) == again.deployment  # nothing redeployed


def test_failed_transaction_leaves_state_files_alone(data_dir):
    c = connect("embedded://", data_dir)
    c.deploy(c.dev_keys()[0])
    c.fund(ALICE.address, 10**19)
    c.registry.register(ALICE, "m")
    files = [DataDir(data_dir).chain / name for name in ("embedded.db", "embedded.log")]
    before = [f.read_bytes() for f in files]
    with pytest.raises(ContractRevert, match="ModelRegistry: reverted: name taken"):
        c.registry.register(ALICE, "m")
    assert [f.read_bytes() for f in files] == before


def test_corrupt_state_is_reported(data_dir):
    state = DataDir(data_dir).chain / "embedded.db"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"garbage")
    with pytest.raises(ChainError, match="not a cairn chain database"):
        connect("embedded://", data_dir)


def test_recorded_addresses_without_code_are_not_deployed(data_dir):
    c = connect("embedded://", data_dir)
    c.deploy(c.dev_keys()[0])
    old_id = c.chain_id
    c.close()
    (DataDir(data_dir).chain / "embedded.db").unlink()  # the chain is reset, the book is not
    reset = connect("embedded://", data_dir)
    assert reset.chain_id != old_id  # a reset embedded chain is a new network
    with pytest.raises(NotDeployed, match="no contracts recorded"):
        _ = reset.deployment
    book_path = DataDir(data_dir).chain / "deployments.json"
    book = json.loads(book_path.read_text())
    book[str(reset.chain_id)] = {**book[str(old_id)], "chain_id": reset.chain_id}
    book_path.write_text(json.dumps(book))
    with pytest.raises(NotDeployed, match="no code"):
        _ = connect("embedded://", data_dir).deployment


def test_each_embedded_network_has_its_own_chain_id(tmp_path):
    """Two data dirs, two networks: ids differ, are in 2**31 + 24 bits, and survive a restart."""
    a, b = connect("embedded://", tmp_path / "a"), connect("embedded://", tmp_path / "b")
    assert a.chain_id != b.chain_id
    for c in (a, b):
        assert 2**31 <= c.chain_id < 2**31 + 2**24
        assert c.rpc("eth_chainId", []) == hex(c.chain_id)
    assert connect("embedded://", tmp_path / "a").chain_id == a.chain_id  # before any tx
    a.deploy(a.dev_keys()[0])
    assert connect("embedded://", tmp_path / "a").chain_id == a.chain_id


def test_state_saved_before_chain_ids_keeps_the_legacy_id(data_dir):
    from cairn.chain._statefile import LEGACY_CHAIN_ID, _kv

    c = connect("embedded://", data_dir)
    c.deploy(c.dev_keys()[0])
    state = DataDir(data_dir).chain / "embedded.db"
    blob = state.read_bytes()
    state.write_bytes(b"CAIRNEVM1\n" + blob[len(b"CAIRNEVM2\n") + 8 :])
    assert _kv(state.read_bytes(), 10)
    assert connect("embedded://", data_dir).chain_id == LEGACY_CHAIN_ID


def test_bad_url_and_dead_endpoint():
    with pytest.raises(ConfigError, match="unknown chain URL"):
        connect("ipfs://x")
    with pytest.raises(ChainUnreachable, match="unreachable"):
        connect("http://127.0.0.1:9")


def test_wrong_chain_id():
    with pytest.raises(ChainUnreachable, match="expected 1"):
        connect("embedded://", expect_chain_id=1)


@pytest.mark.integration
def test_anvil_deployment_is_recorded_per_chain_id(anvil, data_dir):
    c = connect(anvil, data_dir)
    deployment = c.deploy(c.dev_keys()[1])
    assert connect(anvil, data_dir).deployment == deployment
    book = json.loads((DataDir(data_dir).chain / "deployments.json").read_text())
    assert list(book) == ["31337"]
