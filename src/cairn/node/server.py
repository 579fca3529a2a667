"""Run the gateway with uvicorn until Ctrl-C or SIGTERM, then shut down cleanly.

Clean means: the batcher seals and anchors what is pending, the receipt
store closes, and the embedded chain writes its state, so a restart resumes.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable

import uvicorn

from cairn.chain.devnet import free_port
from cairn.node.bootstrap import NodeContext
from cairn.node.gateway import create_app

__all__ = ["free_port", "serve"]


def serve(ctx: NodeContext, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until a signal; uvicorn handles SIGINT/SIGTERM, the lifespan flushes."""
    s = ctx.settings
    config = uvicorn.Config(
        create_app(ctx),
        host=s.host,
        port=s.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        original = server.startup

        async def startup(sockets: list[socket.socket] | None = None) -> None:
            await original(sockets)
            on_ready(f"http://{s.host}:{s.port}")

        server.startup = startup  # type: ignore[method-assign]
    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    # handlers that were installed before it; these record it instead of dying, so
    # that the node's state is closed below and the process exits 0.
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda num, _frame: received.append(num))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server.run()
    finally:
        ctx.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
