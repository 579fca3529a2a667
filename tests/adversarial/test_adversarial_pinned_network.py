"""Verification that cannot be pointed elsewhere (#9).

- a forged receipt from an unstaked key, naming a fake anchor-like contract whose
  ``commitmentOf`` returns the forged commitment, is refused: the network comes from the
  client's profile, never from the receipt;
- a profile whose anchor is not the one the network's Disputes contract judges is
  refused when it is added;
- two ``embedded://`` data dirs are two networks: a receipt of one fails against
  the other's pinned network;
- a receipt naming another model than the one asked for is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cairn.chain import (
    Chain,
    DisputeParams,
    Network,
    OnchainView,
    Role,
    check_network,
    connect,
    default_network,
    load_network,
    save_network,
)
from cairn.config import DataDir
from cairn.content import Cid
from cairn.errors import ConfigError, ReceiptInvalid
from cairn.identity import LocalSigner
from cairn.receipts import (
    InclusionProof,
    MerkleTree,
    Receipt,
    ReceiptDomain,
    verify_offline,
    verify_online,
)

FAKE_ANCHOR = """
# pragma version ~=0.4.1
root: public(bytes32)
staking: public(address)

@deploy
def __init__(_staking: address):
    self.staking = _staking

@external
def setRoot(_root: bytes32):
    self.root = _root

@view
@external
def commitmentOf(node: address, batchId: uint256) -> bytes32:
    return self.root
"""


class _Fake:
    """A deployed anchor-like contract whose ``commitmentOf`` answers whatever it is told."""

    def __init__(self, chain: Chain, staking: str) -> None:
        import vyper

        from cairn.chain import _tx

        out = vyper.compile_code(FAKE_ANCHOR, output_formats=["abi", "bytecode"])
        self.chain, self.signer, self._tx = chain, chain.dev_keys()[0], _tx
        factory = chain._w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"])
        sent = _tx.send(chain._w3, chain.backend, "Fake", factory.constructor(staking), self.signer)
        self.address = str(sent["contractAddress"])
        self.contract = chain._w3.eth.contract(address=self.address, abi=out["abi"])

    def set_root(self, root: bytes) -> None:
        call = self.contract.functions.setRoot(root)
        self._tx.send(self.chain._w3, self.chain.backend, "Fake", call, self.signer)


def _receipt(signer: LocalSigner, domain: ReceiptDomain, model: str | None = None) -> Receipt:
    return Receipt(
        model or str(Cid.of(b"a model")),
        os.urandom(32),
        os.urandom(32),
        signer.address,
        os.urandom(32),
        1_700_000_000,
        "onnxruntime/test",
        0,
        domain,
    ).sign(signer)


@pytest.fixture
def home(tmp_path: Path) -> tuple[DataDir, Chain, Network]:
    dd = DataDir(tmp_path / "home")
    chain = connect("embedded://", dd)
    chain.deploy(chain.dev_keys()[0], disputes=DisputeParams())
    network = Network.from_deployment("home", chain.deployment, "embedded://")
    save_network(dd, network)
    return dd, chain, network


def test_a_forged_receipt_naming_a_fake_anchor_is_refused(home: Any) -> None:
    dd, chain, pinned = home
    forger = LocalSigner.generate()  # never registered, never staked
    fake = _Fake(chain, pinned.staking)
    receipt = _receipt(forger, ReceiptDomain(chain.chain_id, fake.address))
    tree = MerkleTree.build([receipt.digest()])
    fake.set_root(tree.commitment)
    proof = InclusionProof(forger.address, 1, 0, 1, tree.root, ())

    # the hole: an online view built from the receipt's own domain accepts the forgery
    forged_view = Network("forged", chain.chain_id, "embedded://", fake.address, pinned.staking)
    root_of, _ = OnchainView(forged_view, dd).checks(receipt)
    verify_online(receipt, proof, root_of, lambda node: True)

    # the defence: the client's pinned network, never the receipt's
    with pytest.raises(ReceiptInvalid, match="not the pinned 'home'"):
        OnchainView(load_network(dd, "home"), dd).checks(receipt)
    with pytest.raises(ReceiptInvalid, match="not the pinned chain"):
        verify_offline(receipt, expected_domain=pinned.domain)
    root_of, is_staked = OnchainView(pinned, dd).checks()
    with pytest.raises(ReceiptInvalid, match="not anchored"):
        verify_online(receipt, proof, root_of, is_staked)
    assert not is_staked(forger.address)


def test_a_profile_pointing_at_a_fake_anchor_is_refused_when_checked(home: Any) -> None:
    dd, chain, pinned = home
    fake = _Fake(chain, pinned.staking)  # answers to the real Staking, like a careful forger
    forged = Network(**{**pinned.to_json(), "name": "forged", "anchor": fake.address})
    check_network(pinned, dd)
    with pytest.raises(ConfigError, match=r"Disputes .* judges anchor"):
        check_network(forged, dd)
    nowhere = Network(**{**pinned.to_json(), "name": "empty", "staking": "0x" + "12" * 20})
    with pytest.raises(ConfigError, match="no contract at Staking"):
        check_network(nowhere, dd)


def test_a_receipt_from_another_embedded_network_fails_against_the_pinned_one(
    tmp_path: Path, home: Any
) -> None:
    dd, chain, pinned = home
    other_dd = DataDir(tmp_path / "other")
    other = connect("embedded://", other_dd)
    other.deploy(other.dev_keys()[0], disputes=DisputeParams())
    assert other.chain_id != chain.chain_id
    node = LocalSigner.generate()
    other.fund(node.address, 10**19)
    other.staking.register(node, Role.NODE, "http://127.0.0.1:1")
    other.staking.stake(node, 10**17)
    receipt = _receipt(node, other.disputes.receipt_domain)
    verify_offline(receipt, expected_domain=other.disputes.receipt_domain)
    theirs = f"receipt belongs to network chain {other.chain_id} "
    with pytest.raises(ReceiptInvalid, match=theirs):
        verify_offline(receipt, expected_domain=pinned.domain)
    with pytest.raises(ReceiptInvalid, match="not the pinned"):
        OnchainView(pinned, dd).checks(receipt)
    # and the default pin of a data dir is its own deployment, not a receipt's
    assert default_network(dd, connect("embedded://", dd)).anchor == pinned.anchor
    with pytest.raises(ConfigError, match="no pinned network for chain"):
        default_network(DataDir(tmp_path / "empty"), connect("embedded://", tmp_path / "e2"))


def test_a_receipt_for_another_model_is_refused(home: Any) -> None:
    _dd, chain, pinned = home
    node = LocalSigner.generate()
    asked, served = str(Cid.of(b"the model asked for")), str(Cid.of(b"a cheaper model"))
    receipt = _receipt(node, pinned.domain, model=served)
    with pytest.raises(ReceiptInvalid, match=f"names model {served}, not the one asked for"):
        verify_offline(receipt, expected_domain=pinned.domain, expected_models=[asked])
    verify_offline(receipt, expected_domain=pinned.domain, expected_models=[served])
    # a name resolves through the pinned registry: its current version's CID
    owner = chain.dev_keys()[1]
    chain.registry.register(owner, "trail-embedder")
    chain.registry.publish(owner, "trail-embedder", asked)
    current = OnchainView(pinned, _dd).current_model("trail-embedder")
    assert current == asked
    with pytest.raises(ReceiptInvalid, match="not the one asked for"):
        verify_offline(receipt, expected_models=[current])


def test_profiles_round_trip_and_unknown_names_are_clear(home: Any) -> None:
    dd, _chain, pinned = home
    assert load_network(dd, "home") == pinned
    path = dd.root / "networks" / "home.json"
    assert json.loads(path.read_text())["anchor"] == pinned.anchor
    with pytest.raises(ConfigError, match="no network profile 'hom'"):
        load_network(dd, "hom")
    with pytest.raises(ConfigError, match="not a network name"):
        load_network(dd, "../etc")
