"""The validator service: :meth:`cairn.verification.Validator.tick`, again and again.

The verification layer holds no loops (STYLE.md §11): one tick plans, audits,
disputes and votes once, idempotently. This service runs ticks until ``stop``
is set — ``cairn validator run``, a test's subprocess, the demo — with
:class:`~cairn.node.settings.ValidatorSettings`' ``interval_s`` between them.
A tick that fails with a :class:`~cairn.errors.CairnError` (a chain or node
hiccup) is logged and tried again on the next one; anything else is a bug and
stops the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cairn.errors import CairnError
from cairn.verification import TickReport, Validator

__all__ = ["run_validator"]

log = logging.getLogger(__name__)


def run_validator(
    validator: Validator,
    stop: threading.Event,
    interval: float = 1.0,
    on_tick: Callable[[TickReport], None] | None = None,
) -> None:
    """Tick every ``interval`` seconds until ``stop`` is set; ``on_tick`` sees every tick
    that did something."""
    while not stop.is_set():
        try:
            report = validator.tick()
            if on_tick is not None and report:
                on_tick(report)
        except CairnError as exc:
            log.warning("validator tick failed: %s", exc)
        stop.wait(interval)
