"""Package attributes imported on first use (PEP 562), written once for every package that needs it.

A package's ``__init__`` re-exports its public surface; importing every backend
module eagerly would pull their third-party libraries (web3, onnx, httpx) into
commands that never use them. A package maps each lazy name to its module and
installs the pair of hooks this returns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: Mapping[str, Any]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps attribute → module."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value: object = getattr(importlib.import_module(module), name)
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
