"""``Chain.deploy`` and x402 batch-settlement, cairn's one channel design.

A development chain gets the contracts at their canonical addresses from every
deploy (a fresh one, or a recorded one that predates them); on a chain where code
cannot be placed nothing is tried, and only using batch-settlement says it is
missing.
"""

from __future__ import annotations

import pytest

from cairn.chain import batch, connect
from cairn.chain.check import BATCH_OPERATIONS
from cairn.cli.main import main
from cairn.errors import NotDeployed


def test_every_deploy_on_a_dev_chain_places_batch_settlement(data_dir, monkeypatch):
    c = connect("embedded://", data_dir)
    dev = c.dev_keys()[0]
    monkeypatch.setattr(c, "dev_keys", lambda: [])  # as a chain that places no code
    c.deploy(dev)
    with pytest.raises(
        NotDeployed, match=f"no BatchSettlement at {batch.BATCH_SETTLEMENT_ADDRESS}"
    ):
        batch.canonical(c)
    monkeypatch.undo()
    c.deploy(dev)  # the recorded deployment: nothing redeployed, batch-settlement added
    assert batch.canonical(c).address == batch.BATCH_SETTLEMENT_ADDRESS
    c.deploy(dev)  # idempotent


def test_the_check_skips_batch_settlement_where_it_is_not(monkeypatch, capsys, data_dir):
    def absent(chain: object) -> None:
        raise NotDeployed("no BatchSettlement here")

    monkeypatch.setattr(batch, "canonical", absent)
    assert main(["--data-dir", str(data_dir), "chain", "check"]) == 0
    out, err = capsys.readouterr()
    assert f"{', '.join(BATCH_OPERATIONS)} skipped" in out
    assert "anchor" in err and "deposit" not in err
