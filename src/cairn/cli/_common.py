"""What every sub-command shares: the data dir, the console, progress bars."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from cairn.cli._console import console, err_console
from cairn.config import DataDir, resolve_data_dir
from cairn.errors import ConfigError, ContentValueError

if TYPE_CHECKING:
    from rich.progress import Progress

    from cairn.identity import Signer

__all__ = [
    "DEFAULT_GATEWAY",
    "GATEWAY_ENV",
    "CliState",
    "GatewayOpt",
    "JsonOpt",
    "console",
    "err_console",
    "fmt_time",
    "gateway_url",
    "http_url",
    "progress_bytes",
    "resolve_address",
    "state",
]


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

# One option per concept, across every command.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
GATEWAY_ENV = "CAIRN_GATEWAY"
DEFAULT_GATEWAY = "http://127.0.0.1:8000"
GatewayOpt = Annotated[
    str | None,
    typer.Option("--gateway", envvar=GATEWAY_ENV, help=f"Gateway URL (default {DEFAULT_GATEWAY})."),
]


@dataclass
class CliState:
    """Options given before the sub-command (``cairn --data-dir D ...``)."""

    data_dir_option: Path | None = None
    signer_url: str | None = None
    _external: Signer | None = None

    @property
    def data_dir(self) -> DataDir:
        return resolve_data_dir(self.data_dir_option).ensure()

    def external_signer(self, wallet: str | None = None) -> Signer | None:
        """The wallet ``--signer`` (``$CAIRN_SIGNER``) names, asked once; None without one.

        ``wallet``: a keystore wallet the command was also given, which is refused
        beside ``--signer`` (two signers named, and no telling which one was meant).
        """
        if self.signer_url and wallet is not None:
            raise ConfigError(f"--signer and the wallet {wallet!r} name two signers: pass one")
        if self.signer_url and self._external is None:
            from cairn.identity import ExternalSigner

            self._external = ExternalSigner.at(self.signer_url)
        return self._external


def state(ctx: typer.Context) -> CliState:
    """The shared state of this invocation."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


@contextmanager
def progress_bytes(description: str, total: int, enabled: bool = True) -> Iterator[Progress]:
    """A byte-counting progress bar on stderr (disabled for small or quiet work)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not enabled,
        transient=True,
    )
    with progress:
        progress.add_task(description, total=total)
        yield progress


def resolve_address(ctx: typer.Context, text: str) -> str:
    """An address argument: a ``0x`` address (checksummed here) or a wallet's name.

    A wallet name is looked up in the data dir's keystore (no passphrase needed: the
    address is stored beside the encrypted key); anything else is a one-line error.
    """
    from cairn.identity import WalletStore, checksum_address

    if _ADDRESS.fullmatch(text):
        return checksum_address(text)
    wallets = {w.name: w.address for w in WalletStore(state(ctx).data_dir.keystore).list()}
    if text in wallets:
        return checksum_address(wallets[text])
    known = f"wallets here: {', '.join(sorted(wallets))}" if wallets else "no wallets here"
    if text.lower().startswith("0x"):
        raise ConfigError(f"{text!r} is not an address: 0x and 40 hex digits expected")
    raise ConfigError(
        f"{text!r} is neither an address (0x and 40 hex digits) nor a wallet name ({known})"
    )


def fmt_time(ts: int, now: int | None = None) -> str:
    """A unix time as ISO 8601 (UTC) with how far it is: '2026-12-09T10:00:00Z (in 6 days)'."""
    if ts <= 0:
        return "never"
    now = int(time.time()) if now is None else now
    iso = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    delta = ts - now
    if delta == 0:
        return f"{iso} (now)"
    span = abs(delta)
    unit, size = next(
        (u, n)
        for u, n in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
        if span >= n
    )
    count = span // size
    words = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{iso} (in {words})" if delta > 0 else f"{iso} ({words} ago)"


def http_url(url: str) -> str:
    """A gateway ``url`` if it is http(s) with a host (and a valid port), else a one-line error."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a bad port is a ValueError here, not deep in an HTTP client
    except ValueError:
        ok = False
    if not ok:
        raise ContentValueError(f"gateway must be an http(s) URL, not {url!r}")
    return url


def gateway_url(option: str | None, *, default: str | None = DEFAULT_GATEWAY) -> str:
    """The gateway a client command talks to: ``--gateway`` (or ``$CAIRN_GATEWAY``, which
    typer reads into it), else ``default``; None as default makes it required."""
    url = option or default
    if not url:
        raise ConfigError(f"no gateway: pass --gateway URL or set {GATEWAY_ENV}")
    return http_url(url).rstrip("/")
