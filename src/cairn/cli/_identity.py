"""``cairn wallet new|import|list|show|default``: named wallets on the command line.

The passphrase comes from ``CAIRN_PASSPHRASE`` when set (scripts, CI), else
from a hidden prompt (confirmed twice when a key is being encrypted).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cairn.cli._common import console, state
from cairn.errors import IdentityError

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.identity import LocalSigner, WalletStore
    from cairn.identity.wallets import Kdf

__all__ = ["register", "unlock_wallet"]

PASSPHRASE_ENV = "CAIRN_PASSPHRASE"

wallet_app = typer.Typer(help="Named secp256k1 wallets in encrypted keystore files.")

NameArg = Annotated[str, typer.Argument(help="Wallet name.")]
KdfOpt = Annotated[str, typer.Option(help="Keystore KDF: scrypt (default, strong) or pbkdf2.")]
IterOpt = Annotated[
    int | None,
    typer.Option("--iterations", help="KDF cost (scrypt n or pbkdf2 rounds); default is strong."),
]


def _store(ctx: typer.Context) -> WalletStore:
    from cairn.identity import WalletStore

    return WalletStore(state(ctx).data_dir.keystore)


def _passphrase(confirm: bool) -> str:
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    value: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return value


def _kdf(value: str) -> Kdf:
    if value not in ("scrypt", "pbkdf2"):
        raise IdentityError(f"unknown KDF {value!r}: use scrypt or pbkdf2")
    return "scrypt" if value == "scrypt" else "pbkdf2"


def unlock_wallet(ctx: typer.Context, name: str | None) -> LocalSigner:
    """Open the named (or default) wallet, asking for its passphrase if needed."""
    store = _store(ctx)
    store.get(name)  # fail on an unknown name before prompting
    return store.unlock(name, _passphrase(confirm=False))


@wallet_app.command("new")
def new(
    ctx: typer.Context,
    name: NameArg = "default",
    kdf: KdfOpt = "scrypt",
    iterations: IterOpt = None,
) -> None:
    """Create a wallet with a fresh random key; print its address."""
    info = _store(ctx).create(name, _passphrase(confirm=True), kdf=_kdf(kdf), iterations=iterations)
    console.print(
        f"created wallet [bold]{info.name}[/] {info.address}"
        + (" (default)" if info.is_default else ""),
        highlight=False,
    )


@wallet_app.command("import")
def import_(
    ctx: typer.Context,
    name: NameArg = "default",
    key: Annotated[
        str | None, typer.Option("--key", help="Private key hex; read from stdin if omitted.")
    ] = None,
    kdf: KdfOpt = "scrypt",
    iterations: IterOpt = None,
) -> None:
    """Import a private key (64 hex digits) as a named wallet."""
    secret = key if key is not None else sys.stdin.readline().strip()
    if not secret:
        raise IdentityError("no private key given: pass --key HEX or pipe it on stdin")
    info = _store(ctx).import_key(
        name, secret, _passphrase(confirm=True), kdf=_kdf(kdf), iterations=iterations
    )
    console.print(f"imported wallet [bold]{info.name}[/] {info.address}", highlight=False)


@wallet_app.command("list")
def list_(ctx: typer.Context) -> None:
    """List wallets: name, address, and which is the default."""
    wallets = _store(ctx).list()
    if not wallets:
        console.print("no wallets yet: create one with `cairn wallet new`")
        return
    table = Table("name", "address", "default", box=None)
    for w in wallets:
        table.add_row(w.name, w.address, "*" if w.is_default else "")
    console.print(table, highlight=False)


@wallet_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Wallet name (default wallet if omitted).")
    ] = None,
) -> None:
    """Print a wallet's address."""
    typer.echo(_store(ctx).get(name).address)


@wallet_app.command("default")
def default(ctx: typer.Context, name: NameArg) -> None:
    """Make NAME the default wallet."""
    info = _store(ctx).set_default(name)
    console.print(f"default wallet is now [bold]{info.name}[/] {info.address}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(wallet_app, name="wallet")
