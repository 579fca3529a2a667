"""Disputes' constructor refuses parameters that would break its guarantees."""

from __future__ import annotations

import dataclasses

import pytest

from cairn.chain import DisputeParams
from cairn.errors import ContractRevert


def reverts(reason: str) -> str:
    """A reason this file trips (the revert-coverage test reads ``reverts("…")`` calls)."""
    return reason


BAD = [
    ({"slash_bps": 10_001}, reverts("bps over 10000")),
    ({"reward_bps": 9000, "juror_reward_bps": 1001}, reverts("bps over 10000")),
    ({"committee_size": 0}, reverts("bad committee size")),
    ({"committee_size": 16}, reverts("bad committee size")),
    ({"audit_rate_ppm": 1_000_001}, reverts("rate over 1")),
    ({"activation_blocks": 256}, reverts("activation shorter than the seed window")),
    ({"leave_delay": 3 * 3600}, reverts("leave delay shorter than a dispute")),
]


@pytest.mark.parametrize(("change", "reason"), BAD)
def test_bad_dispute_params_are_refused(chain, change, reason):
    dev = chain.dev_keys()[0]
    d = chain.deployment
    params = dataclasses.replace(DisputeParams(), **change)
    with pytest.raises(ContractRevert, match=reason):
        chain._create(dev, "Disputes", d.staking, d.anchor, *params.args())


def test_default_params_deploy_and_read_back(chain):
    dev = chain.dev_keys()[0]
    d = chain.deployment
    address, _ = chain._create(dev, "Disputes", d.staking, d.anchor, *DisputeParams().args())
    from cairn.chain import Disputes

    deployed = chain._at(Disputes, address)
    assert deployed.params() == DisputeParams()
    assert deployed.max_dispute_duration() == DisputeParams().max_dispute_duration
