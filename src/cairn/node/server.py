"""Run the gateway with uvicorn until Ctrl-C or SIGTERM, then shut down cleanly.

Clean means: the batcher seals and anchors what is pending, the receipt
store closes, and the embedded chain writes its state, so a restart resumes.

While it serves, the cyclic garbage collector's first generation runs after
:data:`GC_GEN0_THRESHOLD` net allocations instead of CPython's 700. A request frees
almost everything it allocates by reference counting, but the requests in flight
(eight at once under load) hold young objects between them, and at 700 they set off
a collection every 17 requests (started from sites all over the request path, the
batcher's among them; at 7 000, two in ten seconds), each a third of a millisecond
with every thread stopped: 18 us of CPU a request, against about 1 us at 7 000
(``bench/gateway.py``'s load, measured with ``gc.callbacks``). Garbage in cycles
waits a little longer to be freed; memory grows by at most the threshold's worth of
young objects.
"""

from __future__ import annotations

import gc
import signal
import socket
from collections.abc import Callable

import uvicorn

from cairn.chain.devnet import free_port
from cairn.node.bootstrap import NodeContext
from cairn.node.gateway import create_app

__all__ = ["GC_GEN0_THRESHOLD", "free_port", "serve"]

#: the first generation's collection threshold while serving (see the module docstring)
GC_GEN0_THRESHOLD = 7000


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
    thresholds = gc.get_threshold()
    gc.set_threshold(max(GC_GEN0_THRESHOLD, thresholds[0]), *thresholds[1:])
    try:
        server.run()
    finally:
        gc.set_threshold(*thresholds)
        ctx.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
