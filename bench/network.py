"""Operators go offline: what does a failover client wait, and is anything lost?

Runs the outage drill (:func:`cairn.node.drill.run_outage`, the scenario
tests/network/test_network_outage.py asserts) on a fresh ``cairn testnet`` of 3
nodes and 3 validators on Anvil, each party in its own network namespace: 300
requests from 8 threads; a third of the way in the client's first choice is
killed (SIGKILL), its second frozen for 10 s (SIGSTOP) and the third cut off from
the chain for 30 s; the killed node restarts and must rejoin. Every receipt is
then checked online. Needs root and ``ip netns`` (as CI has).

    python bench/network.py [--quick] [--timeout S]

Writes bench/results/network.json: ``requests``, ``answered``, ``failovers``,
``p50_ms``, ``p99_ms``, ``max_stall_ms`` (the longest any one request waited,
faults included), the client's timeout and the targets (issue 12, part 4):
``answered == requests`` and ``max_stall_ms <= 2 x the client's timeout``.
``--quick`` sends 90 requests, freezes for 5 s and cuts for 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from cairn.node.drill import run_outage
from cairn.node.testnet import Testnet

RESULTS = Path(__file__).parent / "results" / "network.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a shorter drill (about 2 minutes)")
    ap.add_argument("--timeout", type=float, default=3.0, help="the client's timeout, seconds")
    args = ap.parse_args()
    if args.timeout <= 0:
        raise SystemExit("--timeout must be positive")
    requests, freeze_s, cut_s = (90, 5.0, 10.0) if args.quick else (300, 10.0, 30.0)
    with tempfile.TemporaryDirectory(prefix="cairn-bench-network-") as tmp:
        t = time.monotonic()
        net = Testnet.up(Path(tmp), nodes=3, validators=3, isolate=True)
        up_s = time.monotonic() - t
        try:
            report = run_outage(
                net, requests, 8, args.timeout, freeze_s=freeze_s, cut_s=cut_s
            ).to_json()
        finally:
            net.down()
    result: dict[str, Any] = {
        "benchmark": "network",
        "quick": args.quick,
        "cores": os.cpu_count(),
        "nodes": 3,
        "validators": 3,
        "faults": {"sigkill": 1, "sigstop_s": freeze_s, "cut_s": cut_s},
        "testnet_up_s": round(up_s, 1),
        **report,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    keys = ("requests", "answered", "failovers", "p50_ms", "p99_ms", "max_stall_ms")
    print(json.dumps({k: result[k] for k in keys}, indent=2))
    print(f"client timeout {args.timeout:g} s; targets: {json.dumps(result['targets'])}")
    print(
        f"verified online {result['verified_online']}, withheld {len(result['withheld'])}, "
        f"unverified {len(result['unverified'])}; rejoined: {json.dumps(result['rejoined'])}"
    )


if __name__ == "__main__":
    main()
