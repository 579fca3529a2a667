"""ERC-8004 registries on both backends: identity, wallet proofs, feedback, validation."""

from __future__ import annotations

import re

import pytest
from _vyper import deploy
from eth_hash.auto import keccak

from cairn.chain import agent_wallet_typed_data
from cairn.chain.client import FEEDBACK_PER_CLIENT
from cairn.chain.erc8004 import ReputationRegistry
from cairn.errors import ContractRevert
from cairn.identity import Signature, typed_data_digest

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
URI = "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    """A revert this file trips (the revert-coverage test reads ``reverts("…")`` calls)."""
    return pytest.raises(ContractRevert, match=re.escape(reason))


def _agent(chain, owner, uri=URI):
    return chain.identity.register(owner, uri).value


# -- identity -----------------------------------------------------------------------------


def test_register_overloads_uri_and_metadata(chain, alice, bob):
    ids = chain.identity
    first = ids.register(alice).value
    second = ids.register(alice, URI).value
    third = ids.register(bob, URI, {"agentName": b"cairn.eth", "price": b"\x01"}).value
    assert (first, second, third) == (first, first + 1, first + 2)
    assert ids.agent_uri(first) == "" and ids.agent_uri(second) == URI
    assert ids.owner_of(third) == bob.address
    assert ids.metadata(third, "agentName") == b"cairn.eth"
    assert ids.metadata(third, "unset") == b""
    assert ids.agent_wallet(third) == bob.address  # the owner's address at first
    assert ids.metadata(third, "agentWallet") == bytes.fromhex(bob.address[2:])
    events = [a for a in ids.agents() if a.agent_id == third]
    assert events and events[0].owner == bob.address and events[0].agent_uri == URI
    ids.set_agent_uri(alice, first, "ipfs://new")
    ids.set_metadata(alice, first, "version", b"2")
    assert ids.agent_uri(first) == "ipfs://new" and ids.metadata(first, "version") == b"2"


def test_only_owner_or_operator_manages_an_agent(chain, alice, bob, carol):
    ids = chain.identity
    agent = _agent(chain, alice)
    with reverts("not owner or operator"):
        ids.set_agent_uri(bob, agent, "ipfs://hijack")
    with reverts("not owner or operator"):
        ids.set_metadata(bob, agent, "k", b"v")
    with reverts("not owner or operator"):
        ids.approve(bob, bob.address, agent)
    ids.approve(alice, bob.address, agent)  # one agent
    ids.set_agent_uri(bob, agent, "ipfs://by-approved")
    ids.set_approval_for_all(alice, carol.address, True)  # every agent of alice
    ids.set_metadata(carol, agent, "k", b"v")
    assert ids.agent_uri(agent) == "ipfs://by-approved" and ids.metadata(agent, "k") == b"v"
    with reverts("approve to caller"):
        ids.set_approval_for_all(alice, alice.address, True)
    with reverts("unknown agent"):
        ids.agent_uri(agent + 100)
    with reverts("agentWallet is reserved"):
        ids.set_metadata(alice, agent, "agentWallet", b"\x11" * 20)
    with reverts("agentWallet is reserved"):
        ids.register(alice, URI, {"agentWallet": b"\x11" * 20})


def test_erc721_transfers_and_balances(chain, alice, bob, carol, judge):
    ids = chain.identity
    agent = _agent(chain, alice)
    before = int(ids._call("balanceOf", bob.address))
    with reverts("zero address"):
        ids._call("balanceOf", "0x" + "00" * 20)
    with reverts("sender is not the owner"):
        ids.transfer(alice, bob.address, carol.address, agent)
    with reverts("transfer to zero address"):
        ids.transfer(alice, alice.address, "0x" + "00" * 20, agent)
    with reverts("not owner or operator"):
        ids.transfer(judge, alice.address, judge.address, agent)
    ids.transfer(alice, alice.address, bob.address, agent)
    assert ids.owner_of(agent) == bob.address
    assert int(ids._call("balanceOf", bob.address)) == before + 1
    assert ids.agent_wallet(agent) is None  # cleared on transfer: the new owner proves its own
    assert ids._call("supportsInterface", bytes.fromhex("80ac58cd")) is True
    assert ids._call("supportsInterface", bytes.fromhex("ffffffff")) is False


RECEIVER = """
# pragma version ~=0.4.1
answer: public(bytes4)

@deploy
def __init__(a: bytes4):
    self.answer = a

@external
def onERC721Received(op: address, sender: address, tokenId: uint256, data: Bytes[1024]) -> bytes4:
    return self.answer
"""


def test_safe_transfer_asks_a_contract_receiver(chain, alice):
    ids = chain.identity
    good = deploy(chain, alice, RECEIVER, bytes.fromhex("150b7a02"))
    bad = deploy(chain, alice, RECEIVER, bytes.fromhex("deadbeef"))
    agent = _agent(chain, alice)
    send = ids._contract.functions.safeTransferFrom
    from cairn.chain import _tx

    with reverts("receiver refused the token"):
        _tx.send(chain._w3, chain.backend, "IdentityRegistry",
                 send(alice.address, bad.address, agent), alice)  # fmt: skip
    _tx.send(chain._w3, chain.backend, "IdentityRegistry",
             send(alice.address, good.address, agent, b"hi"), alice)  # fmt: skip
    assert ids.owner_of(agent) == good.address


# -- the agent wallet (EIP-712 proof) ----------------------------------------------------


def test_wallet_proof_digest_is_the_contracts(chain, alice, carol):
    agent = _agent(chain, alice)
    deadline = chain.now() + 100
    typed = agent_wallet_typed_data(
        chain.chain_id, chain.identity.address, agent, carol.address, alice.address, deadline
    )
    assert typed_data_digest(typed) == chain.identity.wallet_digest(
        agent, carol.address, alice.address, deadline
    )


def test_set_agent_wallet_good_proof(chain, alice, carol):
    ids = chain.identity
    agent = _agent(chain, alice)
    deadline = chain.now() + 200
    proof = ids.wallet_proof(carol, agent, alice.address, deadline, chain.chain_id)
    ids.set_agent_wallet(alice, agent, carol.address, deadline, proof)
    assert ids.agent_wallet(agent) == carol.address
    assert ids.metadata(agent, "agentWallet") == bytes.fromhex(carol.address[2:])
    ids.unset_agent_wallet(alice, agent)
    assert ids.agent_wallet(agent) is None and ids.metadata(agent, "agentWallet") == b""


def test_set_agent_wallet_refuses_expired_far_and_zero(chain, alice, carol):
    ids = chain.identity
    agent = _agent(chain, alice)
    expired = chain.now() - 1
    proof = ids.wallet_proof(carol, agent, alice.address, expired, chain.chain_id)
    with reverts("signature expired"):
        ids.set_agent_wallet(alice, agent, carol.address, expired, proof)
    far = chain.now() + 10_000
    proof = ids.wallet_proof(carol, agent, alice.address, far, chain.chain_id)
    with reverts("deadline too far"):
        ids.set_agent_wallet(alice, agent, carol.address, far, proof)
    with reverts("zero wallet"):
        ids.set_agent_wallet(alice, agent, "0x" + "00" * 20, chain.now() + 100, proof)


def test_set_agent_wallet_refuses_forged_proofs(chain, alice, bob, carol):
    ids = chain.identity
    agent = _agent(chain, alice)
    deadline = chain.now() + 200
    # bob signs for carol's address: the wallet itself must consent
    forged = sign_for(chain, bob, agent, carol.address, alice.address, deadline)
    with reverts("not signed by the wallet"):
        ids.set_agent_wallet(alice, agent, carol.address, deadline, forged)
    # carol's consent for another owner, or another agent, does not transfer
    other = sign_for(chain, carol, agent, carol.address, bob.address, deadline)
    with reverts("not signed by the wallet"):
        ids.set_agent_wallet(alice, agent, carol.address, deadline, other)
    good = ids.wallet_proof(carol, agent, alice.address, deadline, chain.chain_id)
    with reverts("not owner or operator"):  # only the agent's manager submits it
        ids.set_agent_wallet(bob, agent, carol.address, deadline, good)
    sig = Signature.from_bytes(good)
    with reverts("bad signature length"):
        ids.set_agent_wallet(alice, agent, carol.address, deadline, good[:64])
    with reverts("bad signature v"):
        ids.set_agent_wallet(alice, agent, carol.address, deadline, good[:64] + b"\x1d")
    twin = sig.r.to_bytes(32, "big") + (N - sig.s).to_bytes(32, "big") + bytes([55 - sig.v])
    with reverts("malleable signature"):
        ids.set_agent_wallet(alice, agent, carol.address, deadline, twin)
    with reverts("not owner or operator"):
        ids.unset_agent_wallet(bob, agent)


def test_set_agent_wallet_refuses_a_replayed_proof(chain, alice, bob, carol):
    ids = chain.identity
    agent = _agent(chain, alice)
    deadline = chain.now() + 200
    proof = ids.wallet_proof(carol, agent, alice.address, deadline, chain.chain_id)
    ids.set_agent_wallet(alice, agent, carol.address, deadline, proof)
    ids.unset_agent_wallet(alice, agent)
    with reverts("signature already used"):  # carol's consent was spent
        ids.set_agent_wallet(alice, agent, carol.address, deadline, proof)
    ids.transfer(alice, alice.address, bob.address, agent)
    ids.transfer(bob, bob.address, alice.address, agent)
    with reverts("signature already used"):  # nor revived by a round trip of the agent
        ids.set_agent_wallet(alice, agent, carol.address, deadline, proof)


def sign_for(chain, signer, agent, wallet, owner, deadline):
    typed = agent_wallet_typed_data(
        chain.chain_id, chain.identity.address, agent, wallet, owner, deadline
    )
    return signer.sign_hash(typed_data_digest(typed)).to_bytes()


# -- reputation ---------------------------------------------------------------------------


def test_feedback_from_clients_and_summary(chain, alice, bob, carol, judge):
    rep = chain.reputation
    agent = _agent(chain, alice)
    assert rep.identity_address() == chain.identity.address
    assert rep.give_feedback(bob, agent, 90, 0, "starred").value == 1
    assert rep.give_feedback(bob, agent, 8050, 2, "starred", "day", "https://n/v1").value == 2
    assert rep.give_feedback(carol, agent, -5, 1, "yield").value == 1
    assert rep.last_index(agent, bob.address) == 2 and rep.clients(agent) == [
        bob.address,
        carol.address,
    ]
    f = rep.read_feedback(agent, bob.address, 2)
    assert (f.value, f.decimals, f.tag1, f.tag2, f.revoked) == (8050, 2, "starred", "day", False)
    both = rep.summary(agent, [bob.address, carol.address], "starred")
    assert (both.count, both.value, both.decimals) == (2, 8525, 2)  # (90.00 + 80.50) / 2
    assert str(both.average) == "85.25"
    assert rep.summary(agent, [carol.address]).average == -0.5
    assert rep.summary(agent, [judge.address]).count == 0
    with reverts("clientAddresses required"):  # unfiltered feedback is open to Sybils
        rep.summary(agent, [])
    rows = rep.all_feedback(agent)
    assert [(r.client, r.index) for r in rows] == [
        (bob.address, 1),
        (bob.address, 2),
        (carol.address, 1),
    ]
    assert [r.index for r in rep.all_feedback(agent, [bob.address], "starred", "day")] == [2]


def test_owner_and_operators_cannot_rate_their_agent(chain, alice, bob, carol):
    rep, ids = chain.reputation, chain.identity
    agent = _agent(chain, alice)
    with reverts("owner cannot rate its agent"):
        rep.give_feedback(alice, agent, 100)
    ids.set_approval_for_all(alice, bob.address, True)
    with reverts("operator cannot rate its agent"):
        rep.give_feedback(bob, agent, 100)
    ids.approve(alice, carol.address, agent)
    with reverts("operator cannot rate its agent"):
        rep.give_feedback(carol, agent, 100)
    with reverts("unknown agent"):
        rep.give_feedback(bob, agent + 100, 100)
    with reverts("valueDecimals over 18"):
        rep.give_feedback(bob, agent, 1, 19)


def test_revoke_and_responses(chain, alice, bob, carol):
    rep = chain.reputation
    agent = _agent(chain, alice)
    rep.give_feedback(bob, agent, 10)
    rep.give_feedback(bob, agent, 30)
    rep.revoke_feedback(bob, agent, 1)
    assert rep.read_feedback(agent, bob.address, 1).revoked
    assert rep.summary(agent, [bob.address]).average == 30
    assert [r.index for r in rep.all_feedback(agent, include_revoked=True)] == [1, 2]
    assert [r.index for r in rep.all_feedback(agent)] == [2]
    with reverts("already revoked"):
        rep.revoke_feedback(bob, agent, 1)
    with reverts("no such feedback"):
        rep.revoke_feedback(carol, agent, 1)  # only the client revokes its own
    with reverts("no such feedback"):
        rep.read_feedback(agent, bob.address, 3)
    rep.append_response(alice, agent, bob.address, 2, "ipfs://refund", b"\x01" * 32)
    rep.append_response(carol, agent, bob.address, 2, "ipfs://spam")
    assert rep.response_count(agent, bob.address, 2) == 2
    assert rep.response_count(agent, bob.address, 2, [alice.address]) == 1
    with reverts("no such feedback"):
        rep.append_response(carol, agent, bob.address, 9, "ipfs://x")
    assert rep._call("clientAt", agent, 0) == bob.address
    with reverts("no such client"):
        rep._call("clientAt", agent, 1)


def test_feedback_limit_per_client(chain, alice, bob):
    dev = chain.dev_keys()[0]
    with reverts("bad feedback limit"):
        chain._create(dev, "ReputationRegistry", chain.identity.address, FEEDBACK_PER_CLIENT + 1)
    address, _ = chain._create(dev, "ReputationRegistry", chain.identity.address, 2)
    rep = chain._at(ReputationRegistry, address)
    agent = _agent(chain, alice)
    rep.give_feedback(bob, agent, 1)
    rep.give_feedback(bob, agent, 2)
    with reverts("too many feedback from this client"):
        rep.give_feedback(bob, agent, 3)


def test_read_all_feedback_refuses_to_truncate(embedded_chain, alice, bob):
    chain = embedded_chain  # one backend: 129 transactions
    snap = chain.snapshot()
    try:
        agent = _agent(chain, alice)
        for i in range(129):
            chain.reputation.give_feedback(bob, agent, i)
        with reverts("too many results: filter by client"):
            chain.reputation.all_feedback(agent, [bob.address])
        assert len(chain.reputation.all_feedback(agent, [bob.address], "", "x")) == 0
        assert chain.reputation.summary(agent, [bob.address]).average == 64
    finally:
        chain.revert(snap)


# -- validation ---------------------------------------------------------------------------


def test_validation_answered_only_by_the_named_validator(chain, alice, bob, carol):
    val = chain.validation
    agent = _agent(chain, alice)
    request = keccak(b"batch 7 of node alice")
    val.request(alice, bob.address, agent, "ipfs://request", request)
    assert val.status(request).answered is False
    with reverts("not the request's validator"):
        val.respond(carol, request, 100)
    with reverts("response over 100"):
        val.respond(bob, request, 101)
    val.respond(bob, request, 40, "ipfs://bafyevidence", b"\x02" * 32, "soft")
    val.respond(bob, request, 100, "ipfs://bafyevidence", b"\x02" * 32, "hard")
    s = val.status(request)
    assert (s.validator, s.agent_id, s.response, s.tag, s.answered) == (
        bob.address,
        agent,
        100,
        "hard",
        True,
    )
    assert s.response_hash == b"\x02" * 32 and s.last_update > 0
    assert val.agent_validations(agent) == [request]
    assert val.validator_requests(bob.address) == [request]
    assert val.summary(agent) == (1, 100)
    assert val.summary(agent, [carol.address]) == (0, 0)
    assert val.summary(agent, [], "soft") == (0, 0)
    assert val.identity_address() == chain.identity.address
    assert val._call("agentValidationAt", agent, 0) == request


def test_validation_request_guards(chain, alice, bob, carol):
    val = chain.validation
    agent = _agent(chain, alice)
    request = keccak(b"r")
    with reverts("not owner or operator"):
        val.request(carol, bob.address, agent, "ipfs://r", request)
    with reverts("zero validator"):
        val.request(alice, "0x" + "00" * 20, agent, "ipfs://r", request)
    with reverts("empty requestHash"):
        val.request(alice, bob.address, agent, "ipfs://r", b"\x00" * 32)
    val.request(alice, bob.address, agent, "ipfs://r", request)
    with reverts("request exists"):
        val.request(alice, carol.address, agent, "ipfs://r", request)
    with reverts("unknown request"):
        val.respond(bob, keccak(b"other"), 1)
    with reverts("unknown request"):
        val.status(keccak(b"other"))
    with reverts("no such request"):
        val._call("validatorRequestAt", bob.address, 1)
    with reverts("no such request"):
        val._call("agentValidationAt", agent, 1)


# -- deployment records and pinned profiles ------------------------------------------------


def test_old_deployment_records_and_profiles_still_load(chain):
    from dataclasses import asdict

    from cairn.chain import Deployment, Network

    old = {
        k: v
        for k, v in asdict(chain.deployment).items()
        if k not in ("identity", "reputation", "validation")
    }
    d = Deployment.from_json(old)
    assert (d.identity, d.reputation, d.validation) == (None, None, None)
    profile = Network.from_deployment("old", d, chain.url).to_json()
    for key in ("identity", "reputation", "validation"):
        profile.pop(key)
    assert Network.from_json(profile).identity is None


@pytest.mark.integration
def test_network_profile_pins_and_checks_the_registries(anvil_chain):
    import dataclasses

    from cairn.chain import Network, check_network
    from cairn.errors import ConfigError

    chain = anvil_chain  # check_network connects anew: the embedded chain is per process
    d = chain.deployment
    net = Network.from_deployment("t", d, chain.url)
    assert (net.identity, net.reputation, net.validation) == (
        d.identity,
        d.reputation,
        d.validation,
    )
    assert Network.from_json(net.to_json()) == net
    used = check_network(net, use=True)
    assert used.identity.address == d.identity and used.validation.address == d.validation
    # a Reputation Registry of another Identity Registry is not this network's
    dev = chain.dev_keys()[0]
    other_identity, _ = chain._create(dev, "IdentityRegistry")
    other, _ = chain._create(dev, "ReputationRegistry", other_identity, 10)
    with pytest.raises(ConfigError, match="rates agents of"):
        check_network(dataclasses.replace(net, reputation=other))
    with pytest.raises(ConfigError, match="no contract at ValidationRegistry"):
        check_network(dataclasses.replace(net, validation="0x" + "12" * 20))
    with pytest.raises(ConfigError, match="without its identity"):
        check_network(dataclasses.replace(net, identity=None))


def test_a_recorded_deployment_gains_the_registries(tmp_path):
    from dataclasses import replace

    from cairn.chain.client import Chain

    c = connect_embedded(tmp_path)
    dev = c.dev_keys()[0]
    c.deploy(dev)
    legacy = replace(c.deployment, identity=None, reputation=None, validation=None)
    c._record(legacy)
    c2 = connect_embedded(tmp_path)
    assert isinstance(c2, Chain) and c2.deployment.identity is None
    from cairn.errors import NotDeployed

    with pytest.raises(NotDeployed, match="ERC-8004"):
        _ = c2.identity
    found = c2.deploy(dev)
    assert found.identity is not None and c2.identity.last_id() == 0
    assert connect_embedded(tmp_path).deployment.identity == found.identity


def connect_embedded(tmp_path):
    from cairn.chain import connect

    return connect("embedded://", tmp_path / "data")
