"""The positional tree and its commitment: one rule, the contract's.

``Disputes._commits`` is the judge of an inclusion proof; :mod:`cairn.receipts.merkle`
mirrors it. The differential property test holds that a proof verifies in Python iff
the deployed contract walks it to the commitment, for random trees, indexes (also at
and past the count), wrong counts and edited siblings. The known-answer tests pin the
tree rule and the commitment bytes, and the attack of issue 9 — anchor 300 receipts,
declare one — fails for every receipt but one.
"""

from __future__ import annotations

import os

import pytest
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.chain import Chain, DisputeParams, connect
from cairn.content import Cid
from cairn.errors import ReceiptInvalid
from cairn.identity import LocalSigner
from cairn.receipts import (
    MAX_COUNT,
    InclusionProof,
    MerkleTree,
    Receipt,
    ReceiptDomain,
    batch_commitment,
    verify_online,
    verify_proof,
)
from cairn.receipts.merkle import ZERO, depth, leaf_hash, pair_hash


@pytest.fixture(scope="module")
def judge() -> Chain:
    chain = connect("embedded://")
    chain.deploy(chain.dev_keys()[0], disputes=DisputeParams())
    return chain


def test_the_tree_rule_and_the_commitment_bytes() -> None:
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    la, lb, lc = (keccak(b"\x00" + d) for d in (a, b, c))
    root = keccak(b"\x01" + keccak(b"\x01" + la + lb) + keccak(b"\x01" + lc + ZERO))
    tree = MerkleTree.build([a, b, c])
    assert tree.root == root and tree.proof(2) == [ZERO, pair_hash(la, lb)]
    # the low 216 bits (ReceiptAnchor keeps the anchor time in the top five bytes)
    assert tree.commitment == bytes(5) + keccak(b"\x02" + root + (3).to_bytes(32, "big"))[5:]
    assert MerkleTree.build([a]).root == leaf_hash(a) and MerkleTree.build([a]).proof(0) == []
    assert [depth(n) for n in (1, 2, 3, 4, 5, 8, 9, MAX_COUNT)] == [0, 1, 2, 2, 3, 3, 4, 20]


def test_the_proof_binds_the_index() -> None:
    """Sorted pairs let a proof stand for any index; positional ones do not."""
    digests = [os.urandom(32) for _ in range(4)]
    tree = MerkleTree.build(digests)
    proof = tree.proof(1)
    assert verify_proof(digests[1], 1, 4, proof, tree.commitment)
    assert not any(verify_proof(digests[1], i, 4, proof, tree.commitment) for i in (0, 2, 3))


@st.composite
def cases(draw: st.DrawFn) -> tuple[bytes, int, int, list[bytes], bytes, bool]:
    n = draw(st.integers(1, 40))
    digests = [draw(st.binary(min_size=32, max_size=32)) for _ in range(n)]
    tree = MerkleTree.build(digests)
    i = draw(st.integers(0, n - 1))
    digest, proof, commitment = digests[i], tree.proof(i), tree.commitment
    index, count = i, n
    honest = True
    for mutation in draw(st.lists(st.sampled_from(range(6)), max_size=2)):
        honest = False
        if mutation == 0:  # another index, also at or past the count
            index = draw(st.integers(0, n + 3))
        elif mutation == 1:  # a wrong count, as the node would declare it
            count = draw(st.integers(1, 2 * n + 2))
        elif mutation == 2 and proof:  # an edited sibling
            k = draw(st.integers(0, len(proof) - 1))
            proof = [*proof[:k], os.urandom(32), *proof[k + 1 :]]
        elif mutation == 3:  # a sibling more or less
            proof = [*proof, ZERO] if draw(st.booleans()) or not proof else proof[:-1]
        elif mutation == 4:  # another receipt
            digest = os.urandom(32)
        else:  # the commitment of the same root under another count
            commitment = batch_commitment(tree.root, draw(st.integers(1, 2 * n + 2)))
    return digest, index, count, proof, commitment, honest


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_python_verifies_exactly_what_the_contract_verifies(
    judge: Chain, case: tuple[bytes, int, int, list[bytes], bytes, bool]
) -> None:
    digest, index, count, proof, commitment, honest = case
    ours = verify_proof(digest, index, count, proof, commitment)
    theirs = judge.disputes.batch_commitment(digest, index, count, tuple(proof)) == commitment
    assert ours == theirs
    if honest:
        assert ours


def test_a_count_over_the_cap_is_no_proof(judge: Chain) -> None:
    assert judge.disputes.batch_commitment(bytes(32), 0, MAX_COUNT + 1, (ZERO,) * 21) is None
    assert not verify_proof(bytes(32), 0, MAX_COUNT + 1, [ZERO] * 21, bytes(32))
    with pytest.raises(ReceiptInvalid, match="at most"):
        MerkleTree.build([bytes(32)] * (MAX_COUNT + 1))


def _receipt(signer: LocalSigner, n: int) -> Receipt:
    return Receipt(
        model=str(Cid.of(b"model bytes")),
        input_hash=os.urandom(32),
        output_hash=os.urandom(32),
        node=signer.address,
        request_id=n.to_bytes(32, "big"),
        issued_at=1_700_000_000 + n,
        runtime="onnxruntime=1.32;cpu=avx2;threads=1",
        price=10**12,
        domain=ReceiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    ).sign(signer)


def test_anchor_300_declare_1_leaves_no_receipt_verifiable() -> None:
    """Issue 9: a node anchors the root of 300 receipts but declares one, so that only leaf
    0 would be sampled. With the count committed no receipt verifies online under what it
    anchored — neither with the real count nor with the declared one."""
    signer = LocalSigner.generate()
    receipts = [_receipt(signer, i) for i in range(300)]
    tree = MerkleTree.build([r.digest() for r in receipts])
    onchain = batch_commitment(tree.root, 1)  # what ReceiptAnchor stores for (root, 1)
    for i in (0, 1, 150, 299):
        for count in (300, 1):
            proof = tree.proof(i) if count == 300 else []
            p = InclusionProof(signer.address, 7, i, count, tree.root, tuple(proof))
            with pytest.raises(ReceiptInvalid, match=r"another root or count|inclusion proof"):
                verify_online(receipts[i], p, lambda _n, _b: onchain, lambda _n: True)
