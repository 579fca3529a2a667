"""``cairn channel``: payment channels on the command line, x402 batch-settlement's.

A channel is x402 ``batch-settlement``'s (:mod:`cairn.chain.batch`; spec: x402
``specs/schemes/batch-settlement/scheme_batch_settlement_evm.md``): the payer
escrows CairnUSD once (an EIP-3009 authorization the collector redeems), signs a
cumulative EIP-712 voucher for each payment, and the receiver claims the latest
one and is paid (``claimWithSignature`` of a one-entry ``ClaimBatch``, then
``settle``). Amounts are CairnUSD atomic units (6 decimals: 1000000 is one).

A channel's id is the hash of its config (payer, receiver, their authorizers, the
token, the withdraw delay, a salt), so a voucher or a claim needs the config, not
only the id. The configs of the channels opened here are kept in
``<data dir>/chain/channels.json`` (per chain id, written atomically); every
command but ``open`` names a channel by its id, or by a unique start of it.
Options are ``cairn chain``'s: ``--chain``, ``--key`` / ``--wallet``, ``--json``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn import chain as chainlib
from cairn._atomic import atomic_write_bytes
from cairn.cli._chain import ChainOpt, KeyOpt, WalletOpt, _done, _open, _signer, parse_duration
from cairn.cli._common import JsonOpt, console, err_console, fmt_time, resolve_address, state
from cairn.errors import ConfigError, ContractRevert, InsufficientFunds, VoucherInvalid

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from pathlib import Path

    from cairn.chain.batch import BatchSettlement, ChannelBalance, ChannelConfig
    from cairn.identity import Signer

__all__ = ["register"]

channel_app = typer.Typer(
    help="Payment channels (x402 batch-settlement): deposit once, pay with vouchers.",
    no_args_is_help=True,
)


def _channel_id(text: str) -> str:
    """A channel argument as lowercase hex without 0x: an id, or the start of one."""
    raw = text.lower().removeprefix("0x")
    if not raw or len(raw) > 64 or any(ch not in "0123456789abcdef" for ch in raw):
        raise typer.BadParameter(f"{text!r} is not a channel id (0x and 64 hex digits, or a start)")
    return raw


ChannelArg = Annotated[
    str,
    typer.Argument(
        help="The channel's id (0x…, from `channel open`), or a unique start of it.",
        callback=_channel_id,
    ),
]
AmountArg = Annotated[int, typer.Argument(min=1, help="CairnUSD atomic units (1000000 = 1).")]
ZERO = "0x" + "00" * 20


def _units(amount: int) -> str:
    return f"{amount} ({amount / 10**6:,.6f} CairnUSD)"


# -- the configs this data dir knows ------------------------------------------------


def _book_path(ctx: typer.Context) -> Path:
    return state(ctx).data_dir.chain / "channels.json"


def _book(ctx: typer.Context) -> dict[str, dict[str, dict[str, Any]]]:
    """{chain id: {channel id: config as JSON}}."""
    path = _book_path(ctx)
    if not path.exists():
        return {}
    try:
        book: dict[str, dict[str, dict[str, Any]]] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return book


def _write_book(ctx: typer.Context, book: dict[str, dict[str, dict[str, Any]]]) -> None:
    blob = json.dumps(book, indent=1, sort_keys=True) + "\n"
    atomic_write_bytes(_book_path(ctx), blob.encode())


def _config_json(config: ChannelConfig) -> dict[str, Any]:
    return {
        "payer": config.payer,
        "payer_authorizer": config.payer_authorizer,
        "receiver": config.receiver,
        "receiver_authorizer": config.receiver_authorizer,
        "token": config.token,
        "withdraw_delay": config.withdraw_delay,
        "salt": "0x" + config.salt.hex(),
    }


def _config(data: dict[str, Any]) -> ChannelConfig:
    from cairn.chain.batch import ChannelConfig

    try:
        return ChannelConfig(**{**data, "salt": bytes.fromhex(str(data["salt"])[2:])})
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"a channel config in channels.json is unreadable: {exc}") from None


def _remember(ctx: typer.Context, chain_id: int, cid: str, config: ChannelConfig | None) -> None:
    """Keep ``config`` as channel ``cid``'s (None: forget it)."""
    book = _book(ctx)
    known = book.setdefault(str(chain_id), {})
    if config is None:
        known.pop(cid, None)
    else:
        known[cid] = _config_json(config)
    _write_book(ctx, book)


def _known(ctx: typer.Context, c: chainlib.Chain, raw: str) -> tuple[str, ChannelConfig]:
    """The channel ``raw`` (:func:`_channel_id`) names, and its config."""
    known = _book(ctx).get(str(c.chain_id), {})
    hits = [cid for cid in known if cid[2:].startswith(raw)]
    if not hits:
        raise ConfigError(
            f"no channel 0x{raw} in this data dir on chain {c.chain_id}: its config is kept "
            "where it was opened (`cairn channel list`)"
        )
    if len(hits) > 1:
        raise ConfigError(f"0x{raw} is the start of {len(hits)} channels' ids: give more of it")
    return hits[0], _config(known[hits[0]])


# -- the chain ----------------------------------------------------------------------


def _settlement(c: chainlib.Chain) -> BatchSettlement:
    from cairn.chain import batch
    from cairn.errors import NotDeployed

    _ = c.token  # NotDeployed, saying `cairn chain deploy`, before anything else
    try:
        return batch.canonical(c)
    except NotDeployed as exc:
        raise NotDeployed(f"{exc}; `cairn chain deploy` places it on a dev chain") from None


def _payer_key(config: ChannelConfig) -> str:
    """Who signs the channel's vouchers: its payerAuthorizer, else the payer."""
    return config.payer if config.payer_authorizer == ZERO else config.payer_authorizer


def _must_be(signer: Signer, allowed: tuple[str, ...], what: str) -> None:
    if signer.address not in allowed:
        raise ConfigError(f"{what}, not by {signer.address}: pass its --wallet NAME or --key HEX")


def _deposit(
    c: chainlib.Chain,
    settlement: BatchSettlement,
    payer: Signer,
    config: ChannelConfig,
    amount: int,
) -> chainlib.Tx[int]:
    """Escrow ``amount`` of the payer's CairnUSD through the EIP-3009 collector."""
    held = c.token.balance_of(config.payer)
    if held < amount:
        raise ConfigError(
            f"{config.payer} holds {_units(held)}, less than {amount}: "
            f"on a dev chain, `cairn token mint {amount} --to {config.payer}`"
        )
    before = c.now() + 3600
    domain = c.token.domain()
    return settlement.deposit_eip3009(payer, payer, config, amount, domain, valid_before=before)


def _state_json(
    cid: str, config: ChannelConfig, settlement: BatchSettlement, now: int
) -> dict[str, Any]:
    """A channel's config and what the contract holds for it, as JSON types."""
    raw = bytes.fromhex(cid[2:])
    held, pending = settlement.channel(raw), settlement.pending_withdrawal(raw)
    withdrawal = None
    if pending.initiated_at:
        ready = pending.initiated_at + config.withdraw_delay
        withdrawal = {"amount": pending.amount, "finalize_after": ready, "ready": now >= ready}
    return {
        "channel_id": cid,
        **_config_json(config),
        "balance": held.balance,
        "total_claimed": held.total_claimed,
        "unclaimed": held.unclaimed,
        "withdrawal": withdrawal,
    }


def _line(doc: dict[str, Any], now: int) -> str:
    text = (
        f"channel {doc['channel_id']}: {doc['payer']} -> {doc['receiver']}, "
        f"deposit {_units(doc['balance'])}, claimed {doc['total_claimed']}, "
        f"unclaimed {doc['unclaimed']}"
    )
    w = doc["withdrawal"]
    if w is not None:
        text += f"; withdrawing {w['amount']}, from {fmt_time(w['finalize_after'], now)}"
    return text


# -- commands -----------------------------------------------------------------------


def _withdraw_delay(text: str) -> int:
    from cairn.chain.batch import MAX_WITHDRAW_DELAY, MIN_WITHDRAW_DELAY

    seconds = parse_duration(text)
    if not MIN_WITHDRAW_DELAY <= seconds <= MAX_WITHDRAW_DELAY:
        raise ConfigError(f"a withdraw delay is 15m to 30d, not {text!r}")
    return seconds


def _salt(text: str | None) -> bytes:
    if text is None:
        return os.urandom(32)
    try:
        salt = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        salt = b""
    if len(salt) != 32:
        raise ConfigError(f"--salt is 32 bytes in hex, not {text!r}")
    return salt


@channel_app.command("open")
def channel_open(
    ctx: typer.Context,
    receiver: Annotated[str, typer.Argument(help="Who is paid: an address or a wallet name.")],
    amount: AmountArg,
    withdraw_delay: Annotated[
        str, typer.Option(help="How long a withdrawal waits: 15m (the least) to 30d.")
    ] = "15m",
    salt: Annotated[
        str | None, typer.Option(help="32 bytes, hex: makes the channel id (default random).")
    ] = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a channel to RECEIVER with a deposit of AMOUNT of your CairnUSD; prints its id."""
    from cairn.chain import batch

    to, delay, chosen = resolve_address(ctx, receiver), _withdraw_delay(withdraw_delay), _salt(salt)
    c = _open(ctx, chain)
    settlement = _settlement(c)
    payer = _signer(ctx, c, key, wallet)
    if to == payer.address:
        raise ConfigError(f"{receiver} is the payer, {payer.address}: a channel pays someone else")
    config = batch.ChannelConfig(
        payer=payer.address,
        payer_authorizer=payer.address,
        receiver=to,
        receiver_authorizer=to,
        token=c.token.address,
        withdraw_delay=delay,
        salt=chosen,
    )
    cid = "0x" + batch.channel_id(config, c.chain_id, settlement.address).hex()
    if cid in _book(ctx).get(str(c.chain_id), {}):
        raise ConfigError(f"channel {cid} is open already: `cairn channel topup` adds to it")
    _remember(ctx, c.chain_id, cid, config)  # before the deposit: the config is the key to it
    try:
        tx = _deposit(c, settlement, payer, config, amount)
    except (ConfigError, ContractRevert, InsufficientFunds):  # nothing was deposited
        _remember(ctx, c.chain_id, cid, None)
        raise
    if as_json:
        _done("", tx, True, channel_id=cid, payer=payer.address, receiver=to, deposit=tx.value)
        return
    err_console.print(
        f"opened a channel to {to} with {_units(tx.value)} "
        f"[dim](gas {tx.gas_used}, block {tx.block_number}, tx {tx.hash})[/]"
    )
    typer.echo(cid)


@channel_app.command("topup")
def channel_topup(
    ctx: typer.Context,
    channel: ChannelArg,
    amount: AmountArg,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Payer: add AMOUNT of your CairnUSD to a channel's deposit."""
    c = _open(ctx, chain)
    settlement = _settlement(c)
    cid, config = _known(ctx, c, channel)
    payer = _signer(ctx, c, key, wallet)
    _must_be(payer, (config.payer,), f"channel {cid} is paid by {config.payer}")
    tx = _deposit(c, settlement, payer, config, amount)
    balance = settlement.channel(bytes.fromhex(cid[2:])).balance
    what = f"added {_units(tx.value)} to channel {cid}: deposit {balance}"
    _done(what, tx, as_json, channel_id=cid, added=tx.value, balance=balance)


@channel_app.command("voucher")
def channel_voucher(
    ctx: typer.Context,
    channel: ChannelArg,
    total: Annotated[
        int,
        typer.Argument(min=1, help="The cumulative total paid so far, in atomic units."),
    ],
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Payer: sign a voucher for TOTAL paid so far on the channel; prints its signature."""
    from cairn.chain import batch

    c = _open(ctx, chain)
    settlement = _settlement(c)
    cid, config = _known(ctx, c, channel)
    signer = _signer(ctx, c, key, wallet)
    _must_be(
        signer, (_payer_key(config),), f"channel {cid}'s vouchers are signed by {config.payer}"
    )
    balance = settlement.channel(bytes.fromhex(cid[2:])).balance
    if total > balance:
        raise VoucherInvalid(f"a voucher for {total} exceeds channel {cid}'s deposit of {balance}")
    raw = batch.sign_voucher(signer, bytes.fromhex(cid[2:]), total, c.chain_id, settlement.address)
    signature = "0x" + raw.hex()
    if as_json:
        typer.echo(json.dumps({"channel_id": cid, "total": total, "signature": signature}))
    else:
        typer.echo(signature)


def _signature(text: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise VoucherInvalid(f"the signature is not hex: {text[:20]!r}") from None


def _check_voucher(
    c: chainlib.Chain, address: str, cid: str, config: ChannelConfig, total: int, sig: bytes
) -> None:
    """The voucher is the payer's (ECDSA, as the SDK signs them), offline: no gas for a forgery."""
    from cairn.chain import batch
    from cairn.errors import SignatureError
    from cairn.identity import recover_hash

    digest = batch.voucher_digest(bytes.fromhex(cid[2:]), total, c.chain_id, address)
    try:
        signer = recover_hash(digest, sig)
    except SignatureError as exc:
        raise VoucherInvalid(f"not a voucher signature: {exc}") from None
    if signer != _payer_key(config):
        raise VoucherInvalid(
            f"{config.payer} did not sign a voucher for {total} on channel {cid} (the "
            f"signature recovers to {signer}: another signer, or another total; vouchers "
            "are cumulative)"
        )


def _claimable(cid: str, total: int, held: ChannelBalance) -> None:
    if total > held.balance:
        raise VoucherInvalid(
            f"a voucher for {total} exceeds channel {cid}'s deposit {held.balance}"
        )
    if total <= held.total_claimed:
        raise VoucherInvalid(
            f"channel {cid} has {held.total_claimed} claimed already: a voucher for {total} "
            "adds nothing (vouchers are cumulative)"
        )


@channel_app.command("claim")
def channel_claim(
    ctx: typer.Context,
    channel: ChannelArg,
    total: Annotated[int, typer.Argument(min=1, help="The voucher's cumulative total.")],
    signature: Annotated[str, typer.Argument(help="The voucher's signature (hex).")],
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Receiver: claim the payer's voucher for TOTAL and be paid what it adds."""
    from cairn.chain import batch

    sig = _signature(signature)
    c = _open(ctx, chain)
    settlement = _settlement(c)
    cid, config = _known(ctx, c, channel)
    _check_voucher(c, settlement.address, cid, config, total, sig)
    _claimable(cid, total, settlement.channel(bytes.fromhex(cid[2:])))
    receiver = _signer(ctx, c, key, wallet)
    _must_be(
        receiver, (config.receiver_authorizer,), f"channel {cid} is claimed by {config.receiver}"
    )
    claims = [batch.VoucherClaim(config, total, sig, total)]
    authorized = batch.sign_claim_batch(receiver, claims, c.chain_id, settlement.address)
    claimed = settlement.claim_with_signature(receiver, claims, authorized)
    paid = settlement.settle(receiver, config.receiver, config.token)
    if not as_json:
        _done(f"claimed {_units(claimed.value)} on channel {cid}", claimed)
    what = f"paid {config.receiver} {_units(paid.value)}"
    fields = {"claimed": claimed.value, "claim_tx": claimed.hash, "paid": paid.value}
    _done(what, paid, as_json, channel_id=cid, receiver=config.receiver, **fields)


@channel_app.command("withdraw")
def channel_withdraw(
    ctx: typer.Context,
    channel: ChannelArg,
    amount: Annotated[
        int | None, typer.Option(min=1, help="How much to take back (default: all unclaimed).")
    ] = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    key: KeyOpt = None,
    wallet: WalletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Payer: start a withdrawal of the unclaimed deposit, or finish it after the delay.

    The receiver may still claim meanwhile; what is paid back is what is unclaimed then.
    """
    c = _open(ctx, chain)
    settlement = _settlement(c)
    cid, config = _known(ctx, c, channel)
    payer = _signer(ctx, c, key, wallet)
    _must_be(payer, (config.payer, config.payer_authorizer), f"channel {cid} is {config.payer}'s")
    raw, now = bytes.fromhex(cid[2:]), c.now()
    pending = settlement.pending_withdrawal(raw)
    if pending.initiated_at:
        ready = pending.initiated_at + config.withdraw_delay
        if amount is not None or now < ready:
            raise ConfigError(
                f"channel {cid} has a withdrawal of {pending.amount} pending, to finish from "
                f"{fmt_time(ready, now)} (dev chains: `cairn chain advance`)"
            )
        tx = settlement.finalize_withdraw(payer, config)
        what = f"withdrew {_units(tx.value)} from channel {cid}"
        _done(what, tx, as_json, channel_id=cid, withdrawn=tx.value)
        return
    unclaimed = settlement.channel(raw).unclaimed
    asked = unclaimed if amount is None else amount
    if not unclaimed:
        raise ConfigError(f"channel {cid} has nothing unclaimed to withdraw")
    if asked > unclaimed:
        raise ConfigError(f"channel {cid} has {unclaimed} unclaimed, less than {asked}")
    started = settlement.initiate_withdraw(payer, config, asked)
    what = (
        f"withdrawing {_units(asked)} from channel {cid}: run this again from "
        f"{fmt_time(started.value, now)}"
    )
    _done(what, started, as_json, channel_id=cid, withdrawing=asked, finalize_after=started.value)


@channel_app.command("show")
def channel_show(
    ctx: typer.Context,
    channel: ChannelArg,
    chain: ChainOpt = chainlib.EMBEDDED,
    as_json: JsonOpt = False,
) -> None:
    """A channel's parties, its deposit, what was claimed, and a pending withdrawal."""
    c = _open(ctx, chain)
    settlement = _settlement(c)
    cid, config = _known(ctx, c, channel)
    doc = _state_json(cid, config, settlement, c.now())
    if as_json:
        typer.echo(json.dumps(doc))
        return
    console.print(_line(doc, c.now()), highlight=False)


@channel_app.command("list")
def channel_list(
    ctx: typer.Context,
    address: Annotated[
        str | None,
        typer.Argument(help="Only channels this address (or wallet) pays or is paid by."),
    ] = None,
    chain: ChainOpt = chainlib.EMBEDDED,
    as_json: JsonOpt = False,
) -> None:
    """The channels opened from this data dir on this chain, oldest id first."""
    who = resolve_address(ctx, address) if address is not None else None
    c = _open(ctx, chain)
    known = sorted(_book(ctx).get(str(c.chain_id), {}).items())
    configs = [(cid, _config(data)) for cid, data in known]
    mine = [(cid, cf) for cid, cf in configs if who in (None, cf.payer, cf.receiver)]
    now = c.now()
    settlement = _settlement(c) if mine else None
    docs = [_state_json(cid, cf, settlement, now) for cid, cf in mine if settlement]
    if as_json:
        typer.echo(json.dumps({"chain_id": c.chain_id, "address": who, "channels": docs}))
        return
    if not docs:
        console.print(f"no channels{f' of {who}' if who else ''} known here on chain {c.chain_id}")
    for doc in docs:
        console.print(_line(doc, now), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(channel_app, name="channel")
