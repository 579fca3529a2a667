"""Each refusal of :meth:`Receipt.check_judgeable`, the parser, :meth:`Receipt.signer` and
:class:`MerkleTree`, tripped at its boundary (STYLE.md point 10): the mutants of
``bench/mutate.py`` that the property tests left alive, bounds no random draw reaches."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from cairn.content import Cid
from cairn.content.cid import RAW
from cairn.errors import ReceiptInvalid
from cairn.identity import LocalSigner, Signature
from cairn.identity.base import SECP256K1_N
from cairn.receipts import MerkleTree, Receipt, ReceiptDomain

SIGNER = LocalSigner.generate()
BASE = Receipt(
    str(Cid.of(b"m")),
    bytes(32),
    bytes(32),
    SIGNER.address,
    bytes(32),
    1,
    "rt",
    0,
    ReceiptDomain(2**31 + 5, "0x" + "22" * 20),
)


def _model(size: int) -> str:
    """A CID of ``size`` binary bytes (identity multihash; size < 132)."""
    return str(Cid(1, RAW, 0x00, b"m" * (size - 4)))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"issued_at": -1}, "issuedAt or price out of range"),
        ({"issued_at": 2**64}, "issuedAt or price out of range"),
        ({"price": -1}, "issuedAt or price out of range"),
        ({"price": 2**256}, "issuedAt or price out of range"),
        ({"domain": ReceiptDomain(2**256, BASE.domain.anchor)}, "out of range"),
        ({"input_hash": bytes(31)}, "inputHash must be 32 bytes"),
        ({"output_hash": bytes(33)}, "outputHash must be 32 bytes"),
        ({"request_id": bytes(31)}, "requestId must be 32 bytes"),
        ({"model": "not-a-cid"}, "model is not a CID"),
        ({"model": _model(129)}, "129 bytes (max 128)"),
        ({"runtime": "x" * 513}, "513 bytes of UTF-8"),
    ],
)
def test_each_field_bound_is_refused_just_past_it(change: dict[str, object], reason: str) -> None:
    with pytest.raises(ReceiptInvalid, match=re.escape(reason)):
        replace(BASE, **change).check_judgeable()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"issued_at": 0},
        {"issued_at": 2**64 - 1, "price": 2**256 - 1},
        {"domain": ReceiptDomain(1, BASE.domain.anchor)},
        {"domain": ReceiptDomain(2**256 - 1, BASE.domain.anchor)},
        {"model": _model(128), "runtime": "x" * 512},
    ],
)
def test_each_field_bound_is_accepted_at_it(change: dict[str, object]) -> None:
    replace(BASE, **change).check_judgeable()  # type: ignore[arg-type]


def test_the_parser_takes_raw_32_bytes_and_refuses_other_lengths() -> None:
    signed = BASE.sign(SIGNER)
    body = signed.to_json()
    assert Receipt.from_json({**body, "inputHash": bytes(32), "requestId": bytes(32)}) == signed
    for bad in (bytes(31), bytes(33), "0x" + "00" * 31, "0x" + "zz" * 32, "00" * 16):
        with pytest.raises(ReceiptInvalid, match="outputHash must be 32 bytes of 0x-hex"):
            Receipt.from_json({**body, "outputHash": bad})


def test_an_unsigned_or_malleable_signature_is_refused() -> None:
    with pytest.raises(ReceiptInvalid, match="not signed"):
        BASE.signer()
    sig = BASE.sign(SIGNER).signature
    assert sig is not None
    high_s = Signature(sig.r, SECP256K1_N - sig.s, 55 - sig.v)  # the same point, high-s form
    with pytest.raises(ReceiptInvalid, match="signature is invalid"):
        replace(BASE, signature=high_s).signer()


def test_an_empty_batch_and_a_leaf_outside_it_are_refused() -> None:
    with pytest.raises(ReceiptInvalid, match="at least one receipt"):
        MerkleTree.build([])
    tree = MerkleTree.build([bytes(32)] * 3)
    for index in (-1, 3):
        with pytest.raises(ReceiptInvalid, match=f"leaf {index} is not in a batch of 3"):
            tree.proof(index)
