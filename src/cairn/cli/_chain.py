"""``cairn chain|registry|stake|channel``: the settlement layer on the command line.

Every command takes ``--chain URL`` (default ``embedded://``, kept in the data
dir). Writes are signed by ``--key HEX`` or ``--wallet NAME`` (a cairn.identity
keystore, unlocked with ``$CAIRN_PASSPHRASE``); with neither, the default wallet
is used if there is one, else — on a development chain — its first prefunded
account. On ``embedded://`` a key that is short of ETH is funded from the dev
accounts first.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn import chain as chainlib  # light: its names load on first use (PEP 562)
from cairn.cli._common import console, err_console, state
from cairn.errors import ChainError, ConfigError

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.identity import Signer

__all__ = ["register"]

ETHER = 10**18
_UNITS = {"eth": ETHER, "ether": ETHER, "gwei": 10**9, "wei": 1}

chain_app = typer.Typer(
    help="Deploy, inspect and check the contracts on a chain.", no_args_is_help=True
)
registry_app = typer.Typer(
    help="Model names, owners and versions (ModelRegistry).", no_args_is_help=True
)
stake_app = typer.Typer(help="Stake as a node or validator (Staking).", no_args_is_help=True)
channel_app = typer.Typer(help="Payment channels with EIP-712 vouchers.", no_args_is_help=True)

ChainOpt = Annotated[str, typer.Option("--chain", help="embedded:// or http(s)://host:port")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Private key, hex.")]
WalletOpt = Annotated[str | None, typer.Option("--wallet", help="Wallet name (cairn.identity).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def parse_amount(text: str) -> int:
    """Wei from '0.5', '0.5eth', '20gwei' or '1000wei' (a bare number is ETH)."""
    raw = text.strip().lower().replace(" ", "")
    unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if raw.endswith(u)), "eth")
    number = raw.removesuffix(unit) if raw.endswith(unit) else raw
    try:
        wei = Decimal(number) * _UNITS[unit]
    except InvalidOperation:
        raise ConfigError(f"not an amount: {text!r} (try 0.1eth, 20gwei, 1000wei)") from None
    if wei < 0 or wei != wei.to_integral_value():
        raise ConfigError(f"not a whole number of wei: {text!r}")
    return int(wei)


def _eth(wei: int) -> str:
    return f"{Decimal(wei) / ETHER:f} ETH"


def _open(ctx: typer.Context, url: str) -> chainlib.Chain:
    return chainlib.connect(url, state(ctx).data_dir)


def _wallet(ctx: typer.Context, name: str | None) -> Signer:
    from cairn.identity import WalletStore

    store = WalletStore(state(ctx).data_dir.keystore)
    passphrase = os.environ.get("CAIRN_PASSPHRASE")
    if passphrase is None:
        raise ConfigError("set CAIRN_PASSPHRASE to unlock the wallet")
    return store.unlock(name, passphrase)


def _signer(
    ctx: typer.Context, chain: chainlib.Chain, key: str | None, wallet: str | None
) -> Signer:
    """Who signs: --key, --wallet, the default wallet, or a dev account."""
    from cairn.identity import LocalSigner

    if key is not None:
        account: Signer = LocalSigner.from_hex(key)
    elif wallet is not None:
        account = _wallet(ctx, wallet)
    elif _has_default_wallet(ctx):
        account = _wallet(ctx, None)
    elif dev := chain.dev_keys():
        account = dev[0]
    else:
        raise ConfigError(f"{chain.url} is not a dev chain: pass --key HEX or --wallet NAME")
    if chain.url == chainlib.EMBEDDED and chain.balance(account.address) < ETHER:
        chain.fund(account.address, 100 * ETHER)
    return account


def _has_default_wallet(ctx: typer.Context) -> bool:
    try:
        from cairn.identity import WalletStore
    except ImportError:
        return False
    return WalletStore(state(ctx).data_dir.keystore).default_name() is not None


def _done(what: str, tx: chainlib.Tx[Any]) -> None:
    console.print(
        f"{what} [dim](gas {tx.gas_used}, block {tx.block_number}, tx {tx.hash})[/]", soft_wrap=True
    )


# -- chain ------------------------------------------------------------------


@chain_app.command("deploy")
def deploy(
    ctx: typer.Context,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    disputes: Annotated[
        bool, typer.Option(help="Also deploy Disputes and make it Staking's only slasher.")
    ] = True,
    name: Annotated[
        str | None, typer.Option(help="Network profile name (default local / chain-ID).")
    ] = None,
) -> None:
    """Deploy the contracts once on this chain, record their addresses, and pin the network
    (a profile in the data dir's networks/, named by --name)."""
    c = _open(ctx, chain)
    if c.is_deployed():
        console.print(f"already deployed on chain {c.chain_id}")
    else:
        c.deploy(
            _signer(ctx, c, key, wallet), disputes=chainlib.DisputeParams() if disputes else None
        )
    _print_deployment(c)
    pinned = name or ("local" if c.url == chainlib.EMBEDDED else f"chain-{c.chain_id}")
    chainlib.save_network(
        state(ctx).data_dir, chainlib.Network.from_deployment(pinned, c.deployment, chain)
    )
    console.print(f"{'network':16} {pinned} (chain {c.chain_id}, pinned for `--online`)")


def _print_deployment(c: chainlib.Chain) -> None:
    d = c.deployment
    for label, address in [
        ("ModelRegistry", d.registry),
        ("Staking", d.staking),
        ("ReceiptAnchor", d.anchor),
        ("PaymentChannels", d.channels),
    ]:
        console.print(f"{label:16} {address}")


@chain_app.command("status")
def status(
    ctx: typer.Context, chain: ChainOpt = chainlib.EMBEDDED, as_json: JsonOpt = False
) -> None:
    """Which chain this is, its head, and the recorded deployment."""
    c = _open(ctx, chain)
    deployed = c.deployment.__dict__ if c.is_deployed() else None
    if as_json:
        params = None if deployed is None else {**deployed, "params": deployed["params"].__dict__}
        typer.echo(
            json.dumps(
                {"url": c.url, "chain_id": c.chain_id, "time": c.now(), "deployment": params}
            )
        )
        return
    console.print(f"chain {c.chain_id} at {c.url}, block time {c.now()}")
    if deployed is None:
        console.print("not deployed (run `cairn chain deploy`)")
    else:
        _print_deployment(c)


@chain_app.command("check")
def check(
    ctx: typer.Context,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy a fresh set and run every contract operation once; report the gas."""
    from cairn.chain.check import run_check
    from cairn.identity import LocalSigner

    embedded = chain.startswith("embedded:")
    c = chainlib.connect(chain, None)  # a throwaway deployment; nothing is recorded
    if key is None and wallet is None and embedded:
        account: Signer = LocalSigner.generate()
        c.fund(account.address, 10 * ETHER)
    else:
        account = _signer(ctx, c, key, wallet)
        if embedded and c.balance(account.address) < ETHER:
            c.fund(account.address, 10 * ETHER)
    show = None if as_json else (lambda name, gas: err_console.print(f"  {name:18} {gas:>9,} gas"))
    gas = run_check(c, account, show)
    if as_json:
        typer.echo(json.dumps({"ok": True, "chain_id": c.chain_id, "operations": gas}))
    else:
        console.print(f"[green]ok[/]: chain {c.chain_id} ran {len(gas)} operations")


# -- registry ---------------------------------------------------------------


@registry_app.command("register")
def registry_register(
    ctx: typer.Context,
    name: str,
    delay: Annotated[
        int, typer.Option(help="Seconds before a new version becomes current.", min=0)
    ] = 0,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Claim a model name for the signing wallet."""
    c = _open(ctx, chain)
    signer = _signer(ctx, c, key, wallet)
    _done(f"registered {name!r} to {signer.address}", c.registry.register(signer, name, delay))


@registry_app.command("publish")
def registry_publish(
    ctx: typer.Context,
    name: str,
    content_cid: str,
    manifest: Annotated[str, typer.Option(help="Manifest CID.")] = "",
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Publish a version (content CID, manifest CID) of a model you own."""
    c = _open(ctx, chain)
    tx = c.registry.publish(_signer(ctx, c, key, wallet), name, content_cid, manifest)
    _done(f"published {name!r} version {tx.value}", tx)


def _version_line(v: chainlib.ModelVersion, now: int) -> str:
    flags = " deprecated" if v.deprecated else (" pending" if v.effective_at > now else "")
    manifest = v.manifest_cid or "-"
    return f"v{v.index}  {v.content_cid}  manifest {manifest}  from {v.effective_at}{flags}"


@registry_app.command("show")
def registry_show(
    ctx: typer.Context, name: str, chain: ChainOpt = chainlib.EMBEDDED, as_json: JsonOpt = False
) -> None:
    """A model's owner and current version."""
    c = _open(ctx, chain)
    info = c.registry.model(name)
    if info is None:
        raise ChainError(f"ModelRegistry: no model named {name!r}")
    current = c.registry.current(name) if info.version_count else None
    if as_json:
        typer.echo(json.dumps({**info.__dict__, "current": current and current.__dict__}))
        return
    console.print(
        f"{info.name}: owner {info.owner}, update delay {info.update_delay}s, "
        f"{info.version_count} versions"
    )
    if current is not None:
        console.print("current " + _version_line(current, c.now()))


@registry_app.command("history")
def registry_history(ctx: typer.Context, name: str, chain: ChainOpt = chainlib.EMBEDDED) -> None:
    """Every version of a model, oldest first."""
    c = _open(ctx, chain)
    now = c.now()
    for v in c.registry.history(name):
        console.print(_version_line(v, now))


# -- stake ------------------------------------------------------------------


@stake_app.command("add")
def stake_add(
    ctx: typer.Context,
    amount: str,
    role: Annotated[str, typer.Option(help="node or validator")] = "node",
    endpoint: Annotated[str | None, typer.Option(help="Register with this URL.")] = None,
    model: Annotated[list[str] | None, typer.Option(help="A model served (repeat).")] = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Stake AMOUNT (e.g. 0.01eth); registers first if --endpoint is given or not yet registered."""
    try:
        which = chainlib.Role[role.upper()]
    except KeyError:
        raise ConfigError(f"role must be node or validator, not {role!r}") from None
    wei = parse_amount(amount)
    c = _open(ctx, chain)
    signer = _signer(ctx, c, key, wallet)
    if endpoint is not None or c.staking.participant(signer.address).role is None:
        _done(
            f"registered {signer.address} as {which.name.lower()}",
            c.staking.register(signer, which, endpoint or "", model or []),
        )
    _done(f"staked {_eth(wei)}", c.staking.stake(signer, wei))


@stake_app.command("unbond")
def stake_unbond(
    ctx: typer.Context,
    amount: str,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Start unbonding AMOUNT; it stays slashable until withdrawn after the delay."""
    wei = parse_amount(amount)
    c = _open(ctx, chain)
    tx = c.staking.unbond(_signer(ctx, c, key, wallet), wei)
    _done(f"unbonding {amount}, withdrawable from {tx.value}", tx)


@stake_app.command("withdraw")
def stake_withdraw(
    ctx: typer.Context,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Withdraw unbonded stake after the delay."""
    c = _open(ctx, chain)
    tx = c.staking.withdraw(_signer(ctx, c, key, wallet))
    _done(f"withdrew {_eth(tx.value)}", tx)


@stake_app.command("show")
def stake_show(
    ctx: typer.Context,
    address: Annotated[str | None, typer.Argument()] = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A participant's role, endpoint, stake and unbonding."""
    c = _open(ctx, chain)
    who = address or _signer(ctx, c, key, wallet).address
    p = c.staking.participant(who)
    role = p.role.name.lower() if p.role else None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "address": p.address,
                    "role": role,
                    "endpoint": p.endpoint,
                    "stake": p.stake,
                    "unbonding": p.unbonding,
                    "release_at": p.release_at,
                    "staked": bool(p.role and c.staking.is_staked(who, p.role)),
                }
            )
        )
        return
    console.print(f"{p.address}: {role or 'not registered'} {p.endpoint}")
    console.print(
        f"  stake {_eth(p.stake)}, unbonding {_eth(p.unbonding)} (release at {p.release_at})"
    )


# -- channel ----------------------------------------------------------------


@channel_app.command("open")
def channel_open(
    ctx: typer.Context,
    payee: str,
    deposit: str,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Open a channel to PAYEE with DEPOSIT (e.g. 0.1eth)."""
    from cairn.identity import checksum_address

    c = _open(ctx, chain)
    tx = c.channels.open(
        _signer(ctx, c, key, wallet), checksum_address(payee), parse_amount(deposit)
    )
    _done(f"opened channel {tx.value}", tx)


@channel_app.command("topup")
def channel_topup(
    ctx: typer.Context,
    channel_id: int,
    amount: str,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Add AMOUNT to an open channel's deposit."""
    c = _open(ctx, chain)
    _done(
        f"topped up channel {channel_id}",
        c.channels.top_up(_signer(ctx, c, key, wallet), channel_id, parse_amount(amount)),
    )


@channel_app.command("voucher")
def channel_voucher(
    ctx: typer.Context,
    channel_id: int,
    amount: str,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Payer: sign a cumulative voucher for AMOUNT; prints its signature."""
    c = _open(ctx, chain)
    v = c.channels.sign(_signer(ctx, c, key, wallet), channel_id, parse_amount(amount))
    typer.echo("0x" + v.signature.hex())


@channel_app.command("redeem")
def channel_redeem(
    ctx: typer.Context,
    channel_id: int,
    amount: str,
    signature: str,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Redeem the payer's voucher (cumulative AMOUNT, SIGNATURE hex); pays the payee."""
    c = _open(ctx, chain)
    try:
        sig = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        raise ConfigError("signature is not hex") from None
    voucher = chainlib.SignedVoucher(channel_id, parse_amount(amount), sig)
    state_ = c.channels.channel(channel_id)
    if state_ is not None:  # a bad signature fails here, before any gas is spent
        chainlib.verify_voucher(c.channels.domain, voucher, state_.payer)
    tx = c.channels.redeem(_signer(ctx, c, key, wallet), voucher)
    _done(f"redeemed {_eth(tx.value)} from channel {channel_id}", tx)


@channel_app.command("close")
def channel_close(
    ctx: typer.Context,
    channel_id: int,
    withdraw: Annotated[
        bool, typer.Option("--withdraw", help="After the window: take the rest back.")
    ] = False,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
) -> None:
    """Payer: start closing (the payee may still redeem), or --withdraw after the window."""
    c = _open(ctx, chain)
    signer = _signer(ctx, c, key, wallet)
    if withdraw:
        tx = c.channels.withdraw(signer, channel_id)
        _done(f"withdrew {_eth(tx.value)} from channel {channel_id}", tx)
    else:
        tx = c.channels.start_close(signer, channel_id)
        _done(f"channel {channel_id} closes at {tx.value}", tx)


@channel_app.command("show")
def channel_show(
    ctx: typer.Context,
    channel_id: int,
    chain: ChainOpt = chainlib.EMBEDDED,
    as_json: JsonOpt = False,
) -> None:
    """A channel's parties, deposit, what was paid and when it closes."""
    c = _open(ctx, chain)
    ch = c.channels.channel(channel_id)
    if ch is None:
        raise ChainError(f"PaymentChannels: no channel {channel_id}")
    if as_json:
        typer.echo(json.dumps(ch.__dict__))
        return
    closing = f"closes at {ch.closes_at}" if ch.closes_at else "open"
    console.print(
        f"channel {ch.channel_id}: {ch.payer} -> {ch.payee}, deposit {_eth(ch.deposit)}, "
        f"paid {_eth(ch.paid)}, {closing}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(chain_app, name="chain")
    app.add_typer(registry_app, name="registry")
    app.add_typer(stake_app, name="stake")
    app.add_typer(channel_app, name="channel")
