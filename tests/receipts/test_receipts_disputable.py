"""Every receipt a client accepts is disputable: the Disputes contract is the definition.

A differential property test: receipts are generated with varying domain name,
version and chain id, runtime and model lengths (multi-byte UTF-8 included) and
prices, signed by a random key, and checked both ways against a Disputes
contract deployed on the embedded chain — offline verification under the pinned
network accepts a receipt exactly when the contract rebuilds the same digest and
its ABI bounds accept the struct.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.chain import Chain, DisputeParams, connect
from cairn.content import Cid
from cairn.content.cid import RAW
from cairn.errors import CairnError, ChainError, ReceiptInvalid
from cairn.identity import LocalSigner
from cairn.receipts import Receipt, ReceiptDomain, verify_offline
from cairn.receipts.receipt import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    MAX_MODEL_BYTES,
    MAX_RUNTIME_BYTES,
)

DISPUTES_VY = Path(__file__).parents[2] / "src/cairn/chain/contracts/Disputes.vy"
IDENTITY = 0x00


@pytest.fixture(scope="module")
def judge() -> Chain:
    chain = connect("embedded://")
    chain.deploy(chain.dev_keys()[0], disputes=DisputeParams())
    return chain


def test_the_bounds_are_the_contracts() -> None:
    """The Python constants are read off the contract source, not written twice by hand."""
    source = DISPUTES_VY.read_text()
    assert int(re.search(r"^MAX_MODEL: constant\(uint256\) = (\d+)", source, re.M)[1]) == (  # type: ignore[index]
        MAX_MODEL_BYTES
    )
    assert int(re.search(r"^MAX_RUNTIME: constant\(uint256\) = (\d+)", source, re.M)[1]) == (  # type: ignore[index]
        MAX_RUNTIME_BYTES
    )
    assert f'keccak256("{DOMAIN_NAME}"), keccak256("{DOMAIN_VERSION}")' in source


def _model(size: int) -> str:
    """A CID whose binary form is ``size`` bytes (an identity multihash of the right length)."""
    if size == 36:
        return str(Cid.of(b"a model"))
    n = size - 4 - (1 if size - 4 >= 128 else 0)
    cid = Cid(1, RAW, IDENTITY, b"m" * n)
    assert len(bytes(cid)) == size
    return str(cid)


runtimes = st.one_of(
    st.integers(0, 700).map(lambda n: "r" * n),
    st.integers(0, 260).map(lambda n: "é" * n),  # 2 bytes each: 257 of them are 514 bytes
    st.sampled_from(["", "onnxruntime=1.32;cpu=avx2", "x" * 512, "x" * 513, "é" * 256 + "x"]),
)


@st.composite
def receipts(draw: st.DrawFn, pinned: ReceiptDomain) -> Receipt:
    domain = ReceiptDomain(  # mostly the pinned network, so the field bounds get tried
        draw(_mostly(pinned.chain_id, [pinned.chain_id + 1, 1, 31337])),
        draw(_mostly(pinned.anchor, ["0x" + "11" * 20])),
        draw(_mostly(DOMAIN_NAME, ["Cairn ", "cairn", ""])),
        draw(_mostly(DOMAIN_VERSION, ["2", "1.0", ""])),
    )
    signer = LocalSigner(draw(st.binary(min_size=32, max_size=32).filter(_valid_key)))
    return Receipt(
        model=_model(draw(st.sampled_from([36, 100, 127, 128, 129, 140, 200]))),
        input_hash=os.urandom(32),
        output_hash=os.urandom(32),
        node=signer.address,
        request_id=os.urandom(32),
        issued_at=draw(st.integers(0, 2**64 - 1)),
        runtime=draw(runtimes),
        price=draw(st.integers(0, 2**256 - 1)),
        domain=domain,
    ).sign(signer)


def _mostly(usual: object, others: list[object]) -> st.SearchStrategy[object]:
    return st.sampled_from([usual] * (3 * len(others)) + others)


def _valid_key(raw: bytes) -> bool:
    return 0 < int.from_bytes(raw, "big") < 2**256 - 2**128


def _contract_judges(judge: Chain, receipt: Receipt) -> bool:
    try:
        return judge.disputes.receipt_digest(receipt) == receipt.digest()
    except ChainError:  # the ABI decoder refused the struct (a field over its bound)
        return False


def _offline_accepts(receipt: Receipt, pinned: ReceiptDomain) -> bool:
    try:
        verify_offline(receipt, expected_domain=pinned)
    except ReceiptInvalid as exc:
        assert "\n" not in str(exc)  # one line, for the CLI
        return False
    return True


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_offline_accepts_exactly_what_the_contract_can_judge(
    judge: Chain, data: st.DataObject
) -> None:
    pinned = judge.disputes.receipt_domain
    receipt = data.draw(receipts(pinned))
    offline = _offline_accepts(receipt, pinned)
    assert offline == _contract_judges(judge, receipt), receipt.to_json()
    try:  # the parser refuses what the contract cannot judge, whatever the network
        parsed = Receipt.from_json(receipt.to_json())
    except ReceiptInvalid:
        assert not offline
    else:
        assert parsed.digest() == receipt.digest()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": "2"}, "only 'Cairn' version '1'"),
        ({"name": "Cairn2"}, "only 'Cairn' version '1'"),
        ({"runtime": "x" * 600}, "runtime is 600 bytes"),
        ({"runtime": "\ud800"}, "not valid UTF-8"),
        ({"model": _model(129)}, "model CID is 129 bytes"),
        ({"chainId": 0}, "chain id 0 is out of range"),
    ],
)
def test_a_receipt_the_contract_cannot_judge_is_refused_in_one_line(
    change: dict[str, object], reason: str
) -> None:
    signer = LocalSigner.generate()
    base = Receipt(
        str(Cid.of(b"m")),
        bytes(32),
        bytes(32),
        signer.address,
        bytes(32),
        1,
        "rt",
        0,
        ReceiptDomain(2**31 + 5, "0x" + "22" * 20),
    )
    body = base.sign(signer).to_json()
    for key in ("version", "name", "chainId"):
        if key in change:
            body["domain"][key] = change[key]
    body.update({k: v for k, v in change.items() if k in ("runtime", "model")})
    with pytest.raises(ReceiptInvalid, match=re.escape(reason)) as caught:
        Receipt.from_json(body)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, CairnError)
