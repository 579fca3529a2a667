"""The commands that start like a native tool: ``cairn add``, ``cairn cat``, ``cairn --help``.

Why: typer, click, pydantic and every layer's command module cost about 0.2 s
before a command runs; ``ipfs add`` of a small file answers in tens of
milliseconds, and so should ``cairn add`` (issue "Speed", target: within 150 ms
of a bare ``python``). So :func:`plan` reads the few argument lists it is sure of
-- ``add`` and ``cat`` with the options they declare, ``--version``, and the root
help -- and runs them without importing typer. Anything else, including every
mistake, is left to the typer app: usage errors are reported in one place.

The bodies of ``add`` and ``cat`` live here and only here; the typer commands in
:mod:`cairn.cli._content` call them, so both paths do the same work.
``tests/test_cli_fast.py`` holds the parser to the typer command's own options.

The root help is typer's own rendering, kept in the user's cache directory and
printed from there while nothing that shapes it has changed: the version, the CLI
modules (size and mtime), the argument list, whether stdout is a terminal and its
size, and the environment. Anything else renders it again through typer.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from cairn import __version__
from cairn.config import DataDir, resolve_data_dir

__all__ = ["ADD_FLAGS", "ADD_VALUES", "ROOT_HELP", "HelpRecorder", "add", "cat", "plan"]

BAR_MIN_BYTES = 16 << 20
# The options of ``cairn add`` (see cairn.cli._content.add), flags and valued ones.
ADD_FLAGS = {"-q": "quiet", "--quiet": "quiet", "--only-hash": "only_hash", "--json": "as_json"}
ADD_VALUES = {"--profile": "profile", "--workers": "workers"}
ROOT_HELP: tuple[list[str], ...] = ([], ["--help"])  # `cairn` alone prints it too
# Variables of the environment a help's rendering never depends on, and that change
# from one shell to the next.
_VOLATILE_ENV = {"PWD", "OLDPWD", "SHLVL", "_"}


def add(
    data_dir: DataDir,
    path: Path,
    *,
    profile: str | None = None,
    only_hash: bool = False,
    quiet: bool = False,
    workers: int = 0,
    as_json: bool = False,
) -> None:
    """Import a file or folder as UnixFS and print its root CID (``cairn add``)."""
    import json

    from cairn import content

    profile = profile or content.DEFAULT_PROFILE
    content.get_profile(profile)
    store = content.NullBlockstore() if only_hash else content.open_blockstore(data_dir)
    total = _size_of(path)
    threads = workers or os.cpu_count() or 1
    if not (quiet or as_json) and total >= BAR_MIN_BYTES:
        from cairn.cli._common import progress_bytes

        with progress_bytes(f"adding {path.name}", total) as bar:
            task = bar.task_ids[0]
            cid = content.add_path(
                path, store, profile, workers=threads, progress=lambda n: bar.advance(task, n)
            )
    else:
        cid = content.add_path(path, store, profile, workers=threads)
    if as_json:
        doc = {"cid": str(cid), "name": path.name, "bytes": total, "profile": profile}
        _print(json.dumps({**doc, "stored": not only_hash}))
    elif quiet:
        _print(str(cid))
    else:
        from cairn.cli._console import console

        console.print(
            f"added [bold]{cid}[/] {path.name} ({total} bytes, {profile})",
            highlight=False,
            soft_wrap=True,
        )


def cat(data_dir: DataDir, cid: str) -> None:
    """Write a file's bytes to stdout, every block verified (``cairn cat``)."""
    from cairn import content

    store = content.open_blockstore(data_dir)
    out = sys.stdout.buffer
    for piece in content.iter_file(content.Cid.parse(cid), store):
        out.write(piece)
    out.flush()


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def plan(args: list[str]) -> Callable[[], int] | None:
    """What to run for ``args`` without typer, or None when typer must read them."""
    data_dir: Path | None = None
    rest = list(args)
    if rest and rest[0].startswith("--data-dir"):
        if rest[0] == "--data-dir" and len(rest) > 1:
            data_dir, rest = Path(rest[1]), rest[2:]
        elif rest[0].startswith("--data-dir="):
            data_dir, rest = Path(rest[0].split("=", 1)[1]), rest[1:]
        else:
            return None
        if rest in ROOT_HELP:  # the kept help is keyed without a data dir
            return None
    if rest == ["--version"]:
        return lambda: _printed(f"cairn {__version__}")
    if rest in ROOT_HELP and data_dir is None:
        cached = HelpRecorder(rest).cached()
        return None if cached is None else lambda: _printed(cached, end="")
    if not rest or rest[0] not in ("add", "cat"):
        return None
    if rest[0] == "cat":
        if len(rest) != 2 or rest[1].startswith("-"):
            return None
        cid = rest[1]
        return lambda: _ran(lambda: cat(resolve_data_dir(data_dir).ensure(), cid))
    return _plan_add(data_dir, rest[1:])


def _plan_add(data_dir: Path | None, args: list[str]) -> Callable[[], int] | None:
    flags: dict[str, bool] = {}
    profile: str | None = None
    workers = 0
    paths: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg in ADD_FLAGS:
            flags[ADD_FLAGS[arg]] = True
        elif name in ADD_VALUES:
            if not eq:
                if i + 1 >= len(args):
                    return None
                i += 1
                value = args[i]
            if name == "--profile":
                profile = value
            elif value.isdigit():  # --workers: an int >= 0 (typer's min=0)
                workers = int(value)
            else:
                return None
        elif arg.startswith("-"):  # --help, -qx, --, anything unknown: typer says
            return None
        else:
            paths.append(arg)
        i += 1
    if len(paths) != 1 or not os.path.exists(paths[0]):  # typer names the missing path
        return None
    path = Path(paths[0])

    def run() -> None:
        add(resolve_data_dir(data_dir).ensure(), path, profile=profile, workers=workers, **flags)

    return lambda: _ran(run)


def _ran(body: Callable[[], None]) -> int:
    body()
    return 0


def _printed(text: str, end: str = "\n") -> int:
    sys.stdout.write(text + end)
    sys.stdout.flush()
    return 0


class HelpRecorder:
    """The root help as typer renders it here, kept in the cache until that changes."""

    def __init__(self, args: list[str]) -> None:
        self._args = args
        name = "help-root.txt" if not args else "help-root-help.txt"
        self.path = _cache_dir() / name
        self._key = self._fingerprint()
        self._tee: _Tee | None = None

    def _fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(repr((__version__, self._args, sys.version)).encode())
        cli = Path(__file__).parent
        for entry in sorted(os.scandir(cli), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                h.update(f"{entry.name}:{st.st_size}:{st.st_mtime_ns};".encode())
        for fd in (0, 1, 2):
            try:
                tty = os.isatty(fd)
                size = os.get_terminal_size(fd) if tty else None
            except OSError:
                tty, size = False, None
            h.update(f"{fd}:{tty}:{size};".encode())
        env = sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE_ENV)
        h.update(repr(env).encode())
        return h.hexdigest()

    def cached(self) -> str | None:
        """The stored rendering, if it was made under this very fingerprint."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        key, sep, body = text.partition("\n")
        return body if sep and key == self._key else None

    def start(self) -> None:
        """Copy what is printed on stdout from now on (the terminal sees it unchanged)."""
        self._tee = _Tee(sys.stdout)
        sys.stdout = self._tee

    def finish(self, code: int) -> None:
        """Stop copying; keep the copy if the help was printed whole (exit 0)."""
        tee, self._tee = self._tee, None
        if tee is None:
            return
        sys.stdout = tee.real
        if code != 0 or not tee.parts:
            return
        from cairn._atomic import atomic_write_bytes

        with contextlib.suppress(OSError):  # a read-only home: printed, just not kept
            atomic_write_bytes(self.path, f"{self._key}\n{''.join(tee.parts)}".encode())


class _Tee(io.TextIOBase):
    """Stdout as seen by rich and click (a terminal if it is one), with a copy kept."""

    def __init__(self, real: TextIO) -> None:
        self.real = real
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        written = self.real.write(text)  # first: click probes with bytes, which fail here
        self.parts.append(text)
        return written

    def flush(self) -> None:
        self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")

    @property
    def buffer(self) -> object:
        return getattr(self.real, "buffer", None)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cairn"
