"""Receipts: EIP-712 hashing (cross-checked with the generic encoder and eth-account),
signatures, JSON and header forms, Merkle proofs, batching and offline checks."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.content import Cid
from cairn.errors import ReceiptInvalid
from cairn.identity import LocalSigner, typed_data_digest
from cairn.receipts import (
    RECEIPT_TYPES,
    Batcher,
    InclusionProof,
    MerkleTree,
    Receipt,
    ReceiptDomain,
    SqliteReceiptStore,
    batch_commitment,
    texts_hash,
    verify_offline,
    verify_online,
    verify_proof,
)

MODEL = str(Cid.of(b"model bytes"))
DOMAIN = ReceiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


def make(signer: LocalSigner, n: int = 0, domain: ReceiptDomain = DOMAIN) -> Receipt:
    return Receipt(
        model=MODEL,
        input_hash=texts_hash([f"hello {n}"]),
        output_hash=os.urandom(32),
        node=signer.address,
        request_id=n.to_bytes(32, "big"),
        issued_at=1_700_000_000 + n,
        runtime="onnxruntime=1.32;cpu=avx2;threads=1",
        price=10**12,
        domain=domain,
    ).sign(signer)


@pytest.fixture(scope="module")
def signer() -> LocalSigner:
    return LocalSigner.generate()


def _typed(receipt: Receipt) -> dict:
    msg = receipt.to_json()
    return {
        "types": RECEIPT_TYPES,
        "primaryType": "Receipt",
        "domain": receipt.domain.to_json(),
        "message": {
            **{
                k: msg[k]
                for k in ("inputHash", "outputHash", "node", "requestId", "issuedAt", "runtime")
            },
            "model": "0x" + bytes(Cid.parse(receipt.model)).hex(),
            "price": int(msg["price"]),
        },
    }


def test_fast_digest_equals_generic_encoder_and_eth_account(signer: LocalSigner) -> None:
    r = make(signer)
    typed = _typed(r)
    assert r.digest() == typed_data_digest(typed) == typed_data_digest(r.typed_data())
    signed = Account.sign_message(encode_typed_data(full_message=typed), signer.private_key)
    assert signed.signature == r.signature.to_bytes()  # type: ignore[union-attr]


def test_json_and_header_roundtrip(signer: LocalSigner) -> None:
    r = make(signer, 7)
    assert Receipt.from_json(r.to_json()) == r
    assert Receipt.from_header(r.to_header()) == r
    verify_offline(Receipt.from_header(r.to_header()), expected_node=signer.address)


@pytest.mark.parametrize("chain_id", [31337, 2**70 + 3])  # the second: past orjson's 64 bits
def test_json_text_is_compact_sorted_utf8_json(signer: LocalSigner, chain_id: int) -> None:
    """What a node stores and sends as ``Cairn-Receipt``: the JSON form, compact, keys
    sorted, UTF-8 (a runtime may name itself in any script), whichever writer wrote it."""
    domain = ReceiptDomain(chain_id, DOMAIN.anchor)
    r = dataclasses.replace(make(signer, 3), runtime='onnxruntime/1.32 é漢 "q"\n\x7f')
    r = dataclasses.replace(r, domain=domain, signature=None).sign(signer)
    expected = json.dumps(r.to_json(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert r.json_text == expected
    assert Receipt.from_header(r.to_header()) == r
    verify_offline(Receipt.from_header(r.to_header()), expected_node=signer.address)


@pytest.mark.parametrize(
    "field", ["outputHash", "inputHash", "price", "issuedAt", "model", "runtime"]
)
def test_any_changed_field_breaks_the_signature(signer: LocalSigner, field: str) -> None:
    body = make(signer).to_json()
    if field in ("outputHash", "inputHash"):
        body[field] = body[field][:-1] + ("0" if body[field][-1] != "0" else "1")
    elif field in ("price", "issuedAt"):
        body[field] = int(body[field]) + 1
    elif field == "model":
        body[field] = str(Cid.of(b"another model"))
    else:
        body[field] += " "
    with pytest.raises(ReceiptInvalid, match="not by its node"):
        verify_offline(Receipt.from_json(body))


def test_flipped_signature_bit_is_rejected(signer: LocalSigner) -> None:
    body = make(signer).to_json()
    sig = bytearray(bytes.fromhex(body["signature"][2:]))
    sig[10] ^= 0x01
    body["signature"] = "0x" + sig.hex()
    with pytest.raises(ReceiptInvalid):
        verify_offline(Receipt.from_json(body))


def test_offline_checks_hashes_and_network(signer: LocalSigner) -> None:
    r = make(signer, 3)
    verify_offline(r, input_hash=texts_hash(["hello 3"]), expected_domain=DOMAIN)
    with pytest.raises(ReceiptInvalid, match="input does not match"):
        verify_offline(r, input_hash=texts_hash(["hello 4"]))
    with pytest.raises(ReceiptInvalid, match="output does not match"):
        verify_offline(r, output_hash=bytes(32))
    with pytest.raises(ReceiptInvalid, match="not the pinned chain 1"):
        verify_offline(r, expected_domain=ReceiptDomain(1, DOMAIN.anchor))


@pytest.mark.parametrize("garbage", [None, [], {"model": "x"}, {**{}, "domain": 5}, "str"])
def test_malformed_receipts_are_receipt_invalid(garbage: object) -> None:
    with pytest.raises(ReceiptInvalid):
        Receipt.from_json(garbage)
    with pytest.raises(ReceiptInvalid):
        Receipt.from_header("!!!not base64 json")


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=40), st.data())
def test_every_leaf_proves_and_no_other_root_accepts(n: int, data: st.DataObject) -> None:
    digests = [os.urandom(32) for _ in range(n)]
    tree = MerkleTree.build(digests)
    i = data.draw(st.integers(0, n - 1))
    c = tree.commitment
    assert verify_proof(digests[i], i, n, tree.proof(i), c)
    assert not verify_proof(os.urandom(32), i, n, tree.proof(i), c)
    other = MerkleTree.build([*digests, os.urandom(32)])
    assert not verify_proof(digests[i], i, n + 1, tree.proof(i), other.commitment)


def test_batcher_seals_anchors_and_proves(signer: LocalSigner, tmp_path: Path) -> None:
    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    roots: dict[int, bytes] = {}  # batch id -> commitment, as ReceiptAnchor keeps it
    batcher = Batcher(
        store, lambda b, root, c: roots.__setitem__(b, batch_commitment(root, c)), max_receipts=4
    )
    receipts = [make(signer, i) for i in range(10)]
    for r in receipts:
        store.add(r, b"in", b"out")
    assert batcher.flush() == 3  # 4 + 4 + 2
    for r in receipts:
        stored = store.get(r.request_id)
        assert stored is not None and stored.batch_id is not None and stored.leaf_index is not None
        tree = batcher.tree(stored.batch_id)
        proof = InclusionProof(
            r.node,
            stored.batch_id,
            stored.leaf_index,
            tree.count,
            tree.root,
            tuple(tree.proof(stored.leaf_index)),
        )
        proof = InclusionProof.from_json(proof.to_json())
        verify_online(r, proof, lambda _n, b: roots.get(b), lambda _n: True)
    wrong = InclusionProof(signer.address, 1, 0, 4, batcher.tree(2).root, ())
    with pytest.raises(ReceiptInvalid, match="another root"):
        verify_online(receipts[0], wrong, lambda _n, b: roots.get(b), lambda _n: True)
    with pytest.raises(ReceiptInvalid, match="not staked"):
        stored = store.get(receipts[0].request_id)
        assert stored is not None
        tree = batcher.tree(1)
        ok = InclusionProof(signer.address, 1, 0, 4, tree.root, tuple(tree.proof(0)))
        verify_online(receipts[0], ok, lambda _n, b: roots.get(b), lambda _n: False)


def test_failed_anchoring_is_retried(signer: LocalSigner, tmp_path: Path) -> None:
    from cairn.errors import ChainUnreachable

    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    calls: list[int] = []
    up = {"ok": False}

    def anchor(batch_id: int, root: bytes, count: int) -> None:
        calls.append(batch_id)
        if not up["ok"]:
            raise ChainUnreachable("chain down")

    batcher = Batcher(store, anchor, max_receipts=2)
    for i in range(3):
        store.add(make(signer, i), b"", b"")
    assert batcher.flush() == 0 and batcher.last_error == "chain down"
    up["ok"] = True
    assert batcher.flush() == 2
    assert store.unanchored_batches() == []
    assert calls == [1, 1, 2]


def test_retention_purge_keeps_receipts(signer: LocalSigner, tmp_path: Path) -> None:
    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    old, new = make(signer, 0), make(signer, 100)
    store.add(old, b"old-in", b"old-out")
    store.add(new, b"new-in", b"new-out")
    assert store.purge_before(1_700_000_050) == 1
    gone, kept = store.get(old.request_id), store.get(new.request_id)
    assert gone is not None and gone.input is None and gone.receipt == old
    assert kept is not None and kept.input == b"new-in"


def test_batcher_purges_inputs_after_the_audit_window(signer: LocalSigner, tmp_path: Path) -> None:
    store = SqliteReceiptStore(tmp_path / "r.sqlite")
    old = make(signer, 0)  # issued in 2023: far outside a one-day window
    store.add(old, b"in", b"out")
    batcher = Batcher(store, lambda b, r, c: None, retain_s=86400)
    assert batcher.purge() == 1
    kept = store.get(old.request_id)
    assert kept is not None and kept.input is None and kept.receipt == old
    assert Batcher(store, lambda b, r, c: None).purge() == 0  # no window: keep everything
