"""The ``cairn`` command: one typer app, one sub-command module per layer.

Each ``_<layer>.py`` module exposes ``register(app)``; :mod:`cairn.cli.main`
wires them together and is the only place that turns a :class:`CairnError`
into one line on stderr and a non-zero exit.
"""

__all__ = ["main"]

from cairn.cli.main import main
