"""``cairn wallet new|import|list|show|default|balance``: named wallets on the command line.

The passphrase comes from ``CAIRN_PASSPHRASE`` when set (scripts, CI), else
from a hidden prompt (confirmed twice when a key is being encrypted). Set but
empty, it encrypts the key under the empty passphrase: allowed, with a warning.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cairn.cli._common import JsonOpt, console, err_console, resolve_address, state
from cairn.errors import IdentityError

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.identity import Signer, WalletInfo, WalletStore
    from cairn.identity.wallets import Kdf

__all__ = ["register", "unlock_wallet"]

PASSPHRASE_ENV = "CAIRN_PASSPHRASE"
_ETHER = 10**18

wallet_app = typer.Typer(
    help="Named secp256k1 wallets in encrypted keystore files.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Wallet name.")]
KdfOpt = Annotated[str, typer.Option(help="Keystore KDF: scrypt (default, strong) or pbkdf2.")]
IterOpt = Annotated[
    int | None,
    typer.Option(
        "--iterations",
        min=1,
        help="KDF cost (scrypt n, a power of 2; or pbkdf2 rounds); default is strong.",
    ),
]


def _store(ctx: typer.Context) -> WalletStore:
    from cairn.identity import WalletStore

    return WalletStore(state(ctx).data_dir.keystore)


def _passphrase(confirm: bool) -> str:
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    # on stderr, like every message that is not the command's output (--json stays clean)
    value: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    return value


def _new_passphrase(name: str) -> str:
    """The passphrase a new key is encrypted under; an empty one is said out loud."""
    passphrase = _passphrase(confirm=True)
    if not passphrase:
        err_console.print(
            f"[yellow]warning:[/] {PASSPHRASE_ENV} is set but empty: the key of wallet {name!r} "
            "is protected by nothing (whoever can read its keystore file has the key)",
            highlight=False,
            soft_wrap=True,
        )
    return passphrase


def _kdf(value: str, iterations: int | None) -> Kdf:
    if value not in ("scrypt", "pbkdf2"):
        raise IdentityError(f"unknown KDF {value!r}: use scrypt or pbkdf2")
    power_of_2 = iterations is None or (iterations > 1 and iterations & (iterations - 1) == 0)
    if value == "scrypt" and not power_of_2:
        raise IdentityError(f"scrypt's --iterations must be a power of 2 above 1, not {iterations}")
    return "scrypt" if value == "scrypt" else "pbkdf2"


def _as_json(info: WalletInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "address": info.address,
        "default": info.is_default,
        "keystore": str(info.path),
    }


def _echo_json(doc: dict[str, Any]) -> None:
    typer.echo(json.dumps(doc))


def unlock_wallet(ctx: typer.Context, name: str | None) -> Signer:
    """The ``--signer`` wallet, else the named (or default) keystore wallet, asking for
    its passphrase if needed."""
    external = state(ctx).external_signer(name)
    if external is not None:
        return external
    store = _store(ctx)
    store.get(name)  # fail on an unknown name before prompting
    return store.unlock(name, _passphrase(confirm=False))


@wallet_app.command("new")
def new(
    ctx: typer.Context,
    name: NameArg = "default",
    kdf: KdfOpt = "scrypt",
    iterations: IterOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a wallet with a fresh random key; print its address."""
    chosen = _kdf(kdf, iterations)  # bad options fail before the passphrase is asked for
    info = _store(ctx).create(name, _new_passphrase(name), kdf=chosen, iterations=iterations)
    if as_json:
        _echo_json(_as_json(info))
        return
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
    as_json: JsonOpt = False,
) -> None:
    """Import a private key (64 hex digits) as a named wallet."""
    secret = key if key is not None else sys.stdin.readline().strip()
    if not secret:
        raise IdentityError("no private key given: pass --key HEX or pipe it on stdin")
    from cairn.identity import LocalSigner

    LocalSigner.from_hex(secret)  # a bad key fails before the passphrase is asked for
    chosen = _kdf(kdf, iterations)
    info = _store(ctx).import_key(
        name, secret, _new_passphrase(name), kdf=chosen, iterations=iterations
    )
    if as_json:
        _echo_json(_as_json(info))
        return
    console.print(
        f"imported wallet [bold]{info.name}[/] {info.address}"
        + (" (default)" if info.is_default else ""),
        highlight=False,
    )


@wallet_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List wallets: name, address, and which is the default."""
    wallets = _store(ctx).list()
    if as_json:
        _echo_json({"wallets": [_as_json(w) for w in wallets]})
        return
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
    as_json: JsonOpt = False,
) -> None:
    """Print a wallet's address."""
    info = _store(ctx).get(name)
    if as_json:
        _echo_json(_as_json(info))
    else:
        typer.echo(info.address)


@wallet_app.command("default")
def default(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Make NAME the default wallet."""
    info = _store(ctx).set_default(name)
    if as_json:
        _echo_json(_as_json(info))
        return
    console.print(f"default wallet is now [bold]{info.name}[/] {info.address}", highlight=False)


@wallet_app.command("balance")
def balance(
    ctx: typer.Context,
    who: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME|0xADDRESS",
            help="A wallet name or an address (default: the default wallet).",
            show_default=False,
        ),
    ] = None,
    chain: Annotated[
        str, typer.Option("--chain", help="embedded:// or http(s)://host:port")
    ] = "embedded://",
    as_json: JsonOpt = False,
) -> None:
    """Print the ETH balance of a wallet or address on a chain."""
    from cairn import chain as chainlib

    address = resolve_address(ctx, who) if who is not None else _store(ctx).get(None).address
    wei = chainlib.connect(chain, state(ctx).data_dir).balance(address)
    eth = f"{Decimal(wei) / _ETHER:f}"
    if as_json:
        _echo_json({"address": address, "chain": chain, "wei": wei, "eth": eth})
        return
    console.print(f"{address} {eth} ETH on {chain}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(wallet_app, name="wallet")
