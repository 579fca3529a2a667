"""Named wallets in encrypted keystore files under ``DataDir.keystore``.

Each wallet is one Web3 Secret Storage v3 file (the "keystore" format of
geth, MetaMask exports and eth-account; spec: ethereum.org "Web3 Secret
Storage Definition"), named ``<name>.json``, so a key can be moved between
cairn and any Ethereum wallet. Files are written atomically with mode 0600:
a crash never leaves half a key. The first wallet created becomes the
default (recorded in the file ``default``); commands take ``--wallet NAME``.

The passphrase is always an explicit argument; only the CLI reads
``CAIRN_PASSPHRASE`` or prompts. Production uses scrypt with eth-account's
defaults (n = 2**18); tests may pass ``kdf="pbkdf2", iterations=...``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_account import Account

from cairn._atomic import atomic_write_bytes
from cairn.errors import IdentityError, WalletExists, WalletNotFound, WrongPassphrase, did_you_mean
from cairn.identity.keys import LocalSigner, checksum_address

__all__ = ["Kdf", "WalletInfo", "WalletStore"]

Kdf = Literal["scrypt", "pbkdf2"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DEFAULT_FILE = "default"


@dataclass(frozen=True, slots=True)
class WalletInfo:
    """What can be known about a wallet without its passphrase."""

    name: str
    address: str
    path: Path
    is_default: bool


class WalletStore:
    """The wallets in one keystore directory.

    >>> store = WalletStore(Path("/tmp/cairn-doc/keystore"))  # doctest: +SKIP
    >>> store.create("alice", "pw").address  # doctest: +SKIP
    '0x...'
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(
        self, name: str, passphrase: str, *, kdf: Kdf = "scrypt", iterations: int | None = None
    ) -> WalletInfo:
        """A new random key, encrypted under ``passphrase``."""
        return self._store(name, LocalSigner.generate(), passphrase, kdf, iterations)

    def import_key(
        self,
        name: str,
        private_key_hex: str,
        passphrase: str,
        *,
        kdf: Kdf = "scrypt",
        iterations: int | None = None,
    ) -> WalletInfo:
        """An existing private key (64 hex digits), encrypted under ``passphrase``."""
        signer = LocalSigner.from_hex(private_key_hex)
        for info in self.list():
            if info.address == signer.address:
                raise WalletExists(f"that key is already wallet {info.name!r}")
        return self._store(name, signer, passphrase, kdf, iterations)

    def list(self) -> list[WalletInfo]:
        """All wallets, sorted by name."""
        if not self.root.is_dir():
            return []
        default = self.default_name()
        return [
            self._info(p.stem, default)
            for p in sorted(self.root.glob("*.json"))
            if _NAME.match(p.stem)
        ]

    def get(self, name: str | None = None) -> WalletInfo:
        """The named wallet, or the default one when ``name`` is None."""
        if name is None:
            name = self.default_name()
            if name is None:
                raise WalletNotFound("no wallets yet: create one with `cairn wallet new`")
        if not _NAME.match(name) or not self._path(name).is_file():
            names = [w.name for w in self.list()]
            raise WalletNotFound(f"no wallet named {name!r}{did_you_mean(name, names)}")
        return self._info(name, self.default_name())

    def unlock(self, name: str | None, passphrase: str) -> LocalSigner:
        """Decrypt the wallet's key; :class:`WrongPassphrase` if it does not open."""
        info = self.get(name)
        keyfile = self._read(info.path)
        try:
            key = bytes(Account.decrypt(keyfile, passphrase))
        except ValueError as exc:
            if "MAC" in str(exc):
                raise WrongPassphrase(f"wrong passphrase for wallet {info.name!r}") from None
            raise IdentityError(f"cannot decrypt wallet {info.name!r}: {exc}") from None
        signer = LocalSigner(key)
        if signer.address != info.address:
            raise IdentityError(f"keystore {info.path} holds a different key than it names")
        return signer

    def default_name(self) -> str | None:
        """The default wallet: the one recorded, else the only one, else None."""
        marker = self.root / _DEFAULT_FILE
        if marker.is_file():
            name = marker.read_text().strip()
            if _NAME.match(name) and self._path(name).is_file():
                return name
        stems = [p.stem for p in self.root.glob("*.json")] if self.root.is_dir() else []
        return stems[0] if len(stems) == 1 else None

    def set_default(self, name: str) -> WalletInfo:
        """Make ``name`` the default wallet."""
        self.get(name)
        atomic_write_bytes(self.root / _DEFAULT_FILE, name.encode() + b"\n", mode=0o600)
        return self.get(name)

    def _store(
        self, name: str, signer: LocalSigner, passphrase: str, kdf: Kdf, iterations: int | None
    ) -> WalletInfo:
        if not _NAME.match(name):
            raise IdentityError(
                f"bad wallet name {name!r}: use letters, digits, '.', '_' or '-' (max 64)"
            )
        path = self._path(name)
        if path.exists():
            raise WalletExists(f"wallet {name!r} already exists")
        first = not self.list()
        keyfile = Account.encrypt(signer.private_key, passphrase, kdf=kdf, iterations=iterations)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        atomic_write_bytes(path, json.dumps(keyfile, indent=2).encode() + b"\n", mode=0o600)
        if first:
            self.set_default(name)
        return self.get(name)

    def _path(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def _info(self, name: str, default: str | None) -> WalletInfo:
        path = self._path(name)
        address = self._read(path).get("address")
        if not isinstance(address, str):
            raise IdentityError(f"keystore {path} has no address")
        return WalletInfo(
            name, checksum_address("0x" + address.removeprefix("0x")), path, name == default
        )

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise IdentityError(f"cannot read keystore {path}: {exc}") from None
        if not isinstance(data, dict):
            raise IdentityError(f"keystore {path} is not a JSON object")
        return data
