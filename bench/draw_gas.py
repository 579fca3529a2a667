"""Gas of Disputes.draw as the juror pool grows (two passes over the pool, no external calls).

    .venv/bin/python bench/draw_gas.py [N ...]     # default 10 50 200

Prints gas per draw and per pool member; writes bench/results/draw_gas.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from eth_hash.auto import keccak

from cairn.chain import DeployParams, DisputeKind, DisputeParams, Role, connect
from cairn.identity import LocalSigner
from cairn.receipts import MerkleTree, Receipt, ReceiptDomain
from cairn.verification import evidence_for

OUT = Path(__file__).resolve().parent / "results" / "draw_gas.json"
ETHER = 10**18


def measure(n: int) -> int:
    chain = connect("embedded://")
    dev = chain.dev_keys()[0]
    chain.deploy(dev, DeployParams(), record=False, disputes=DisputeParams())
    node = LocalSigner(keccak(b"draw-node"))
    chain.fund(node.address, 10 * ETHER)
    chain.staking.register(node, Role.NODE, "http://n")
    chain.staking.stake(node, ETHER)
    jurors = [LocalSigner(keccak(f"draw-{i}".encode())) for i in range(n + 1)]
    for j in jurors:
        chain.fund(j.address, ETHER)
        chain.staking.register(j, Role.VALIDATOR, "")
        chain.staking.stake(j, ETHER // 10)
        chain.disputes.join(j)
    chain.mine(DisputeParams().activation_blocks)
    domain = ReceiptDomain(chain.chain_id, chain.deployment.anchor)
    r = Receipt(
        "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        os.urandom(32),
        os.urandom(32),
        node.address,
        os.urandom(32),
        chain.now(),
        "x",
        1,
        domain,
    ).sign(node)
    chain.anchor.anchor(node, 1, MerkleTree.build([r.digest()]).root, 1)  # count 1: no proof
    opened = chain.disputes.open(
        jurors[0], evidence_for(r, [r], 1), b"\1" * 32, DisputeKind.WRONG_OUTPUT
    )
    chain.increase_time(1)
    return chain.disputes.draw(jurors[0], opened.value).gas_used


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [10, 50, 200]
    results = {}
    for n in sizes:
        gas = measure(n)
        results[str(n)] = {"gas": gas, "per_member": gas / n}
        print(f"pool {n:>5}: draw {gas:>10,} gas ({gas / n:,.0f} per member)")
    OUT.write_text(
        json.dumps({"committee_size": DisputeParams().committee_size, "draw": results}, indent=1)
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
