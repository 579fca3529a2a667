"""Entry point of the ``cairn`` command.

Sub-command modules register themselves here; errors are reported here, once:
a :class:`~cairn.errors.CairnError` becomes one line on stderr and exit 1.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from cairn import __version__
from cairn.cli._common import err_console, state
from cairn.errors import CairnError

__all__ = ["app", "main", "run"]

# One module per layer; each defines ``register(app)``.
_MODULES = [
    "cairn.cli._content",
    "cairn.cli._identity",
    "cairn.cli._provenance",
    "cairn.cli._audit",
    "cairn.cli._chain",
    "cairn.cli._node",
    "cairn.cli._network",
    "cairn.cli._verification",
    "cairn.cli._zk",
]

app = typer.Typer(
    name="cairn",
    help="Cairn: content-addressed models with signed lineage, verifiable inference, "
    "and settlement on an EVM chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    state(ctx).data_dir_option = data_dir


for _name in _MODULES:
    importlib.import_module(_name).register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising on CairnError."""
    try:
        app(args=argv, standalone_mode=True)
    except CairnError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
