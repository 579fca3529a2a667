"""The embedded chain's indexed lookups (cairn.chain._index): the same answers as
eth-tester's scans — transactions by hash, receipts, logs — without the scans."""

from __future__ import annotations

from typing import Any

import pytest
from eth.db.chain import ChainDB
from eth_hash.auto import keccak
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import BlockNotFound, TransactionNotFound, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.chain import Chain, Role, connect
from cairn.chain import _index as index
from cairn.chain._embedded import EmbeddedBackend
from cairn.identity import LocalSigner

ALICE = LocalSigner(keccak(b"index-alice"))
TRANSFER = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
NOBODY = "0x" + "ab" * 20


def _parts(chain: Chain) -> tuple[index.IndexedBackend, index.IndexedTester]:
    backend = chain.backend
    assert isinstance(backend, EmbeddedBackend)
    return backend._evm, backend._tester


@pytest.fixture(scope="module")
def history() -> Chain:
    """A chain with logs from two contracts, a plain transfer and runs of empty blocks."""
    chain = connect("embedded://")
    dev = chain.dev_keys()[0]
    chain.deploy(dev)
    chain.mine(5)
    chain.fund(ALICE.address, 10**19)
    chain.token.mint(dev, ALICE.address, 7)
    chain.mine(5)
    chain.staking.register(ALICE, Role.NODE, "https://n")
    chain.token.mint(dev, NOBODY, 9)
    chain.mine(3)
    return chain


def _tx_hashes(chain: Chain) -> list[bytes]:
    _, tester = _parts(chain)
    return [
        bytes.fromhex(h.removeprefix("0x"))
        for n in range(chain.head() + 1)
        for h in tester.get_block_by_number(n)["transactions"]
    ]


def test_transactions_and_receipts_are_eth_testers_answers(history: Chain) -> None:
    backend, _ = _parts(history)
    hashes = _tx_hashes(history)
    assert len(hashes) > 10
    for h in hashes:
        assert backend.get_transaction_receipt(h) == PyEVMBackend.get_transaction_receipt(
            backend, h
        )
        assert backend.get_transaction_by_hash(h) == PyEVMBackend.get_transaction_by_hash(
            backend, h
        )
    with pytest.raises(TransactionNotFound):
        backend.get_transaction_receipt(b"\x11" * 32)


def test_a_mined_transaction_is_found_without_reading_other_blocks(
    history: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    def scan(*_args: Any) -> Any:
        raise AssertionError("eth-tester's scan of every block")

    monkeypatch.setattr(index, "_get_transaction_by_hash", scan)
    for h in _tx_hashes(history):
        receipt = history.rpc("eth_getTransactionReceipt", ["0x" + h.hex()])
        assert receipt["transactionHash"] == "0x" + h.hex()


def test_an_index_entry_is_believed_only_where_it_holds() -> None:
    """Where py-evm's index is stale (an ``evm_revert`` leaves entries behind) or lacks a
    transaction, the answer is still eth-tester's: not found, or found by its scan."""
    chain = connect("embedded://")
    chain.deploy(chain.dev_keys()[0])
    backend, _ = _parts(chain)
    db, real = backend.chain.chaindb.db, _tx_hashes(chain)[-1]
    holding = backend.get_transaction_receipt(real)["block_number"]
    at = backend.chain.get_canonical_block_header_by_number
    stale = {
        b"\x01" * 32: (at(holding), 0),  # where another transaction sits
        b"\x02" * 32: (at(holding), 1),  # past the block's transactions
        b"\x03" * 32: (backend.chain.get_block().header, 0),  # the pending block
    }
    for h, (header, position) in stale.items():
        ChainDB._add_transaction_to_canonical_chain(db, h, header, position)
        for find in (backend.get_transaction_receipt, backend.get_transaction_by_hash):
            with pytest.raises(TransactionNotFound):
                find(h)
    ChainDB._remove_transaction_from_canonical_chain(db, real)
    found = backend.get_transaction_receipt(real)
    assert found["transaction_hash"] == real
    assert found == PyEVMBackend.get_transaction_receipt(backend, real)


BLOCKS = st.one_of(st.none(), st.just("latest"), st.integers(0, 40))
ADDRESSES = st.sampled_from(["token", "staking", "both", "nobody", None])
TOPICS = st.sampled_from(
    [None, [TRANSFER], [[TRANSFER, "0x" + "00" * 32]], [None, "0x" + "00" * 32], ["0x" + "11" * 32]]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lo=BLOCKS, hi=BLOCKS, which=ADDRESSES, topics=TOPICS)
def test_logs_are_eth_testers_logs(
    history: Chain, lo: Any, hi: Any, which: str | None, topics: Any
) -> None:
    _, tester = _parts(history)
    head = history.head()
    lo, hi = [min(b, head) if isinstance(b, int) else b for b in (lo, hi)]
    named = {"token": history.token.address, "staking": history.staking.address}
    address = {
        **named,
        "both": list(named.values()),
        "nobody": NOBODY,
        None: None,
    }[which]
    ours = tester.get_logs(lo, hi, address, topics)
    assert ours == tuple(EthereumTester.get_logs(tester, lo, hi, address, topics))


def test_the_full_range_finds_every_log(history: Chain) -> None:
    _, tester = _parts(history)
    logs = tester.get_logs(0, history.head(), history.token.address, [TRANSFER])
    assert [int(log["data"], 16) for log in logs] == [7, 9]  # the two mints


def _outcome(get_logs: Any, *args: Any) -> Any:
    try:
        return tuple(get_logs(*args))
    except Exception as exc:
        return type(exc)


def test_other_block_tags_and_bad_filters_behave_as_eth_tester(history: Chain) -> None:
    _, tester = _parts(history)
    head = history.head()
    cases = [
        ("earliest", "latest"),
        (0, "pending"),
        ("pending", "pending"),
        ("latest", "earliest"),
        (0, head + 1),  # the pending block: not mined
        (0, head + 5),
        (head + 5, head + 9),  # an empty range past the head
        (-1, head),
        (0, head, "not an address"),
        (head, head, "not an address"),  # over empty blocks only: refused all the same
        (head, head, None, ["not a topic"]),
    ]
    seen = set()
    for args in cases:
        ours = _outcome(tester.get_logs, *args)
        assert ours == _outcome(lambda *a: EthereumTester.get_logs(tester, *a), *args), args
        seen.add(ours if isinstance(ours, type) else "logs")
    assert {BlockNotFound, ValidationError, "logs"} <= seen


def test_logs_read_only_blocks_that_can_hold_them(
    history: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, tester = _parts(history)
    head, token = history.head(), history.token.address
    read: list[int] = []
    real = tester.get_block_by_number

    def spy(number: Any, *args: Any) -> Any:
        read.append(number)
        return real(number, *args)

    monkeypatch.setattr(tester, "get_block_by_number", spy)
    logs = tester.get_logs(0, head, token)
    with_token_logs = sorted({int(log["block_number"]) for log in logs})
    assert len(with_token_logs) >= 2  # the two mints, at least
    assert sorted(read) == with_token_logs  # no empty block, none of another contract's
    read.clear()
    tester.get_logs(0, head)  # any address: every block with a transaction, no empty one
    with_txs = [n for n in range(head + 1) if real(n)["transactions"]]
    assert 10 < len(with_txs) < head - 10
    assert sorted(read) == with_txs


def test_a_restarted_chain_finds_its_transactions_by_index(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is part of the saved state: a chain loaded from disk uses it too."""
    chain = connect("embedded://", tmp_path)
    chain.deploy(chain.dev_keys()[0])
    sent = [chain.fund(ALICE.address, n) for n in (1, 2)]
    chain.close()

    def scan(*_args: Any) -> Any:
        raise AssertionError("eth-tester's scan of every block")

    monkeypatch.setattr(index, "_get_transaction_by_hash", scan)
    again = connect("embedded://", tmp_path)
    for tx in sent:
        receipt = again.rpc("eth_getTransactionReceipt", [tx.hash])
        assert receipt["blockNumber"] == hex(tx.block_number)
