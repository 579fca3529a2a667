"""Gas of every cairn.chain operation, on the embedded EVM and on Anvil.

Runs `cairn chain check`'s operation sequence (cairn.chain.check.run_check) on
both backends, then anchors batches of 1, 100 and 10 000 receipts to get gas per
anchored receipt. Payment channels are x402 batch-settlement's: a deposit through
the EIP-3009 collector, a claim of one channel's latest voucher
(claimWithSignature), a settle. Targets (issue 3): anchoring <= 60 000 gas per
root (so <= 6 gas per receipt at 10 000 receipts); claiming a channel's payments
<= 90 000 gas, whatever their number (a USDC transferWithAuthorization, one
payment, costs about 81 000 on L1). Writes bench/results/gas.json.

    .venv/bin/python bench/gas.py [--no-anvil]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cairn.chain import Chain, connect
from cairn.chain.check import run_check
from cairn.chain.devnet import Anvil
from cairn.identity import LocalSigner, Signer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "gas.json"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
ANVIL_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
TARGETS = {"anchor": 60_000, "claim": 90_000}
BATCHES = (1, 100, 10_000)


def measure(chain: Chain, key: Signer) -> dict[str, Any]:
    ops = run_check(chain, key)
    chain.staking.stake(key, 2000)  # the check ends unbonded; anchoring needs a staked node
    per_receipt = {}
    for i, size in enumerate(BATCHES):
        gas = chain.anchor.anchor(key, 1000 + i, (i + 1).to_bytes(32, "big"), size).gas_used
        per_receipt[str(size)] = {"gas_per_root": gas, "gas_per_receipt": gas / size}
    return {"chain_id": chain.chain_id, "operations": ops, "anchor_batches": per_receipt}


def main(argv: list[str]) -> int:
    results: dict[str, Any] = {}
    embedded = connect("embedded://")
    key = LocalSigner.generate()
    embedded.fund(key.address, 10**20)
    results["embedded"] = measure(embedded, key)
    if "--no-anvil" not in argv and ANVIL.exists():
        with Anvil(ANVIL) as url:
            results["anvil"] = measure(connect(url), LocalSigner.from_hex(ANVIL_KEY))
    report = _report(results)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"targets": TARGETS, "backends": results, "met": report}, indent=1) + "\n"
    )
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0 if all(report.values()) else 1


def _report(results: dict[str, Any]) -> dict[str, bool]:
    names = sorted({op for r in results.values() for op in r["operations"]})
    backends = list(results)
    print(f"{'operation':24}" + "".join(f"{b:>12}" for b in backends))
    for op in names:
        print(f"{op:24}" + "".join(f"{results[b]['operations'].get(op, 0):>12,}" for b in backends))
    print("\ngas per anchored receipt")
    for size in BATCHES:
        cells = "".join(
            f"{results[b]['anchor_batches'][str(size)]['gas_per_receipt']:>12.2f}" for b in backends
        )
        print(f"  batch {size:>6,}          {cells}")
    met: dict[str, bool] = {}
    for b in backends:
        for op, target in TARGETS.items():
            gas = results[b]["operations"][op]
            met[f"{b}.{op}"] = gas <= target
            print(
                f"target {op} <= {target:,} on {b}: {gas:,} {'met' if gas <= target else 'MISSED'}"
            )
        per = results[b]["anchor_batches"]["10000"]["gas_per_receipt"]
        met[f"{b}.per_receipt_10000"] = per <= 6
        print(
            f"target <= 6 gas/receipt at 10 000 on {b}: {per:.2f} {'met' if per <= 6 else 'MISSED'}"
        )
    return met


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
