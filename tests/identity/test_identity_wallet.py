"""Wallets: create, import, list, show, unlock; keystore files and their safety."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from cairn.config import DataDir
from cairn.errors import IdentityError, WalletExists, WalletNotFound, WrongPassphrase
from cairn.identity import LocalSigner, WalletStore

FAST = {"kdf": "pbkdf2", "iterations": 16}
KEY = "0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4"
ADDRESS = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"


@pytest.fixture
def store(data_dir: Path) -> WalletStore:
    return WalletStore(DataDir(data_dir).keystore)


def test_create_and_unlock(store: WalletStore) -> None:
    info = store.create("alice", "pw", **FAST)  # type: ignore[arg-type]
    assert info.name == "alice" and info.is_default
    assert info.address.startswith("0x") and len(info.address) == 42
    signer = store.unlock("alice", "pw")
    assert signer.address == info.address
    assert store.unlock(None, "pw").address == info.address  # the default


def test_import_list_show(store: WalletStore) -> None:
    store.create("alice", "pw", **FAST)  # type: ignore[arg-type]
    bob = store.import_key("bob", KEY, "pw2", **FAST)  # type: ignore[arg-type]
    assert bob.address == ADDRESS and not bob.is_default
    assert [w.name for w in store.list()] == ["alice", "bob"]
    assert store.get("bob").address == ADDRESS
    assert store.get().name == "alice"
    assert store.unlock("bob", "pw2").private_key.hex() == KEY[2:]
    store.set_default("bob")
    assert store.get().name == "bob"


def test_keystore_is_standard_v3(store: WalletStore) -> None:
    info = store.import_key("bob", KEY, "pw", **FAST)  # type: ignore[arg-type]
    doc = json.loads(info.path.read_text())
    assert doc["version"] == 3
    assert bytes(Account.decrypt(doc, "pw")).hex() == KEY[2:]


def test_files_are_private(store: WalletStore) -> None:
    info = store.create("alice", "pw", **FAST)  # type: ignore[arg-type]
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


def test_wrong_passphrase(store: WalletStore) -> None:
    store.create("alice", "right", **FAST)  # type: ignore[arg-type]
    with pytest.raises(WrongPassphrase, match="alice"):
        store.unlock("alice", "wrong")


def test_unknown_wallet_suggests(store: WalletStore) -> None:
    store.create("alice", "pw", **FAST)  # type: ignore[arg-type]
    with pytest.raises(WalletNotFound, match="did you mean 'alice'"):
        store.get("alcie")
    with pytest.raises(KeyError):  # also a KeyError, per errors.py
        store.unlock("nobody", "pw")


def test_no_wallets_no_default(store: WalletStore) -> None:
    assert store.list() == []
    with pytest.raises(WalletNotFound, match="no wallets"):
        store.get()


def test_exists_and_duplicate_key(store: WalletStore) -> None:
    store.import_key("bob", KEY, "pw", **FAST)  # type: ignore[arg-type]
    with pytest.raises(WalletExists):
        store.create("bob", "pw", **FAST)  # type: ignore[arg-type]
    with pytest.raises(WalletExists, match="already wallet 'bob'"):
        store.import_key("bob2", KEY, "pw", **FAST)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65, "sp ace"])
def test_bad_names(store: WalletStore, name: str) -> None:
    with pytest.raises(IdentityError, match="bad wallet name"):
        store.create(name, "pw", **FAST)  # type: ignore[arg-type]


def test_no_half_written_file(store: WalletStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("cairn._atomic.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.create("alice", "pw", **FAST)  # type: ignore[arg-type]
    monkeypatch.undo()
    assert os.listdir(store.root) == []
    assert store.list() == []


def test_tampered_keystore_address(store: WalletStore) -> None:
    info = store.import_key("bob", KEY, "pw", **FAST)  # type: ignore[arg-type]
    doc = json.loads(info.path.read_text())
    doc["address"] = LocalSigner.generate().address[2:].lower()
    info.path.write_text(json.dumps(doc))
    with pytest.raises(IdentityError, match="different key"):
        store.unlock("bob", "pw")


def test_corrupt_keystore(store: WalletStore) -> None:
    store.root.mkdir(parents=True)
    (store.root / "junk.json").write_text("{not json")
    with pytest.raises(IdentityError, match="cannot read keystore"):
        store.list()


def test_default_kdf_is_strong(store: WalletStore, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    real = Account.encrypt

    def spy(key: bytes, password: str, kdf: str | None = None, iterations: int | None = None):  # type: ignore[no-untyped-def]
        seen.update(kdf=kdf, iterations=iterations)
        return real(key, password, kdf="pbkdf2", iterations=16)

    monkeypatch.setattr(Account, "encrypt", spy)
    store.create("alice", "pw")
    assert seen == {"kdf": "scrypt", "iterations": None}  # eth-account's default n = 2**18
