"""The two consoles every command prints through, and the one-line error.

Kept apart from :mod:`cairn.cli._common` (which needs typer) so that the commands
that start without typer (:mod:`cairn.cli._fast`) print and fail exactly as the
others do.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

__all__ = ["console", "err_console", "fail"]

# Piped output is never wrapped: a CID or a command split over two lines breaks scripts.
console = Console(soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())


def fail(message: str) -> int:
    """Print ``error: message`` as one line on stderr; return the exit status, 1."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return 1
