"""What every act of the demo shares: one failure, one deadline, one check.

A step that fails raises :class:`DemoFailed`; ``run.py`` prints its one line and
exits non-zero. Nothing here waits without a deadline, and nothing is checked
with ``assert`` (which ``python -O`` would remove).
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["DemoFailed", "require", "wait_for"]


class DemoFailed(Exception):
    """A demo step did not do what the story says; the message names the step."""


def require(ok: bool, failure: str) -> None:
    """Raise :class:`DemoFailed` with ``failure`` unless ``ok``."""
    if not ok:
        raise DemoFailed(failure)


def wait_for(what: str, ready: Callable[[], bool], timeout: float, poll: float = 0.2) -> None:
    """Poll ``ready`` until it is true; after ``timeout`` seconds, fail naming ``what``.

    ``ready`` may raise :class:`DemoFailed` itself to stop waiting early (the
    thing waited for has died).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(poll)
    raise DemoFailed(f"timed out after {timeout:g}s waiting for {what}")
