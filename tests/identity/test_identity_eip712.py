"""EIP-712: every hashing stage of the reference "Mail" example, signing, recovery."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.errors import CairnError, SignatureError
from cairn.identity import (
    LocalSigner,
    Signature,
    domain_separator,
    eip712_digest,
    hash_struct,
    recover_typed_data,
    sign_typed_data,
    type_hash,
    typed_data_digest,
    verify_typed_data,
)
from cairn.identity.eip712 import encode_data, encode_type


@pytest.fixture(scope="module")
def mail(vectors: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((vectors / "eip712" / "mail.json").read_text())
    return doc


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def test_encode_type_and_type_hash(mail: dict[str, Any]) -> None:
    types = mail["typedData"]["types"]
    for name in ("Mail", "Person", "EIP712Domain"):
        assert encode_type(name, types) == mail["encodeType"][name]
        assert _hex(type_hash(name, types)) == mail["typeHash"][name]


def test_encode_data_and_hash_struct(mail: dict[str, Any]) -> None:
    td = mail["typedData"]
    types, message = td["types"], td["message"]
    assert _hex(encode_data("Mail", message, types)) == mail["encodeData_Mail"]
    assert _hex(hash_struct("Person", message["from"], types)) == mail["hashStruct"]["Cow"]
    assert _hex(hash_struct("Person", message["to"], types)) == mail["hashStruct"]["Bob"]
    assert _hex(hash_struct("Mail", message, types)) == mail["hashStruct"]["Mail"]


def test_domain_separator_and_digest(mail: dict[str, Any]) -> None:
    td = mail["typedData"]
    assert _hex(domain_separator(td)) == mail["domainSeparator"]
    assert _hex(typed_data_digest(td)) == mail["digest"]
    fast = eip712_digest(domain_separator(td), hash_struct("Mail", td["message"], td["types"]))
    assert _hex(fast) == mail["digest"]


def test_signature_and_recovery(mail: dict[str, Any]) -> None:
    td = mail["typedData"]
    signer = LocalSigner.from_hex(mail["privateKey"])
    assert signer.address == mail["address_checksummed"]
    sig = sign_typed_data(signer, td)
    want = mail["signature"]
    assert (sig.v, _hex(sig.r.to_bytes(32, "big")), _hex(sig.s.to_bytes(32, "big"))) == (
        want["v"],
        want["r"],
        want["s"],
    )
    assert sig.hex == want["rsv_hex"]
    assert recover_typed_data(td, sig) == mail["address_checksummed"]
    assert recover_typed_data(td, Signature.from_hex(want["rsv_hex"]).to_bytes()) == signer.address
    assert verify_typed_data(td, sig, mail["address"]) == signer.address


def test_fast_path_signs_the_same_digest(mail: dict[str, Any]) -> None:
    signer = LocalSigner.from_hex(mail["privateKey"])
    digest = bytes.fromhex(mail["digest"][2:])
    assert signer.sign_hash(digest).hex == mail["signature"]["rsv_hex"]


def test_tampered_message_recovers_someone_else(mail: dict[str, Any]) -> None:
    td = copy.deepcopy(mail["typedData"])
    sig = Signature.from_hex(mail["signature"]["rsv_hex"])
    td["message"]["contents"] = "Hello, Bob!!"
    assert recover_typed_data(td, sig) != mail["address_checksummed"]
    with pytest.raises(SignatureError, match="expected"):
        verify_typed_data(td, sig, mail["address_checksummed"])


def test_domain_derived_when_type_is_absent(mail: dict[str, Any]) -> None:
    td = copy.deepcopy(mail["typedData"])
    del td["types"]["EIP712Domain"]
    assert _hex(typed_data_digest(td)) == mail["digest"]


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("message", "to", "wallet"), "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbb", "address"),
        (("message", "contents"), 5, "string"),
        (("domain", "chainId"), "one", "integer"),
        (("domain", "chainId"), -1, "fit"),
        (("primaryType",), "Letter", "not defined"),
    ],
)
def test_malformed_typed_data(
    mail: dict[str, Any], path: tuple[str, ...], value: Any, match: str
) -> None:
    td = copy.deepcopy(mail["typedData"])
    target = td
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SignatureError, match=match):
        typed_data_digest(td)


def test_missing_field(mail: dict[str, Any]) -> None:
    td = copy.deepcopy(mail["typedData"])
    del td["message"]["from"]["name"]
    with pytest.raises(SignatureError, match="missing field 'name'"):
        typed_data_digest(td)


_ATOMS = st.sampled_from(
    [
        "uint256",
        "uint8",
        "int64",
        "bool",
        "bytes",
        "string",
        "bytes4",
        "address",
        "uint32[]",
        "string[2]",
    ]
)


def _value(kind: str) -> st.SearchStrategy[Any]:
    return {
        "uint256": st.integers(0, 2**256 - 1),
        "uint8": st.integers(0, 255),
        "int64": st.integers(-(2**63), 2**63 - 1),
        "bool": st.booleans(),
        "bytes": st.binary(max_size=70).map(lambda b: "0x" + b.hex()),
        "string": st.text(max_size=20),
        "bytes4": st.binary(min_size=4, max_size=4).map(lambda b: "0x" + b.hex()),
        "address": st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
        "uint32[]": st.lists(st.integers(0, 2**32 - 1), max_size=4),
        "string[2]": st.lists(st.text(max_size=5), min_size=2, max_size=2),
    }[kind]


@st.composite
def _typed_data(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(st.lists(_ATOMS, min_size=1, max_size=5))
    fields = [{"name": f"f{i}", "type": k} for i, k in enumerate(kinds)]
    message = {f"f{i}": draw(_value(k)) for i, k in enumerate(kinds)}
    inner = {"name": "x", "type": "Inner"}
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "Inner": [{"name": "n", "type": "uint256"}],
            "Top": [*fields, inner, {"name": "xs", "type": "Inner[]"}],
        },
        "primaryType": "Top",
        "domain": {"name": draw(st.text(max_size=8)), "chainId": draw(st.integers(0, 2**64))},
        "message": {**message, "x": {"n": 1}, "xs": [{"n": 2}, {"n": 3}]},
    }


@settings(max_examples=60, deadline=None)
@given(_typed_data())
def test_matches_eth_account(td: dict[str, Any]) -> None:
    theirs = encode_typed_data(full_message=td)
    assert typed_data_digest(td) == _ref_digest(theirs)


def _ref_digest(signable: Any) -> bytes:
    from eth_utils.crypto import keccak

    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_garbage_raises_only_signature_error(doc: Any) -> None:
    candidates = [
        doc,
        {"types": doc, "primaryType": "Mail", "domain": {}, "message": doc},
        {"types": {"Mail": doc}, "primaryType": "Mail", "domain": {}, "message": {}},
    ]
    for td in candidates:
        try:
            typed_data_digest(td)
        except CairnError as exc:
            assert isinstance(exc, SignatureError)
