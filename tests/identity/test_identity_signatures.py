"""Signatures: parsing, EIP-191 personal_sign, recovery, forgeries."""

from __future__ import annotations

import contextlib

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

import cairn.identity
from cairn.errors import IdentityError, SignatureError
from cairn.identity import (
    LocalSigner,
    Signature,
    Signer,
    checksum_address,
    personal_message_hash,
    recover_hash,
    recover_message,
    sign_message,
    verify_message,
)
from cairn.identity.base import SECP256K1_N

KEY = "0x" + "4c" * 32


@pytest.fixture(scope="module")
def signer() -> LocalSigner:
    return LocalSigner.from_hex(KEY)


def test_public_surface() -> None:
    for name in cairn.identity.__all__:
        assert hasattr(cairn.identity, name), name


def test_local_signer_is_a_signer(signer: LocalSigner) -> None:
    assert isinstance(signer, Signer)
    assert signer.address == Account.from_key(KEY).address
    assert KEY[2:] not in repr(signer)


@pytest.mark.parametrize("message", [b"", b"hello", "héllo wörld", b"\x00" * 1000])
def test_personal_sign_matches_eth_account(signer: LocalSigner, message: bytes | str) -> None:
    msg = encode_defunct(text=message) if isinstance(message, str) else encode_defunct(message)
    theirs = Account.sign_message(msg, KEY)
    ours = sign_message(signer, message)
    assert ours.to_bytes() == bytes(theirs.signature)
    assert recover_message(message, ours) == signer.address
    assert verify_message(message, ours.to_bytes(), signer.address.lower()) == signer.address


def test_personal_message_hash_prefix() -> None:
    from eth_utils.crypto import keccak

    assert personal_message_hash(b"abc") == keccak(b"\x19Ethereum Signed Message:\n3abc")


def test_wrong_signer_is_rejected(signer: LocalSigner) -> None:
    other = LocalSigner.generate()
    sig = sign_message(other, b"pay 5")
    with pytest.raises(SignatureError, match="expected"):
        verify_message(b"pay 5", sig, signer.address)


def test_forged_signature_bytes(signer: LocalSigner) -> None:
    sig = sign_message(signer, b"m").to_bytes()
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    with contextlib.suppress(SignatureError):  # equally fine: the flipped r is off the curve
        assert recover_message(b"m", flipped) != signer.address


def test_high_s_is_rejected(signer: LocalSigner) -> None:
    sig = sign_message(signer, b"m")
    twin = Signature(sig.r, SECP256K1_N - sig.s, 55 - sig.v)  # the malleable twin
    with pytest.raises(SignatureError, match="low-s"):
        recover_message(b"m", twin)


@pytest.mark.parametrize(
    "raw", [b"", b"\x01" * 64, b"\x01" * 66, b"\x00" * 65, b"\x01" * 64 + b"\x05"]
)
def test_malformed_signature_bytes(raw: bytes) -> None:
    with pytest.raises(SignatureError):
        Signature.from_bytes(raw)


def test_signature_v_forms() -> None:
    body = b"\x11" * 32 + b"\x22" * 32
    assert Signature.from_bytes(body + b"\x00").v == 27
    assert Signature.from_bytes(body + b"\x1c").v == 28
    assert Signature.from_hex((body + b"\x01").hex()).v == 28
    with pytest.raises(SignatureError):
        Signature.from_hex("0xzz")


def test_digest_must_be_32_bytes(signer: LocalSigner) -> None:
    with pytest.raises(SignatureError):
        signer.sign_hash(b"short")
    with pytest.raises(SignatureError):
        recover_hash(b"x" * 33, sign_message(signer, b"m"))


@pytest.mark.parametrize("bad", ["", "0x12", "zz" * 32, "0x" + "00" * 32, "0x" + "ff" * 32])
def test_bad_private_keys(bad: str) -> None:
    with pytest.raises(IdentityError):
        LocalSigner.from_hex(bad)


def test_checksum_address() -> None:
    good = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
    assert checksum_address(good.lower()) == good
    assert checksum_address(good.upper().replace("0X", "0x")) == good
    for bad in ["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8Dd826", "CD2a", "0x" + "g" * 40]:
        with pytest.raises(SignatureError):
            checksum_address(bad)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200))
def test_sign_recover_round_trip(message: bytes) -> None:
    signer = LocalSigner.from_hex(KEY)
    sig = sign_message(signer, message)
    assert sig.is_canonical
    assert recover_message(message, sig) == signer.address


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=65, max_size=65), st.binary(min_size=32, max_size=32))
def test_random_signatures_fail_cleanly(raw: bytes, digest: bytes) -> None:
    with contextlib.suppress(SignatureError):
        recover_hash(digest, raw)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_the_gil_holding_path_is_coincurves(key: bytes, digest: bytes) -> None:
    """Signing and recovery call libsecp256k1 holding the GIL (cairn.identity._secp256k1):
    byte for byte what coincurve's own calls give, and a signature that does not recover
    is refused by both."""
    import coincurve

    from cairn.identity import _secp256k1

    assert _secp256k1.AVAILABLE
    try:
        theirs = coincurve.PrivateKey(key)
    except ValueError:  # not a key (0 or beyond the group order)
        return
    signer = LocalSigner(key)
    ours = signer.sign_hash(digest).to_bytes()
    raw = theirs.sign_recoverable(digest, hasher=None)
    assert ours == raw[:64] + bytes([raw[64] + 27])
    public = coincurve.PublicKey.from_signature_and_message(raw, digest, hasher=None)
    found = _secp256k1.recover_uncompressed(digest, raw[:64], raw[64])
    assert found == public.format(compressed=False)[1:]
    assert recover_hash(digest, ours) == signer.address
    assert _secp256k1.recover_uncompressed(digest, bytes(64), 0) is None  # r = s = 0
    with pytest.raises(ValueError):
        coincurve.PublicKey.from_signature_and_message(bytes(65), digest, hasher=None)
