"""The house rules, checked from the source: layer order, no import circles, one chain boundary.

DESIGN.md, "Layers": a layer imports only the layers before it (and the shared
``cairn.errors``, ``cairn.config``, ``cairn._atomic``); services and the CLI
compose them. STYLE.md: a third-party client is imported by its backend only.
Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cairn"
LAYERS = [
    "content",
    "identity",
    "privacy",
    "inference",
    "provenance",
    "receipts",
    "chain",
    "verification",
    "payments",
    "market",
    "training",
    "client",
    "audit",
    "node",
    "cli",
]
SHARED = {"errors", "config", "_atomic", "_lazy", "_keccak", "testing"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "cairn" else None


def test_layers_import_only_the_layers_before_them() -> None:
    wrong = []
    for name, path in _modules():
        mine = _layer(name)
        if mine not in LAYERS:
            continue
        for target in _imports(path):
            theirs = _layer(target)
            if theirs in LAYERS and LAYERS.index(theirs) > LAYERS.index(mine):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_no_import_circles_between_modules() -> None:
    known = {name for name, path in _modules() if path.name != "__init__.py"}
    graph: dict[str, set[str]] = {}
    for name, path in _modules():
        if path.name == "__init__.py":
            continue  # a package re-exporting its modules is not a circle
        graph[name] = {t for t in _imports(path) if t in known and t != name}
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in trail and len(trail) < 8:
                    stack.append((nxt, [*trail, nxt]))
    assert not cycles, "\n".join(sorted(set(cycles))[:10])


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("web3", ("cairn.chain", "cairn.payments")),
        ("eth_account", ("cairn.chain", "cairn.identity.wallets")),
    ],
)
def test_third_party_clients_stay_behind_their_boundary(
    library: str, allowed: tuple[str, ...]
) -> None:
    leaks = [
        name
        for name, path in _modules()
        if not name.startswith(allowed)
        and any(t == library or t.startswith(library + ".") for t in _imports(path))
    ]
    assert not leaks, f"{library} imported outside {allowed}: {leaks}"
