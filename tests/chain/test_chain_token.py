"""CairnUSD on both backends: ERC-20, EIP-3009 authorizations and every refusal, the
contract's EIP-712 domain against cairn's, and cairn's digest against eth-account's
(what the x402 client signs)."""

from __future__ import annotations

import re
from dataclasses import asdict, replace

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.chain import Deployment, Network, TokenDomain, authorization_digest, sign_authorization
from cairn.chain.token import (
    AUTHORIZATION_TYPES,
    TOKEN_DECIMALS,
    TOKEN_NAME,
    TOKEN_SYMBOL,
    new_nonce,
    sign_cancel,
)
from cairn.errors import ContractRevert, NotDeployed, SignatureError
from cairn.identity import LocalSigner, Signature, type_hash

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO = "0x" + "00" * 20
USD = 10**TOKEN_DECIMALS
PAYER_KEY = keccak(b"token-payer")
PAYER = LocalSigner(PAYER_KEY)


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    """A revert this file trips (the revert-coverage test reads ``reverts("…")`` calls)."""
    return pytest.raises(ContractRevert, match=re.escape(reason))


@pytest.fixture
def token(chain, alice):
    """The chain's token, with 100 cUSD minted to alice by the deployer."""
    chain.token.mint(chain.dev_keys()[0], alice.address, 100 * USD)
    return chain.token


def _authorization(chain, payer, to, value=5 * USD, **changes):
    """Keyword arguments of an authorization valid for an hour from now."""
    return {
        "from_": payer.address,
        "to": to.address,
        "value": value,
        "valid_after": 0,
        "valid_before": chain.now() + 3600,
        "nonce": new_nonce(),
    } | changes


def _signed(token, signer, kind="transfer", **auth):
    return auth | {"signature": sign_authorization(signer, token.domain(), kind=kind, **auth)}


# -- ERC-20 --------------------------------------------------------------------------------


def test_metadata_and_mint_only_by_the_deployer(chain, alice, bob):
    token, dev = chain.token, chain.dev_keys()[0]
    assert (token.token_name(), token.symbol(), token.decimals(), token.version()) == (
        TOKEN_NAME,
        TOKEN_SYMBOL,
        TOKEN_DECIMALS,
        "2",
    )
    assert token.minter() == dev.address and token.total_supply() == 0
    with reverts("caller is not the minter"):
        token.mint(alice, alice.address, USD)
    with reverts("mint to the zero address"):
        token.mint(dev, ZERO, USD)
    token.mint(dev, bob.address, 7 * USD)
    assert token.balance_of(bob.address) == token.total_supply() == 7 * USD
    minted = token._logs("Transfer", receiver=bob.address)[-1]["args"]
    assert (minted["sender"], minted["value"]) == (ZERO, 7 * USD)


def test_transfer_approve_transfer_from(chain, token, alice, bob, carol):
    token.transfer(alice, bob.address, 30 * USD)
    assert (token.balance_of(alice.address), token.balance_of(bob.address)) == (70 * USD, 30 * USD)
    with reverts("transfer amount exceeds balance"):
        token.transfer(bob, carol.address, 30 * USD + 1)
    with reverts("transfer to the zero address"):
        token.transfer(alice, ZERO, 1)
    token.approve(alice, carol.address, 10 * USD)
    assert token.allowance(alice.address, carol.address) == 10 * USD
    token.transfer_from(carol, alice.address, bob.address, 4 * USD)
    assert token.allowance(alice.address, carol.address) == 6 * USD
    assert token.balance_of(bob.address) == 34 * USD
    with reverts("transfer amount exceeds allowance"):
        token.transfer_from(carol, alice.address, carol.address, 6 * USD + 1)
    with reverts("transfer amount exceeds allowance"):  # bob was approved nothing
        token.transfer_from(bob, alice.address, bob.address, 1)
    assert token.total_supply() == 100 * USD


# -- EIP-3009 ------------------------------------------------------------------------------


def test_transfer_with_authorization_moves_funds_once(chain, token, alice, bob, carol):
    auth = _signed(token, alice, **_authorization(chain, alice, bob))
    assert not token.authorization_state(alice.address, auth["nonce"])
    tx = token.transfer_with_authorization(carol, **auth)  # carol: the facilitator, pays gas
    assert token.balance_of(alice.address) == 95 * USD and token.balance_of(bob.address) == 5 * USD
    assert token.balance_of(carol.address) == 0
    assert token.authorization_state(alice.address, auth["nonce"])
    used = token._logs("AuthorizationUsed", tx.block_number, tx.block_number)
    assert [(u["args"]["authorizer"], u["args"]["nonce"]) for u in used] == [
        (alice.address, auth["nonce"])
    ]
    assert tx.gas_used < 100_000  # one x402 payment (embedded: ~82k to a new holder, ~65k else)
    with reverts("authorization is used or canceled"):  # replay, by anyone
        token.transfer_with_authorization(bob, **auth)


def test_authorization_validity_window(chain, token, alice, bob, carol):
    now = chain.now()
    expired = _signed(token, alice, **_authorization(chain, alice, bob, valid_before=now))
    with reverts("authorization is expired"):
        token.transfer_with_authorization(carol, **expired)
    later = _authorization(chain, alice, bob, valid_after=now + 600, valid_before=now + 3600)
    later = _signed(token, alice, **later)
    with reverts("authorization is not yet valid"):
        token.transfer_with_authorization(carol, **later)
    chain.increase_time(601)
    token.transfer_with_authorization(carol, **later)
    assert token.balance_of(bob.address) == 5 * USD


def test_forged_and_tampered_authorizations_are_refused(chain, token, alice, bob, carol):
    auth = _authorization(chain, alice, bob)
    by_bob = _signed(token, bob, **auth)  # bob signs a transfer of alice's funds
    with reverts("invalid signature"):
        token.transfer_with_authorization(carol, **by_bob)
    signed = _signed(token, alice, **auth)
    with reverts("invalid signature"):
        token.transfer_with_authorization(carol, **signed | {"value": 50 * USD})
    with reverts("invalid signature"):
        token.transfer_with_authorization(carol, **signed | {"to": carol.address})
    with reverts("invalid signature"):  # a transfer authorization is no receive authorization
        token.receive_with_authorization(bob, **signed)
    other = replace(token.domain(), verifying_contract="0x" + "11" * 20)
    elsewhere = auth | {"signature": sign_authorization(alice, other, **auth)}
    with reverts("invalid signature"):  # signed for another token
        token.transfer_with_authorization(carol, **elsewhere)
    assert not token.authorization_state(alice.address, auth["nonce"])
    token.transfer_with_authorization(carol, **signed)  # the genuine one still works


def test_malleable_and_malformed_signatures_are_refused(chain, token, alice, bob, carol):
    signed = _signed(token, alice, **_authorization(chain, alice, bob))
    sig: Signature = signed["signature"]
    twin = Signature(sig.r, N - sig.s, 55 - sig.v)  # the high-s twin recovers alice too
    with reverts("malleable signature"):
        token.transfer_with_authorization(carol, **signed | {"signature": twin})
    raw = sig.to_bytes()
    with reverts("bad signature v"):
        token.transfer_with_authorization(carol, **signed | {"signature": raw[:64] + b"\x00"})
    # ecrecover answers the zero address for a signature that recovers nothing (r = 0):
    # it must not pass as the zero address's own authorization
    nothing = b"\x00" * 32 + raw[32:]
    forged = _authorization(chain, alice, bob, from_=ZERO, value=0) | {"signature": nothing}
    with reverts("invalid signature"):
        token.transfer_with_authorization(carol, **forged)
    with pytest.raises(SignatureError, match="65 bytes"):
        token.transfer_with_authorization(carol, **signed | {"signature": raw[:64]})


def test_an_authorization_beyond_the_balance_is_refused_and_stays_usable(
    chain, token, alice, bob, carol
):
    auth = _signed(token, alice, **_authorization(chain, alice, bob, value=101 * USD))
    with reverts("transfer amount exceeds balance"):
        token.transfer_with_authorization(carol, **auth)
    assert not token.authorization_state(alice.address, auth["nonce"])
    token.mint(chain.dev_keys()[0], alice.address, USD)
    token.transfer_with_authorization(carol, **auth)
    assert token.balance_of(bob.address) == 101 * USD
    to_zero = _authorization(chain, alice, bob, value=0) | {"to": ZERO}
    with reverts("transfer to the zero address"):
        token.transfer_with_authorization(carol, **_signed(token, alice, **to_zero))


def test_receive_with_authorization_only_by_the_payee(chain, token, alice, bob, carol):
    auth = _signed(token, alice, "receive", **_authorization(chain, alice, bob))
    with reverts("caller must be the payee"):
        token.receive_with_authorization(carol, **auth)
    with reverts("invalid signature"):  # nor as a transfer authorization
        token.transfer_with_authorization(carol, **auth)
    token.receive_with_authorization(bob, **auth)
    assert token.balance_of(bob.address) == 5 * USD
    assert token.authorization_state(alice.address, auth["nonce"])
    with reverts("authorization is used or canceled"):
        token.receive_with_authorization(bob, **auth)


def test_a_canceled_authorization_cannot_be_used(chain, token, alice, bob, carol):
    auth = _signed(token, alice, **_authorization(chain, alice, bob))
    nonce, domain = auth["nonce"], token.domain()
    with reverts("invalid signature"):  # bob cannot cancel alice's authorization
        token.cancel_authorization(
            carol, authorizer=alice.address, nonce=nonce, signature=sign_cancel(bob, domain, nonce)
        )
    cancel = sign_cancel(alice, domain, nonce)
    tx = token.cancel_authorization(carol, authorizer=alice.address, nonce=nonce, signature=cancel)
    canceled = token._logs("AuthorizationCanceled", tx.block_number, tx.block_number)
    assert [c["args"]["nonce"] for c in canceled] == [nonce]
    assert token.authorization_state(alice.address, nonce)
    with reverts("authorization is used or canceled"):
        token.transfer_with_authorization(carol, **auth)
    with reverts("authorization is used or canceled"):
        token.cancel_authorization(carol, authorizer=alice.address, nonce=nonce, signature=cancel)
    assert token.balance_of(alice.address) == 100 * USD


# -- the EIP-712 domain: the contract's, cairn's, eth-account's -----------------------------


def test_the_contracts_domain_is_the_one_cairn_computes(chain):
    token = chain.token
    domain = token.domain()
    assert domain == TokenDomain(TOKEN_NAME, chain.chain_id, token.address)
    assert token.domain_separator() == domain.separator
    fields, *_, salt, extensions = token._call("eip712Domain")  # the rest: domain() above
    assert (fields, salt, extensions) == (b"\x0f", b"\x00" * 32, [])  # EIP-5267
    for getter, primary in (
        ("TRANSFER_WITH_AUTHORIZATION_TYPEHASH", "TransferWithAuthorization"),
        ("RECEIVE_WITH_AUTHORIZATION_TYPEHASH", "ReceiveWithAuthorization"),
        ("CANCEL_AUTHORIZATION_TYPEHASH", "CancelAuthorization"),
    ):
        assert token._call(getter) == type_hash(primary, AUTHORIZATION_TYPES)


def _x402_typed(domain: TokenDomain, message: dict) -> dict:
    """The typed data the x402 ``exact`` client hands eth-account (EIP-3009's struct)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "TransferWithAuthorization": [
                {"name": "from", "type": "address"},
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "validAfter", "type": "uint256"},
                {"name": "validBefore", "type": "uint256"},
                {"name": "nonce", "type": "bytes32"},
            ],
        },
        "primaryType": "TransferWithAuthorization",
        "domain": {
            "name": domain.name,
            "version": "2",
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": message,
    }


@settings(max_examples=30, deadline=None)
@given(
    chain_id=st.integers(1, 2**64),
    value=st.integers(0, 2**256 - 1),
    valid_after=st.integers(0, 2**256 - 1),
    valid_before=st.integers(0, 2**256 - 1),
    nonce=st.binary(min_size=32, max_size=32),
    to=st.binary(min_size=20, max_size=20),
)
def test_the_digest_cairn_signs_is_eth_accounts(
    chain_id, value, valid_after, valid_before, nonce, to
):
    domain = TokenDomain(TOKEN_NAME, chain_id, "0x036CbD53842c5426634e7929541eC2318f3dCF7e")
    auth = {
        "from_": PAYER.address,
        "to": "0x" + to.hex(),
        "value": value,
        "valid_after": valid_after,
        "valid_before": valid_before,
        "nonce": nonce,
    }
    message = {
        "from": auth["from_"],
        "to": auth["to"],
        "value": value,
        "validAfter": valid_after,
        "validBefore": valid_before,
        "nonce": nonce,
    }
    signable = encode_typed_data(full_message=_x402_typed(domain, message))
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert authorization_digest(domain, **auth) == expected
    theirs = Account.sign_typed_data(PAYER_KEY, full_message=_x402_typed(domain, message))
    assert sign_authorization(PAYER, domain, **auth).to_bytes() == theirs.signature


def test_an_x402_signature_pays_on_chain(chain, token, alice, bob, carol):
    """eth-account signs (as the x402 client does); cairn submits (as a facilitator)."""
    payer = PAYER
    token.transfer(alice, payer.address, 10 * USD)
    nonce, before = new_nonce(), chain.now() + 600
    message = {
        "from": payer.address,
        "to": bob.address,
        "value": 3 * USD,
        "validAfter": 0,
        "validBefore": before,
        "nonce": nonce,
    }
    signed = Account.sign_typed_data(PAYER_KEY, full_message=_x402_typed(token.domain(), message))
    token.transfer_with_authorization(
        carol,
        from_=payer.address,
        to=bob.address,
        value=3 * USD,
        valid_after=0,
        valid_before=before,
        nonce="0x" + nonce.hex(),
        signature=bytes(signed.signature),
    )
    assert token.balance_of(bob.address) == 3 * USD


def test_bad_authorization_inputs_are_refused_before_signing():
    domain = TokenDomain(TOKEN_NAME, 1, "0x" + "11" * 20)
    auth = {
        "from_": PAYER.address,
        "to": PAYER.address,
        "value": 1,
        "valid_after": 0,
        "valid_before": 1,
        "nonce": b"\x01" * 32,
    }
    with pytest.raises(SignatureError, match="'transfer' or 'receive'"):
        authorization_digest(domain, kind="approve", **auth)  # type: ignore[arg-type]
    with pytest.raises(SignatureError, match="32 bytes"):
        authorization_digest(domain, **auth | {"nonce": b"\x01" * 31})
    with pytest.raises(SignatureError, match="does not fit"):
        authorization_digest(domain, **auth | {"value": 2**256})


# -- the deployment record -------------------------------------------------------------------


def test_old_records_and_profiles_without_a_token_still_load(chain):
    old = {k: v for k, v in asdict(chain.deployment).items() if k != "token"}
    d = Deployment.from_json(old)
    assert d.token is None
    profile = Network.from_deployment("old", d, chain.url).to_json()
    profile.pop("token")
    assert Network.from_json(profile).token is None
    net = Network.from_deployment("new", chain.deployment, chain.url)
    assert net.token == chain.token.address and Network.from_json(net.to_json()) == net


def test_a_recorded_deployment_gains_the_token(tmp_path):
    from cairn.chain import connect

    c = connect("embedded://", tmp_path / "data")
    dev = c.dev_keys()[0]
    c.deploy(dev)
    assert c.token.symbol() == TOKEN_SYMBOL
    c._record(replace(c.deployment, token=None))
    c2 = connect("embedded://", tmp_path / "data")
    assert c2.deployment.token is None
    with pytest.raises(NotDeployed, match="no CairnUSD payment token"):
        _ = c2.token
    found = c2.deploy(dev)
    assert found.token is not None and c2.token.total_supply() == 0
    assert connect("embedded://", tmp_path / "data").deployment.token == found.token
