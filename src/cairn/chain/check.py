"""Try a chain before trusting it: deploy a fresh set and run every operation once.

``cairn chain check`` and ``bench/gas.py`` run this. The contracts are deployed
unrecorded, with zero delays and tiny minimums, so every path — including
withdrawing after an unbonding delay and after a close window — completes on a
real chain where time cannot be moved. Its Disputes contract (Staking's slasher,
with zero windows) is deployed with the rest; the unbonding delay is one second,
the least Staking accepts over a zero-length dispute, and the check waits it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cairn.chain._tx import Tx
from cairn.chain.client import Chain, DeployParams
from cairn.chain.disputes import DisputeParams
from cairn.chain.staking import Role
from cairn.identity import LocalSigner, Signer

__all__ = ["CHECK_DISPUTES", "CHECK_PARAMS", "run_check"]

CHECK_PARAMS = DeployParams(
    min_node_stake=1000, min_validator_stake=1000, unbonding_delay=1, close_window=0
)
CHECK_DISPUTES = DisputeParams(
    draw_window=0,
    commit_window=0,
    reveal_window=0,
    jail_period=0,
    leave_delay=1,
    response_window=0,
)


def _after(chain: Chain, release: int) -> None:
    """Wait until the chain's clock reaches ``release`` (moved on dev chains)."""
    while chain.now() < release:
        if chain.dev_keys():
            chain.increase_time(release - chain.now())
        else:
            time.sleep(1)


def run_check(
    chain: Chain, signer: Signer, on_step: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Deploy, run each operation once; return {operation: gas used}."""
    me = signer
    payee = LocalSigner.generate().address
    gas: dict[str, int] = {}

    chain.transfer(me, payee, 1)  # a payee is a live node: no new-account surcharge in "redeem"
    chain.deploy(me, CHECK_PARAMS, record=False, disputes=CHECK_DISPUTES)
    for name, used in chain.deploy_gas.items():
        gas[f"deploy_{name}"] = used
    reg, stk, anc, chn = chain.contracts
    model = f"check-{payee[2:10].lower()}"

    def withdraw() -> Tx[int]:
        _after(chain, stk.participant(me.address).release_at)
        return stk.withdraw(me)

    steps: list[tuple[str, Callable[[], Tx[Any]]]] = [
        ("register", lambda: reg.register(me, model, 0)),
        ("publish", lambda: reg.publish(me, model, "bafkreicheckcontent", "bafkreicheckmanifest")),
        ("deprecate", lambda: reg.deprecate(me, model, 0)),
        ("raise_delay", lambda: reg.raise_update_delay(me, model, 60)),
        ("transfer", lambda: reg.transfer(me, model, payee)),
        ("node_register", lambda: stk.register(me, Role.NODE, "https://node.example", [model])),
        ("stake", lambda: stk.stake(me, 2000)),
        ("anchor", lambda: anc.anchor(me, 1, b"\x5a" * 32, 10_000)),
        ("unbond", lambda: stk.unbond(me, 2000)),
        ("open", lambda: chn.open(me, payee, 1000)),
        ("topup", lambda: chn.top_up(me, 1, 500)),
        ("redeem", lambda: chn.redeem(me, chn.sign(me, 1, 300))),
        ("redeem_again", lambda: chn.redeem(me, chn.sign(me, 1, 700))),
        ("close", lambda: chn.start_close(me, 1)),
        ("channel_withdraw", lambda: chn.withdraw(me, 1)),
        ("withdraw", withdraw),
    ]
    for name, step in steps:
        gas[name] = step().gas_used
        if on_step is not None:
            on_step(name, gas[name])
    return gas
