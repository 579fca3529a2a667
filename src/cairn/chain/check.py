"""Try a chain before trusting it: deploy a fresh set and run every operation once.

``cairn chain check`` and ``bench/gas.py`` run this. The contracts are deployed
unrecorded, with zero delays and tiny minimums, so every path — including
withdrawing after an unbonding delay — completes on a real chain where time
cannot be moved. Its Disputes contract (Staking's slasher, with zero windows) is
deployed with the rest; the unbonding delay is one second, the least Staking
accepts over a zero-length dispute, and the check waits it out.

A payment channel is x402 batch-settlement's (:mod:`cairn.chain.batch`): one
deposit through the EIP-3009 collector, one claim of one channel, one settle, in
the deployment's own CairnUSD. They run where the canonical contracts are (every
development chain: ``deploy`` places them); elsewhere, without them, they are
skipped (:data:`BATCH_OPERATIONS` says which).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cairn.chain import batch
from cairn.chain._tx import Tx
from cairn.chain.client import Chain, DeployParams
from cairn.chain.disputes import DisputeParams
from cairn.chain.staking import Role
from cairn.errors import NotDeployed
from cairn.identity import LocalSigner, Signer

__all__ = ["BATCH_OPERATIONS", "CHECK_DISPUTES", "CHECK_PARAMS", "run_check"]

CHECK_PARAMS = DeployParams(min_node_stake=1000, min_validator_stake=1000, unbonding_delay=1)
BATCH_OPERATIONS = ("deposit", "claim", "settle")
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

    chain.deploy(me, CHECK_PARAMS, record=False, disputes=CHECK_DISPUTES)
    for name, used in chain.deploy_gas.items():
        gas[f"deploy_{name}"] = used
    reg, stk, anc = chain.contracts
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
        *_channel_steps(chain, me, payee),
        ("withdraw", withdraw),
    ]
    for name, step in steps:
        gas[name] = step().gas_used
        if on_step is not None:
            on_step(name, gas[name])
    return gas


def _channel_steps(chain: Chain, me: Signer, payee: str) -> list[tuple[str, Callable[[], Tx[Any]]]]:
    """Deposit, claim and settle one channel paying ``payee`` (``me`` pays and, as its
    receiverAuthorizer, signs the claim); none where batch-settlement is not deployed.

    The payee is a live node, as the other steps' accounts are: it holds the token and
    has claimed another channel before, so no step pays for a storage slot's first
    write (about 17 000 gas each, once per receiver and token).
    """
    try:
        settlement = batch.canonical(chain)
    except NotDeployed:
        return []
    chain.token.mint(me, me.address, 2000)
    chain.token.mint(me, payee, 1)
    warm, config = (_config(chain, me, payee, salt) for salt in (b"\1" * 32, b"\2" * 32))
    _deposit(chain, settlement, me, warm)()
    _claim(chain, settlement, me, warm)()
    return [
        ("deposit", _deposit(chain, settlement, me, config)),
        ("claim", _claim(chain, settlement, me, config)),
        ("settle", lambda: settlement.settle(me, payee, chain.token.address)),
    ]


def _config(chain: Chain, me: Signer, payee: str, salt: bytes) -> batch.ChannelConfig:
    return batch.ChannelConfig(
        payer=me.address,
        payer_authorizer=me.address,
        receiver=payee,
        receiver_authorizer=me.address,
        token=chain.token.address,
        salt=salt,
    )


def _deposit(
    chain: Chain, settlement: batch.BatchSettlement, me: Signer, config: batch.ChannelConfig
) -> Callable[[], Tx[int]]:
    def deposit() -> Tx[int]:
        before = chain.now() + 3600
        domain = chain.token.domain()
        return settlement.deposit_eip3009(me, me, config, 1000, domain, valid_before=before)

    return deposit


def _claim(
    chain: Chain, settlement: batch.BatchSettlement, me: Signer, config: batch.ChannelConfig
) -> Callable[[], Tx[int]]:
    cid = batch.channel_id(config, chain.chain_id, settlement.address)
    voucher = batch.sign_voucher(me, cid, 300, chain.chain_id, settlement.address)
    claims = [batch.VoucherClaim(config, 300, voucher, 300)]

    def claim() -> Tx[int]:
        signature = batch.sign_claim_batch(me, claims, chain.chain_id, settlement.address)
        return settlement.claim_with_signature(me, claims, signature)

    return claim
