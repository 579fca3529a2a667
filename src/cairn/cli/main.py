"""Entry point of the ``cairn`` command.

A command that :mod:`cairn.cli._fast` can run without typer (``add``, ``cat``,
the root help) runs there; every other goes to the typer app in
:mod:`cairn.cli._app`, imported only then. Errors are reported here, once, for
both, as one line on stderr and exit status 1: a :class:`~cairn.errors.CairnError`,
and an ``OSError`` from the machine (a path that cannot be written, a full disk),
which no layer can help; the app adds typer's own usage errors.
"""

from __future__ import annotations

import sys
from typing import Any

from cairn.cli import _fast
from cairn.errors import CairnError

__all__ = ["main", "run"]  # and ``app``, through __getattr__


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code: 0, or 1 after one line on stderr."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        planned = _fast.plan(args)
        if planned is not None:
            return planned()
        from cairn.cli._app import run_app

        if args not in _fast.ROOT_HELP:
            return run_app(args)
        recorder = _fast.HelpRecorder(args)  # the root help: rendered once, then kept
        code = 1
        recorder.start()
        try:
            code = run_app(args)
        finally:
            recorder.finish(code)  # restores stdout; keeps the copy only after exit 0
        return code
    except CairnError as exc:
        return _fail(str(exc))
    except OSError as exc:  # a path the user gave cannot be written, a full disk: say which
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    from cairn.cli._console import fail

    return fail(message)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


def __getattr__(name: str) -> Any:
    """``app``: the typer app, imported when asked for (tests drive it with CliRunner)."""
    if name == "app":
        from cairn.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
