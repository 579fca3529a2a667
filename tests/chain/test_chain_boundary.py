"""The chain boundary: writes are signed through the identity Signer port, and every chain
failure reaches callers as a CairnError. (That web3 stays inside cairn.chain is checked with
the other house rules in tests/test_architecture.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from web3.providers.base import BaseProvider

from cairn.chain import Chain, ReceiptAnchor
from cairn.chain._tx import sign_transaction
from cairn.chain.base import Backend
from cairn.errors import ChainError, ChainRpcError
from cairn.identity import LocalSigner, Signature


class RemoteSigner:
    """A signer that never shows its key, as a KMS or hardware wallet would."""

    def __init__(self, inner: LocalSigner) -> None:
        self._inner, self.calls = inner, 0

    @property
    def address(self) -> str:
        return self._inner.address

    def sign_hash(self, digest: bytes) -> Signature:
        self.calls += 1
        return self._inner.sign_hash(digest)


def test_raw_transaction_is_byte_identical_to_eth_account() -> None:
    key = LocalSigner(keccak(b"boundary-tx"))
    tx = {
        "chainId": 31337,
        "nonce": 3,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "gas": 50_000,
        "to": "0x" + "11" * 20,
        "value": 5,
        "data": b"\x01\x02",
    }
    theirs = Account.sign_transaction(tx, key.private_key).raw_transaction
    assert sign_transaction({**tx, "from": key.address}, key) == bytes(theirs)


def test_a_signer_without_a_visible_key_sends_transactions(chain: Chain) -> None:
    remote = RemoteSigner(LocalSigner(keccak(b"boundary-remote")))
    chain.fund(remote.address, 10**18)
    tx = chain.registry.register(remote, "kms-model")
    assert remote.calls == 1 and tx.gas_used > 21_000
    info = chain.registry.model("kms-model")
    assert info is not None and info.owner == remote.address


def test_a_raw_key_is_refused_with_a_pointer(chain: Chain) -> None:
    with pytest.raises(ChainError, match=r"cairn\.identity Signer"):
        chain.registry.register("0x" + "01" * 32, "raw-key")  # type: ignore[arg-type]


def test_head_block_hash_and_rpc(chain: Chain) -> None:
    head = chain.head()
    assert len(chain.block_hash(head)) == 32
    with pytest.raises(ChainError):
        chain.block_hash(head + 1000)
    assert chain.rpc("eth_chainId") == hex(chain.chain_id)
    assert int(chain.rpc("eth_blockNumber"), 16) == head
    for method in ("eth_sendTransaction", "eth_sign", "eth_accounts", "evm_mine"):
        with pytest.raises(ChainRpcError, match="not allowed") as refused:
            chain.rpc(method, [])
        assert refused.value.code == -32601
    with pytest.raises(ChainRpcError) as relayed:  # signed elsewhere: passed on, here refused
        chain.rpc("eth_sendRawTransaction", ["0x00"])
    assert relayed.value.code != -32601
    with pytest.raises(ChainRpcError):
        chain.rpc("eth_getBalance", ["not an address", "latest"])


class _Broken(BaseProvider):
    """A chain that answers its id, then an RPC error for everything else."""

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_chainId":
            return {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}
        return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "header not found"}}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


class _BrokenBackend(Backend):
    url = "http://broken.invalid"

    def provider(self) -> Any:
        return _Broken()

    def dev_keys(self) -> list[str]:
        return []

    def increase_time(self, seconds: int) -> None:
        raise ChainError("not a dev chain")


def test_rpc_errors_become_chain_errors() -> None:
    c = Chain(_BrokenBackend(), None)
    assert c.chain_id == 31337
    for read in (c.head, c.now, lambda: c.block_hash(1), lambda: c.balance("0x" + "22" * 20)):
        with pytest.raises(ChainError, match="header not found"):
            read()
    with pytest.raises(ChainError):
        c._at(ReceiptAnchor, "0x" + "33" * 20).commitment_of("0x" + "22" * 20, 1)
    with pytest.raises(ChainRpcError, match="header not found") as failed:
        c.rpc("eth_blockNumber")
    assert failed.value.code == -32000
