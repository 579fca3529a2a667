"""cairn.node.server.serve: the collector's first generation is raised while it serves
and put back after (why: the module's docstring). The server and the node are
stand-ins here; what is checked is what ``serve`` does around them."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest
import uvicorn

from cairn.node import server


def test_serving_raises_the_gen0_threshold_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[int, int, int]] = []
    closed: list[bool] = []
    monkeypatch.setattr(server, "create_app", lambda ctx: object())
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: seen.append(gc.get_threshold()))
    ctx = SimpleNamespace(
        settings=SimpleNamespace(host="127.0.0.1", port=0), close=lambda: closed.append(True)
    )
    before = gc.get_threshold()
    gc.set_threshold(700, before[1], before[2])
    try:
        server.serve(ctx)  # type: ignore[arg-type]
        assert seen == [(server.GC_GEN0_THRESHOLD, before[1], before[2])]
        assert gc.get_threshold() == (700, before[1], before[2]) and closed == [True]
    finally:
        gc.set_threshold(*before)
