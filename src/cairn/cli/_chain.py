"""``cairn chain|registry|stake``: the settlement layer on the command line.

Every command takes ``--chain URL`` (default ``embedded://``, kept in the data
dir) and ``--json`` (one JSON object on stdout; a transaction adds its hash, gas
and block). An address argument is a ``0x`` address or a wallet's name; times
print as ISO 8601 with how far away they are. Writes are signed by ``--key HEX``
or ``--wallet NAME`` (a cairn.identity keystore, unlocked with
``$CAIRN_PASSPHRASE``); with neither, the default wallet is used if there is one,
else — on a development chain — its first prefunded account. On ``embedded://``
a key that is short of ETH is funded from the dev accounts first.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn import chain as chainlib  # light: its names load on first use (PEP 562)
from cairn.cli._common import JsonOpt, console, err_console, fmt_time, resolve_address, state
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

ChainOpt = Annotated[
    str,
    typer.Option(
        "--chain", envvar="CAIRN_CHAIN", help="embedded:// or http(s)://host:port ($CAIRN_CHAIN)."
    ),
]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Private key, hex.")]
WalletOpt = Annotated[str | None, typer.Option("--wallet", help="Wallet name (cairn.identity).")]


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
    """The ``--signer`` wallet, else the named (or default) keystore wallet, unlocked
    with ``$CAIRN_PASSPHRASE``."""
    from cairn.identity import WalletStore

    external = state(ctx).external_signer(name)
    if external is not None:
        return external

    store = WalletStore(state(ctx).data_dir.keystore)
    passphrase = os.environ.get("CAIRN_PASSPHRASE")
    if passphrase is None:
        raise ConfigError("set CAIRN_PASSPHRASE to unlock the wallet")
    return store.unlock(name, passphrase)


def _signer(
    ctx: typer.Context, chain: chainlib.Chain, key: str | None, wallet: str | None
) -> Signer:
    """Who signs: --key, --wallet, the --signer wallet, the default wallet, or a dev account."""
    from cairn.identity import LocalSigner

    if key is not None:
        if state(ctx).signer_url:
            raise ConfigError("--key and --signer name two signers: pass one")
        account: Signer = LocalSigner.from_hex(key)
    elif wallet is not None or state(ctx).signer_url or _has_default_wallet(ctx):
        account = _wallet(ctx, wallet)
    elif dev := chain.dev_keys():
        account = dev[0]
    else:
        raise ConfigError(f"{chain.url} is not a dev chain: pass --key HEX or --wallet NAME")
    if chain.url == chainlib.EMBEDDED and chain.balance(account.address) < ETHER:
        chain.fund(account.address, 100 * ETHER)
    return account


WhoArg = Annotated[str | None, typer.Argument(help="An address or wallet name (default: yours).")]


def _whom(
    ctx: typer.Context, address: str | None, url: str, key: str | None, wallet: str | None
) -> tuple[chainlib.Chain, str]:
    """The chain, and who a read is about: ADDRESS (or a wallet's name), else the signer."""
    who = resolve_address(ctx, address) if address is not None else None
    c = _open(ctx, url)
    return c, who or _signer(ctx, c, key, wallet).address


def _has_default_wallet(ctx: typer.Context) -> bool:
    try:
        from cairn.identity import WalletStore
    except ImportError:
        return False
    return WalletStore(state(ctx).data_dir.keystore).default_name() is not None


def _done(what: str, tx: chainlib.Tx[Any], as_json: bool = False, **fields: Any) -> None:
    """Report a transaction: a line of text, or one JSON object (``fields`` added)."""
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": True,
                    **fields,
                    "tx": tx.hash,
                    "gas_used": tx.gas_used,
                    "block": tx.block_number,
                }
            )
        )
        return
    console.print(f"{what} [dim](gas {tx.gas_used}, block {tx.block_number}, tx {tx.hash})[/]")


_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int:
    """Seconds from '90', '90s', '30m', '12h', '7d' or '2w'."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _DURATION else "s"
    number = raw[:-1] if raw[-1:] in _DURATION else raw
    if not number.isdigit():
        raise ConfigError(f"not a duration: {text!r} (try 90s, 30m, 12h, 7d)")
    return int(number) * _DURATION[unit]


# -- chain ------------------------------------------------------------------


@chain_app.command("deploy")
def deploy(
    ctx: typer.Context,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    disputes: Annotated[
        bool,
        typer.Option(
            "--disputes/--no-disputes",
            help="Also deploy Disputes and Challenges; Disputes becomes Staking's only slasher.",
        ),
    ] = True,
    name: Annotated[
        str | None, typer.Option(help="Network profile name (default local / chain-ID).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy the contracts once on this chain, record their addresses, and pin the network
    (a profile in the data dir's networks/, named by --name)."""
    c = _open(ctx, chain)
    already = c.is_deployed()
    if not already:
        c.deploy(
            _signer(ctx, c, key, wallet), disputes=chainlib.DisputeParams() if disputes else None
        )
    pinned = name or ("local" if c.url == chainlib.EMBEDDED else f"chain-{c.chain_id}")
    chainlib.save_network(
        state(ctx).data_dir, chainlib.Network.from_deployment(pinned, c.deployment, chain)
    )
    if as_json:
        typer.echo(json.dumps({**_deployment_json(c), "network": pinned, "new": not already}))
        return
    if already:
        console.print(f"already deployed on chain {c.chain_id}")
    _print_deployment(c)
    console.print(f"{'network':16} {pinned} (chain {c.chain_id}, pinned for `--online`)")


def _deployment_json(c: chainlib.Chain) -> dict[str, Any]:
    """The recorded deployment as JSON types (its parameters included)."""
    from dataclasses import asdict

    found = asdict(c.deployment)
    if c.deployment.disputes is not None:
        found["challenges"] = c.disputes.challenges_address()
    found["batch_settlement"] = _batch_settlement(c)
    return {"chain_id": c.chain_id, "url": c.url, "deployment": found}


def _batch_settlement(c: chainlib.Chain) -> str | None:
    """x402 batch-settlement's canonical address, if its contracts are there."""
    from cairn.chain import batch
    from cairn.errors import NotDeployed

    try:
        return batch.canonical(c).address
    except NotDeployed:
        return None


def _print_deployment(c: chainlib.Chain) -> None:
    d = c.deployment
    rows = [
        ("ModelRegistry", d.registry),
        ("Staking", d.staking),
        ("ReceiptAnchor", d.anchor),
    ]
    if d.disputes is not None:
        rows += [("Disputes", d.disputes), ("Challenges", c.disputes.challenges_address() or "-")]
    rows += [("BatchSettlement", _batch_settlement(c) or "- (x402's, not on this chain)")]
    for label, address in rows:
        console.print(f"{label:16} {address}")


@chain_app.command("status")
def status(
    ctx: typer.Context, chain: ChainOpt = chainlib.EMBEDDED, as_json: JsonOpt = False
) -> None:
    """Which chain this is, its head, its clock, and the recorded deployment."""
    c = _open(ctx, chain)
    if as_json:
        found = _deployment_json(c) if c.is_deployed() else {"deployment": None}
        typer.echo(
            json.dumps(
                {"url": c.url, "chain_id": c.chain_id, "head": c.head(), "time": c.now(), **found}
            )
        )
        return
    console.print(f"chain {c.chain_id} at {c.url}, block {c.head()}, time {fmt_time(c.now())}")
    if not c.is_deployed():
        console.print("not deployed (run `cairn chain deploy`)")
    else:
        _print_deployment(c)


@chain_app.command("advance")
def advance(
    ctx: typer.Context,
    duration: Annotated[str, typer.Argument(help="How far: 90s, 30m, 12h, 7d, 2w.")],
    chain: ChainOpt = chainlib.EMBEDDED,
    as_json: JsonOpt = False,
) -> None:
    """Move a development chain's clock forward (embedded or Anvil; demos and tests).

    Timelocked versions become current, unbonding and withdrawal delays end. A public
    chain's clock cannot be moved: this refuses anything that is not a dev chain.
    """
    seconds = parse_duration(duration)
    c = _open(ctx, chain)
    if not c.dev_keys():
        raise ConfigError(f"{c.url} is not a development chain: its clock cannot be moved")
    before = c.now()
    c.increase_time(seconds)
    after = c.now()
    if as_json:
        typer.echo(json.dumps({"chain_id": c.chain_id, "before": before, "time": after}))
        return
    console.print(f"chain {c.chain_id}: time {fmt_time(after)} (moved {after - before} s)")


@chain_app.command("check")
def check(
    ctx: typer.Context,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy a fresh set and run every contract operation once; report the gas."""
    from cairn.chain.check import BATCH_OPERATIONS, run_check
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
        return
    console.print(f"[green]ok[/]: chain {c.chain_id} ran {len(gas)} operations")
    if not set(BATCH_OPERATIONS) & set(gas):
        console.print(
            "x402 batch-settlement is not at its canonical addresses here: "
            f"{', '.join(BATCH_OPERATIONS)} skipped"
        )


# -- registry ---------------------------------------------------------------

ModelArg = Annotated[str, typer.Argument(help="The model's registered name.")]


@registry_app.command("register")
def registry_register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The name to claim (yours while you own it).")],
    delay: Annotated[
        int, typer.Option(help="Seconds before a new version becomes current.", min=0)
    ] = 0,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Claim a model name for the signing wallet."""
    c = _open(ctx, chain)
    signer = _signer(ctx, c, key, wallet)
    tx = c.registry.register(signer, name, delay)
    _done(f"registered {name!r} to {signer.address}", tx, as_json, name=name, owner=signer.address)


def _check_publishable(ctx: typer.Context, content_cid: str, manifest: str) -> None:
    """CIDs that parse, and a manifest (if this data dir holds it) about that content."""
    from cairn.content import Cid, open_blockstore
    from cairn.errors import BlockNotFound

    for label, text in (("content CID", content_cid), ("manifest CID", manifest)):
        if text:
            try:
                Cid.parse(text)
            except ValueError as exc:
                raise ConfigError(f"{label} {text!r} is not a CID: {exc}") from None
    if not manifest:
        return
    from cairn.provenance import load_manifest

    try:
        found = load_manifest(manifest, open_blockstore(state(ctx).data_dir))
    except BlockNotFound:
        raise ConfigError(
            f"manifest {manifest} is not in this data dir (cairn car import it, or publish "
            "it here with `cairn publish`), so its subject cannot be checked"
        ) from None
    subjects = [s.cid for s in found.statement.subjects]
    if content_cid not in subjects:
        raise ConfigError(
            f"manifest {manifest} is about {', '.join(subjects)}, not content {content_cid}"
        )


@registry_app.command("publish")
def registry_publish(
    ctx: typer.Context,
    name: ModelArg,
    content_cid: Annotated[str, typer.Argument(help="The version's content (model) CID.")],
    manifest: Annotated[
        str, typer.Option(help="Its signed manifest's CID; its subject must be the content.")
    ] = "",
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish a version (content CID, manifest CID) of a model you own.

    Both CIDs are checked before any transaction; a manifest must be in this data
    dir's store and name the content as its subject.
    """
    _check_publishable(ctx, content_cid, manifest)
    c = _open(ctx, chain)
    tx = c.registry.publish(_signer(ctx, c, key, wallet), name, content_cid, manifest)
    v = c.registry.version(name, tx.value)
    when = "" if v.effective_at <= c.now() else f", current from {fmt_time(v.effective_at)}"
    _done(
        f"published {name!r} version {tx.value}{when}",
        tx,
        as_json,
        name=name,
        version=tx.value,
        effective_at=v.effective_at,
    )


def _version_json(v: chainlib.ModelVersion) -> dict[str, Any]:
    return {**v.__dict__, "deprecated": v.deprecated}


def _version_line(v: chainlib.ModelVersion, now: int) -> str:
    if v.deprecated_at and v.deprecated_at <= now:
        state_ = f"deprecated since {fmt_time(v.deprecated_at, now)}"
    elif v.effective_at > now:
        state_ = f"pending, current from {fmt_time(v.effective_at, now)}"
    else:
        state_ = f"since {fmt_time(v.effective_at, now)}"
    manifest = v.manifest_cid or "-"
    return f"v{v.index}  {v.content_cid}  manifest {manifest}  {state_}"


@registry_app.command("show")
def registry_show(
    ctx: typer.Context,
    name: ModelArg,
    chain: ChainOpt = chainlib.EMBEDDED,
    as_json: JsonOpt = False,
) -> None:
    """A model's owner, update delay, current version and pending ones."""
    from cairn.errors import ContractRevert

    c = _open(ctx, chain)
    info = c.registry.model(name)
    if info is None:
        raise ChainError(f"ModelRegistry: no model named {name!r}")
    now = c.now()
    history = c.registry.history(name)
    try:
        current = c.registry.current(name) if info.version_count else None
    except ContractRevert:  # every version still pending, or deprecated
        current = None
    pending = [v for v in history if v.effective_at > now and not v.deprecated]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **info.__dict__,
                    "time": now,
                    "current": current and _version_json(current),
                    "pending": [_version_json(v) for v in pending],
                }
            )
        )
        return
    console.print(
        f"{info.name}: owner {info.owner}, update delay {info.update_delay}s, "
        f"{info.version_count} versions"
    )
    console.print("current " + _version_line(current, now) if current else "no current version yet")
    for v in pending:
        console.print("next    " + _version_line(v, now))


@registry_app.command("history")
def registry_history(
    ctx: typer.Context,
    name: ModelArg,
    chain: ChainOpt = chainlib.EMBEDDED,
    as_json: JsonOpt = False,
) -> None:
    """Every version of a model, oldest first."""
    c = _open(ctx, chain)
    now = c.now()
    history = c.registry.history(name)
    if as_json:
        typer.echo(
            json.dumps({"name": name, "time": now, "versions": [_version_json(v) for v in history]})
        )
        return
    for v in history:
        console.print(_version_line(v, now))


# -- stake ------------------------------------------------------------------


@stake_app.command("add")
def stake_add(
    ctx: typer.Context,
    amount: Annotated[str, typer.Argument(help="How much to bond: 0.01eth, 20gwei, 1000wei.")],
    role: Annotated[str, typer.Option(help="node or validator")] = "node",
    endpoint: Annotated[str | None, typer.Option(help="Register with this URL.")] = None,
    model: Annotated[list[str] | None, typer.Option(help="A model served (repeat).")] = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
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
        registered = c.staking.register(signer, which, endpoint or "", model or [])
        if not as_json:
            _done(f"registered {signer.address} as {which.name.lower()}", registered)
    tx = c.staking.stake(signer, wei)
    _done(f"staked {_eth(wei)}", tx, as_json, address=signer.address, staked=wei)


@stake_app.command("unbond")
def stake_unbond(
    ctx: typer.Context,
    amount: Annotated[str, typer.Argument(help="How much to unbond: 0.01eth, 1000wei.")],
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start unbonding AMOUNT; it stays slashable until withdrawn after the delay."""
    wei = parse_amount(amount)
    c = _open(ctx, chain)
    tx = c.staking.unbond(_signer(ctx, c, key, wallet), wei)
    _done(
        f"unbonding {_eth(wei)}, withdrawable from {fmt_time(tx.value, c.now())}",
        tx,
        as_json,
        unbonding=wei,
        release_at=tx.value,
    )


@stake_app.command("withdraw")
def stake_withdraw(
    ctx: typer.Context,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw unbonded stake after the delay."""
    c = _open(ctx, chain)
    tx = c.staking.withdraw(_signer(ctx, c, key, wallet))
    _done(f"withdrew {_eth(tx.value)}", tx, as_json, withdrawn=tx.value)


@stake_app.command("show")
def stake_show(
    ctx: typer.Context,
    address: WhoArg = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A participant's role, endpoint, stake and unbonding."""
    c, who = _whom(ctx, address, chain, key, wallet)
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
    release = f" (withdrawable from {fmt_time(p.release_at, c.now())})" if p.unbonding else ""
    console.print(f"  stake {_eth(p.stake)}, unbonding {_eth(p.unbonding)}{release}")


def register(app: typer.Typer) -> None:
    app.add_typer(chain_app, name="chain")
    app.add_typer(registry_app, name="registry")
    app.add_typer(stake_app, name="stake")
