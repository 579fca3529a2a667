"""The typer app behind every ``cairn`` command that :mod:`cairn.cli._fast` does not run.

Sub-command modules register themselves here. Typer's own usage errors (an
unknown option, a missing argument, a bad value), which would otherwise draw a
box and exit 2, become one line on stderr and exit status 1 here; the errors every
path shares (a :class:`~cairn.errors.CairnError`, an ``OSError``) are reported by
:func:`cairn.cli.main.main`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from cairn import __version__
from cairn.cli._common import console, state
from cairn.cli._console import fail

__all__ = ["app", "run_app"]

# One module per layer; each defines ``register(app)``.
_MODULES = [
    "cairn.cli._content",
    "cairn.cli._identity",
    "cairn.cli._provenance",
    "cairn.cli._audit",
    "cairn.cli._chain",
    "cairn.cli._payments",
    "cairn.cli._channel",
    "cairn.cli._node",
    "cairn.cli._network",
    "cairn.cli._verification",
    "cairn.cli._zk",
    "cairn.cli._testnet",
]

app = typer.Typer(
    name="cairn",
    help="Cairn: content-addressed models with signed lineage, verifiable inference, "
    "and settlement on an EVM chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


# Typer 0.29's rich help gives every option a type column, flags too ("--quiet <bool>",
# even its own "--help <bool>"), as if a flag took a value; click's plain help shows none,
# and no declaration of ours (--x/--no-x, is_flag=True) changes it. So flags show none here.
_option_type = TyperOption.display_type_rich


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    return None if self.is_flag else _option_type(self, ctx)


TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cairn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where cairn keeps its state. Default: $CAIRN_DATA_DIR, else ~/.cairn.",
        ),
    ] = None,
    signer: Annotated[
        str | None,
        typer.Option(
            "--signer",
            envvar="CAIRN_SIGNER",
            help="Sign with a wallet that keeps its key (EIP-1193 JSON-RPC at this http(s) "
            "URL; '#0xADDRESS' picks an account), instead of a keystore wallet.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    state(ctx).data_dir_option = data_dir
    state(ctx).signer_url = signer


for _name in _MODULES:
    importlib.import_module(_name).register(app)


def _usage(exc: typer.TyperException) -> str:
    """A usage error as one line, with where to read more."""
    text = " ".join(exc.format_message().split()).removesuffix(".")
    text = text[:1].lower() + text[1:]
    ctx = getattr(exc, "ctx", None)
    return f"{text} (see '{ctx.command_path} --help')" if ctx is not None else text


def run_app(args: list[str]) -> int:
    """Run the typer app on ``args``; return the exit code: 0, or 1 after one line."""
    try:
        code = app(args=args, prog_name="cairn", standalone_mode=False)
    except typer.TyperException as exc:  # click's usage and file errors
        if type(exc).__name__ == "NoArgsIsHelpError":  # `cairn zk`: the help, as --help
            console.print(exc.format_message(), end="", markup=False, highlight=False)
            return 0
        return fail(_usage(exc))
    except typer.Abort:  # end of input at a prompt
        return fail("aborted")
    except SystemExit as exc:  # shell completion exits
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code if isinstance(code, int) else 0
