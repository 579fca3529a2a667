"""``cairn token``: the network's payment token (CairnUSD, ERC-20 + EIP-3009).

Priced models are paid in it over x402 (``cairn up --price``, ``cairn embed|infer
--max-spend``; docs/payments.md). Amounts are whole atomic units (6 decimals:
1000000 is one CairnUSD). ``mint`` is a development network's faucet: only the
deployer may mint, and on the embedded chain and Anvil that is the first dev account.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from cairn import chain as chainlib
from cairn.cli._chain import ChainOpt, KeyOpt, WalletOpt, WhoArg, _done, _open, _signer, _whom
from cairn.cli._common import JsonOpt, console, resolve_address
from cairn.errors import ConfigError

if TYPE_CHECKING:
    from cairn.identity import Signer

__all__ = ["register"]

token_app = typer.Typer(
    help="The network's payment token (CairnUSD): balances, transfers, a dev faucet.",
    no_args_is_help=True,
)
AmountArg = Annotated[int, typer.Argument(min=1, help="Atomic units (6 decimals: 1000000 = 1).")]
DECIMALS = 6


def _human(units: int) -> str:
    return f"{units / 10**DECIMALS:,.6f} CairnUSD"


@token_app.command("balance")
def balance(
    ctx: typer.Context,
    address: WhoArg = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An address's (or wallet's) CairnUSD balance."""
    c, who = _whom(ctx, address, chain, key, wallet)
    units = c.token.balance_of(who)
    if as_json:
        typer.echo(json.dumps({"address": who, "token": c.token.address, "balance": units}))
        return
    console.print(f"{who}: {units} ({_human(units)})")


@token_app.command("mint")
def mint(
    ctx: typer.Context,
    amount: AmountArg,
    to: Annotated[str, typer.Option("--to", help="An address or wallet name.")],
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create AMOUNT for --to (the deployer only: a development network's faucet).

    Signs as the token's minter: --key or --wallet, else whichever of the dev chain's
    accounts and your default wallet is the minter.
    """
    c = _open(ctx, chain)
    who = resolve_address(ctx, to)
    minter = c.token.minter()
    dev = [k for k in c.dev_keys() if k.address.lower() == minter.lower()]
    if key is None and wallet is None and dev:
        signer: Signer = dev[0]
    else:  # the key or wallet given, else the default wallet, else a dev account
        signer = _signer(ctx, c, key, wallet)
    if signer.address.lower() != minter.lower():
        raise ConfigError(f"only the minter {minter} mints: pass its --key or --wallet")
    tx = c.token.mint(signer, who, amount)
    _done(f"minted {amount} ({_human(amount)}) to {who}", tx, as_json, to=who, minted=amount)


@token_app.command("send")
def send(
    ctx: typer.Context,
    to: Annotated[str, typer.Argument(help="An address or wallet name.")],
    amount: AmountArg,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send AMOUNT of your CairnUSD to TO."""
    c = _open(ctx, chain)
    who = resolve_address(ctx, to)
    tx = c.token.transfer(_signer(ctx, c, key, wallet), who, amount)
    _done(f"sent {amount} ({_human(amount)}) to {who}", tx, as_json, to=who, sent=amount)


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
