"""A node signs only what it can post onchain: inputs over ``Disputes.MAX_INPUT`` are
refused, and the models it serves are registered by CID (what ``challengeModel`` reads)."""

from __future__ import annotations

from cairn.chain.challenges import MAX_INPUT
from cairn.receipts import wire


def test_an_input_over_the_onchain_bound_is_refused_before_it_is_signed(node, client):
    model = next(m.name for m in node.ctx.models.values() if m.embedder is not None)
    fits = "a" * 1000
    over = "a" * MAX_INPUT  # plus the wire header: over the bound
    assert len(wire.text_call([fits]).input_bytes) <= MAX_INPUT
    assert len(wire.text_call([over]).input_bytes) > MAX_INPUT
    assert client.post("/v1/embeddings", json={"model": model, "input": fits}).status_code == 200
    refused = client.post("/v1/embeddings", json={"model": model, "input": over})
    assert refused.status_code == 413, refused.text
    assert "over 16384" in refused.text


def test_the_node_registers_the_cids_it_serves(node):
    staking, me = node.ctx.chain.staking, node.ctx.signer.address
    for served in node.ctx.models.values():
        since, until = staking.registered_for(me, served.cid)
        assert since > 0 and until == 0, served.name
