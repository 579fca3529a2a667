"""`cairn up --model all-MiniLM-L6-v2-int8`: the quantized model is published with the
float32 model as its base and a signed evaluation against it, then served."""

from __future__ import annotations

import json
from pathlib import Path

from cairn import content
from cairn.inference import MINILM_INT8_NAME, MINILM_NAME, Embedder
from cairn.node import NodeSettings, bootstrap
from cairn.node.server import free_port
from cairn.provenance import ManifestIndex, lineage, verify


def test_bootstrap_serves_the_int8_model_with_its_lineage(tmp_path: Path) -> None:
    settings = NodeSettings(
        data_dir=tmp_path / "node",
        port=free_port(),
        models=(MINILM_INT8_NAME,),
        batch_size=1000,
        batch_seconds=3600,
    )
    ctx = bootstrap(settings, "int8-test")
    try:
        assert list(ctx.models) == [MINILM_INT8_NAME]
        served = ctx.models[MINILM_INT8_NAME]
        current = ctx.chain.registry.current(MINILM_INT8_NAME)
        assert current is not None and current.content_cid == served.cid
        store, index = ctx.store, ManifestIndex.at(ctx.data_dir)
        card = verify(served.cid, store, index).card
        assert card.policy is not None and card.policy.to_dict()["min"] == 0.9995
        base = verify(str(card.base_model), store, index).card
        assert base.name == MINILM_NAME
        (evaluation,) = card.evaluations
        doc = json.loads(content.read_bytes(content.Cid.parse(evaluation), store))
        assert doc["passed"] and doc["worst_cosine"] >= 0.99 and doc["base"] == MINILM_NAME
        assert verify(evaluation, store, index).card.kind == "dataset"  # signed by the node
        tree = lineage(served.cid, store, index)
        assert tree.ok and tree.parents[0].name == MINILM_NAME
        assert tree.parents[0].parents[0].name == f"{MINILM_NAME}-upstream"
        embedder = Embedder(served.model)
        assert embedder.embed(["where does the trail go?"]).shape == (1, 384)
    finally:
        ctx.close()
