"""``cairn validator run`` and ``cairn node show``: the verification layer on the command line.

``cairn validator run`` joins the juror pool (registering and staking the
minimum if needed) and then audits, disputes and votes until Ctrl-C, printing
one line per tick that did something. ``cairn node show ADDRESS|WALLET`` prints a
node's reputation from onchain history.

Both work on another's network from their own data dir: ``--network NAME`` names
a pinned profile (``cairn network add NAME --from GATEWAY_URL``: the contracts,
checked onchain, and where to read them — on an embedded network, the node's
``/v1/chain/rpc``, which relays signed transactions); with it, ``--chain`` only
says where else to read the same chain. Without it, the contracts are this data
dir's own deployment on ``--chain``, else the one profile pinned for that chain id.
Signing uses the same ``--key`` / ``--wallet`` rules as ``cairn stake``. Every
option of ``validator run`` is also read from ``CAIRN_VALIDATOR_<NAME>``
(:class:`cairn.node.ValidatorSettings`; ``NETWORK`` by the option itself); a flag
wins over the environment.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn import chain as chainlib
from cairn.cli._chain import _eth, _open, _signer, parse_amount
from cairn.cli._common import JsonOpt, console, err_console, resolve_address, state
from cairn.config import DataDir
from cairn.errors import ConfigError

if TYPE_CHECKING:  # the CLI imports a layer only when a command uses it
    from cairn.node.settings import ValidatorSettings

__all__ = ["register"]

validator_app = typer.Typer(help="Audit nodes, dispute wrong answers, vote.", no_args_is_help=True)
node_app = typer.Typer(help="Nodes of a network and their reputation.", no_args_is_help=True)


def _network_opt(env: str | None = None) -> Any:
    return typer.Option(
        "--network",
        envvar=env,
        show_envvar=False,  # said in the help, like every other option's variable
        help="A pinned network profile (`cairn network add NAME --from GATEWAY_URL`): its "
        "contracts, read through its RPC (or --chain)." + (f" (env {env})" if env else ""),
    )


@validator_app.command("run")
def validator_run(
    ctx: typer.Context,
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain",
            help="embedded:// or http(s)://host:port; with --network, where to read that "
            "network instead of its profile's RPC. (env CAIRN_VALIDATOR_CHAIN; "
            "default embedded://)",
        ),
    ] = None,
    network: Annotated[str | None, _network_opt("CAIRN_VALIDATOR_NETWORK")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Private key, hex. (env CAIRN_VALIDATOR_KEY)")
    ] = None,
    wallet: Annotated[
        str | None,
        typer.Option("--wallet", help="Wallet name (cairn.identity). (env CAIRN_VALIDATOR_WALLET)"),
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            help="Seconds between ticks. (env CAIRN_VALIDATOR_INTERVAL_S; default 2)",
        ),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            "--patience",
            help="Ticks a node gets to hand over an input before it is disputed. "
            "(env CAIRN_VALIDATOR_PATIENCE; default 2)",
        ),
    ] = None,
    stake: Annotated[
        str | None,
        typer.Option(
            "--stake",
            help="What to bond if not staked, e.g. 2eth. (env CAIRN_VALIDATOR_STAKE_WEI, in wei; "
            "default the minimum)",
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", help="Threads for re-execution. (env CAIRN_VALIDATOR_THREADS; default 1)"
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
    zk: Annotated[
        bool,
        typer.Option(
            help="Accept a node's zk proof instead of re-executing (needs the zk extra). Without "
            "--trusted-srs any SRS is accepted, which is safe on a development network only: "
            "whoever made an SRS can forge proofs under it."
        ),
    ] = False,
    trusted_srs: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-srs", help="sha256 of a ceremony SRS to accept (repeat); implies --zk."
        ),
    ] = None,
) -> None:
    """Join the juror pool, then watch anchors, audit, dispute and vote until stopped.

    Every setting is also read from CAIRN_VALIDATOR_<NAME> (cairn.node.ValidatorSettings);
    a flag wins.
    """
    from cairn.node.settings import ValidatorSettings, from_flags

    settings = from_flags(
        ValidatorSettings,
        data_dir=state(ctx).data_dir.root,  # --data-dir, else CAIRN_DATA_DIR, else ~/.cairn
        chain=chain,
        key=key,
        wallet=wallet,
        interval_s=interval,
        patience=patience,
        stake_wei=parse_amount(stake) if stake is not None else None,
        threads=threads,
    )
    _run(ctx, settings, network=network, once=once, zk=zk, trusted_srs=trusted_srs)


def _run(
    ctx: typer.Context,
    s: ValidatorSettings,
    *,
    network: str | None,
    once: bool,
    zk: bool,
    trusted_srs: list[str] | None,
) -> None:
    from cairn import content
    from cairn.client import GatewayNodeSource
    from cairn.node.validator import run_validator
    from cairn.verification import Reexecutor, Validator, ValidatorState

    dd = DataDir(s.data_dir).ensure()
    c = _contracts_chain(ctx, s.chain if "chain" in s.model_fields_set else None, network)
    account = _signer(ctx, c, s.key, s.wallet)
    _check_funds(c, account.address, s.stake_wei)
    store = content.open_blockstore(dd)
    v = Validator(
        c,
        account,
        Reexecutor(store, threads=s.threads, zk=_zk_verifier(store, zk, trusted_srs)),
        ValidatorState(dd.validator / f"{account.address.lower()}-{c.chain_id}.sqlite"),
        sources=lambda url: GatewayNodeSource(
            url, s.request_deadline_s, signer=account, max_model_bytes=s.max_model_bytes
        ),
        patience=s.patience,
    )
    v.ensure_joined(stake_wei=s.stake_wei)
    console.print(f"validator {account.address} in the juror pool of {c.url}", soft_wrap=True)
    if once:
        _print_tick(v.tick())
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    logging.basicConfig(level=logging.WARNING)
    run_validator(v, stop, s.interval_s, on_tick=_print_tick)


def _print_tick(report: object) -> None:
    console.print(json.dumps(report.__dict__, default=str), soft_wrap=True, highlight=False)


def _contracts_chain(ctx: typer.Context, url: str | None, network: str | None) -> chainlib.Chain:
    """The chain and the contracts to use: the pinned profile ``network`` (read through
    ``url`` if given), else this data dir's deployment on ``url``, else the one profile
    pinned for that chain id."""
    dd = state(ctx).data_dir
    if network is not None:
        pinned = chainlib.load_network(dd, network)
        return _pinned(ctx, replace(pinned, rpc=url) if url is not None else pinned)
    c = _open(ctx, url or chainlib.EMBEDDED)
    if c.is_deployed():
        return c
    try:
        pinned = chainlib.default_network(dd, c)
    finally:
        c.close()
    return _pinned(ctx, pinned)


def _pinned(ctx: typer.Context, network: chainlib.Network) -> chainlib.Chain:
    """A connection to ``network`` whose contracts are the profile's, checked onchain first
    (chain id, code, the anchor's and the Disputes contract's Staking)."""
    if network.disputes is None:
        raise ConfigError(f"network {network.describe()} pins no Disputes contract")
    # The profile, not this data dir's deployment record: nothing is written to the record,
    # so `cairn chain deploy` here still sees no deployment of its own on that chain.
    return chainlib.check_network(network, state(ctx).data_dir, use=True)


def _check_funds(c: chainlib.Chain, address: str, stake_wei: int | None) -> None:
    """Refuse at once, in one line, a validator that cannot pay to join."""
    me = c.staking.participant(address)
    if c.staking.is_staked(address, chainlib.Role.VALIDATOR) and c.disputes.in_pool(address):
        return
    need = max((stake_wei or c.staking.min_stake(chainlib.Role.VALIDATOR)) - me.stake, 0)
    have = c.balance(address)
    if have <= need:
        raise ConfigError(
            f"validator {address} holds {_eth(have)} on chain {c.chain_id}: fund it with "
            f"more than {_eth(need)} (the stake to bond, plus gas) before it can join"
        )


@node_app.command("show")
def node_show(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The node's address, or a wallet's name.")],
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain",
            help="embedded:// or http(s)://host:port (a node's /v1/chain/rpc works); with "
            "--network, where to read it. (default embedded://)",
        ),
    ] = None,
    network: Annotated[str | None, _network_opt()] = None,
    as_json: JsonOpt = False,
) -> None:
    """A node's reputation from onchain history: audits, disputes, slashes, jail, uptime."""
    from cairn.verification import reputation

    node = resolve_address(ctx, address)
    rep = reputation(_contracts_chain(ctx, chain, network), node)
    if as_json:
        typer.echo(json.dumps(rep.to_json()))
        return
    console.print(
        f"node      {rep.node}\nstake     {_eth(rep.stake)}"
        f"{'' if rep.staked else ' (not staked)'}\n"
        f"receipts  {rep.receipts} anchored, {rep.sampled} sampled for audit\n"
        f"audits    {_audits(rep)}\n"
        f"disputes  {rep.disputes_lost} lost, {rep.disputes_won} won; "
        f"slashed {_eth(rep.slashed_wei)}\n"
        f"jailed    {'yes' if rep.jailed else 'no'}\nuptime    {rep.uptime:.3f}\n"
        f"score     {rep.score:.3f}",
        soft_wrap=True,
        highlight=False,
    )


def _audits(rep: Any) -> str:
    """What validators audited, as far as the chain shows (a passing audit leaves no trace)."""
    if rep.audited == 0:
        return "none onchain (no dispute or challenge; a passing audit leaves no trace)"
    return (
        f"{rep.audited} onchain (disputes and challenges): {rep.passed} passed, {rep.failed} failed"
    )


def _zk_verifier(store: Any, enabled: bool, trusted: list[str] | None) -> Any:
    """A ZkVerifier when asked for and ezkl is installed; else None (re-execute everything)."""
    if not enabled and not trusted:
        return None
    try:
        from cairn.verification.zk.verifier import ZkVerifier
    except ImportError:
        err_console.print("zk proofs ignored: ezkl is not installed (pip install 'cairn[zk]')")
        return None
    return ZkVerifier(store, trusted_srs=set(trusted) if trusted else None)


def register(app: typer.Typer) -> None:
    app.add_typer(validator_app, name="validator")
    app.add_typer(node_app, name="node")
