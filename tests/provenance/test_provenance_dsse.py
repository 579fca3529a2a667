"""DSSE: PAE and the protocol.md vector, real in-toto envelopes, wallet signing, parsing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

import cairn.provenance
from cairn.errors import CairnError, ManifestError, VerificationFailed
from cairn.identity import LocalSigner
from cairn.provenance import (
    EcdsaP256Signer,
    EcdsaP256Verifier,
    Envelope,
    EnvelopeSignature,
    RsaPssVerifier,
    WalletEnvelopeSigner,
    WalletVerifier,
    pae,
    sign_envelope,
)


@pytest.fixture(scope="module")
def proto(vectors: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((vectors / "dsse" / "protocol-test-vector.json").read_text())
    return doc


@pytest.fixture(scope="module")
def intoto(vectors: Path) -> Path:
    return vectors / "dsse" / "in-toto-golang"


def _p256(proto: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(proto["key"]["public_spki_pem"].encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def test_public_surface() -> None:
    for name in cairn.provenance.__all__:
        assert hasattr(cairn.provenance, name), name


def test_pae_vector(proto: dict[str, Any]) -> None:
    got = pae(proto["payloadType"], bytes.fromhex(proto["payload_hex"]))
    assert got.hex() == proto["pae_hex"]
    assert got.decode() == proto["pae_utf8"]


@pytest.mark.parametrize("form", ["envelope_protocol_md", "envelope_signing_spec_py"])
def test_protocol_vector_verifies(proto: dict[str, Any], form: str) -> None:
    env = Envelope.parse(json.dumps(proto[form]))
    assert env.payload == b"hello world"
    assert env.signatures[0].sig.hex() == proto["signature_hex"]
    verified = EcdsaP256Verifier({proto["key"]["keyid"]: _p256(proto)}).verify(env)
    assert verified.payload == b"hello world"
    assert verified.signers == (proto["key"]["keyid"],)


def test_protocol_vector_resigned_byte_exact(proto: dict[str, Any]) -> None:
    private = ec.derive_private_key(int(proto["key"]["d_decimal"]), ec.SECP256R1())
    env = sign_envelope(
        b"hello world", proto["payloadType"], EcdsaP256Signer(private, proto["key"]["keyid"])
    )
    assert base64.b64encode(env.signatures[0].sig).decode() == proto["signature_base64"]
    assert json.loads(env.to_json()) == proto["envelope_signing_spec_py"]


def test_protocol_vector_negatives(proto: dict[str, Any]) -> None:
    verifier = EcdsaP256Verifier.from_pem(proto["key"]["public_spki_pem"].encode())
    good = Envelope.parse(json.dumps(proto["envelope_protocol_md"]))
    sig = good.signatures[0].sig
    bad = [
        Envelope(b"hello world!", good.payload_type, good.signatures),
        Envelope(good.payload, "http://example.com/Other", good.signatures),
        Envelope(
            good.payload,
            good.payload_type,
            (EnvelopeSignature("", sig[:-1] + bytes([sig[-1] ^ 1])),),
        ),
        Envelope(good.payload, good.payload_type, ()),
    ]
    for env in bad:
        with pytest.raises(VerificationFailed):
            verifier.verify(env)
    with pytest.raises(VerificationFailed, match="payloadType"):
        verifier.verify(good, payload_type="application/vnd.in-toto+json")


def _intoto_keys(intoto: Path) -> dict[str, bytes]:
    layout = Envelope.parse((intoto / "dsse-only.root.layout").read_bytes())
    keys = json.loads(layout.payload)["keys"]
    found = {kid: k["keyval"]["public"].encode() for kid, k in keys.items()}
    found["70ca5750c2eda80b18f41f4ec5f92146789b5d68dd09577be422a0159bd13680"] = (
        intoto / "alice.pub"
    ).read_bytes()
    return found


def test_in_toto_envelopes_verify(intoto: Path) -> None:
    expect = json.loads((intoto / "expectations.json").read_text())
    keys = _intoto_keys(intoto)
    for case in expect["envelopes"]:
        env = Envelope.parse((intoto / case["file"]).read_bytes())
        assert env.payload_type == case["payloadType"]
        assert len(env.signatures[0].sig) == case["signature_bytes"]
        kid = case["signature_keyid"]
        verified = RsaPssVerifier.from_pem(keys[kid], kid).verify(env, case["payloadType"])
        assert verified.signers == (kid,)
        assert json.loads(verified.payload)["_type"] == case["payload_type_field"]


def test_in_toto_wrong_key_and_tamper(intoto: Path) -> None:
    keys = _intoto_keys(intoto)
    env = Envelope.parse((intoto / "clone-dsse.776a00e2.link").read_bytes())
    alice = RsaPssVerifier.from_pem((intoto / "alice.pub").read_bytes())
    with pytest.raises(VerificationFailed, match="no valid signature"):
        alice.verify(env)
    right = RsaPssVerifier.from_pem(keys[env.signatures[0].keyid], env.signatures[0].keyid)
    payload = bytearray(env.payload)
    payload[10] ^= 0x20
    with pytest.raises(VerificationFailed):
        right.verify(Envelope(bytes(payload), env.payload_type, env.signatures))


def test_wallet_envelope_round_trip() -> None:
    signer = LocalSigner.generate()
    env = sign_envelope(b'{"a":1}', "application/vnd.in-toto+json", WalletEnvelopeSigner(signer))
    assert env.signatures[0].keyid == signer.address
    again = Envelope.parse(env.to_json())
    assert again == env
    assert WalletVerifier().verify(again).signers == (signer.address,)
    assert WalletVerifier([signer.address.lower()]).verify(again).signers == (signer.address,)
    with pytest.raises(VerificationFailed):
        WalletVerifier([LocalSigner.generate().address]).verify(again)


def test_wallet_keyid_must_match_signer() -> None:
    signer, liar = LocalSigner.generate(), LocalSigner.generate()
    env = sign_envelope(b"x", "t", WalletEnvelopeSigner(signer))
    forged = Envelope(
        env.payload, env.payload_type, (EnvelopeSignature(liar.address, env.signatures[0].sig),)
    )
    with pytest.raises(VerificationFailed):
        WalletVerifier().verify(forged)


def test_url_safe_and_unpadded_base64_accepted() -> None:
    payload = bytes(range(250, 256)) * 3
    std = base64.b64encode(payload).decode()
    for text in (std, std.rstrip("="), base64.urlsafe_b64encode(payload).decode().rstrip("=")):
        doc = {"payload": text, "payloadType": "t", "signatures": [{"sig": "AAAA"}]}
        assert Envelope.parse(json.dumps(doc)).payload == payload


@pytest.mark.parametrize(
    "doc",
    [
        "[]",
        "null",
        "{}",
        '{"payload": "aGk=", "payloadType": "", "signatures": []}',
        '{"payload": "a!b", "payloadType": "t", "signatures": []}',
        '{"payload": "aGk=", "payloadType": "t", "signatures": {}}',
        '{"payload": "aGk=", "payloadType": "t", "signatures": [{"sig": ""}]}',
        '{"payload": "aGk=", "payloadType": "t", "signatures": [{"sig": "AA==", "keyid": 3}]}',
        '{"payload": 5, "payloadType": "t", "signatures": []}',
        "not json",
        "[" * 100000,
    ],
)
def test_malformed_envelopes(doc: str) -> None:
    with pytest.raises(ManifestError):
        Envelope.parse(doc)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(["payload", "payloadType", "signatures", "sig", "keyid", "x"]),
            c,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), _json.map(lambda d: json.dumps(d).encode())))
def test_garbage_gives_only_cairn_errors(data: bytes) -> None:
    try:
        env = Envelope.parse(data)
    except CairnError as exc:
        assert isinstance(exc, ManifestError)
        return
    with pytest.raises(VerificationFailed):
        WalletVerifier().verify(env)
