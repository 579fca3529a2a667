"""What every sub-command shares: the data dir, the console, progress bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from cairn.config import DataDir, resolve_data_dir

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["CliState", "console", "err_console", "progress_bytes", "state"]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    """Options given before the sub-command (``cairn --data-dir D ...``)."""

    data_dir_option: Path | None = None

    @property
    def data_dir(self) -> DataDir:
        return resolve_data_dir(self.data_dir_option).ensure()


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
