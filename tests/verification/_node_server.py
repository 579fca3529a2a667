"""A cairn node serving the digits classifier, with a fault injected by the test.

Usage: ``_node_server.py DATA_DIR CHAIN_URL PORT KEY_HEX FAULT``; FAULT is one of
honest, wrong, other-model, cached, refuses. The contracts must already be
recorded in DATA_DIR for CHAIN_URL, and the key funded. Composes the node from
the public pieces (bootstrap would also publish MiniLM, and registers model
names once per chain), then serves the real gateway.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from cairn import content
from cairn.chain import Role, connect
from cairn.config import DataDir
from cairn.identity import LocalSigner
from cairn.inference import (
    DIGITS_NAME,
    SPEC_FILE,
    ModelSpec,
    OnnxRuntime,
    build_digits_classifier,
    load_model,
    parse_policy,
)
from cairn.inference.digits import _graph, digits_split
from cairn.node import NodeContext, NodeSettings, ServedModel, serve
from cairn.provenance import Card, ManifestIndex, publish
from cairn.receipts import Batcher, ReceiptDomain, SqliteReceiptStore
from cairn.testing import Cached, OtherModel, RefusingStore, WrongSometimes


def _other_runtime() -> OnnxRuntime:
    from sklearn.linear_model import LogisticRegression

    x, _xt, y, _yt = digits_split()
    clf = LogisticRegression(max_iter=50, C=0.01).fit(x[:300] / 16.0, y[:300])
    return OnnxRuntime(_graph(clf.coef_, clf.intercept_).SerializeToString())


def main() -> None:
    root, url, port, key, fault = sys.argv[1:6]
    dd = DataDir(Path(root)).ensure()
    chain = connect(url, dd)
    signer = LocalSigner.from_hex(key)
    store = content.open_blockstore(dd)
    folder = build_digits_classifier(dd.root / "models" / DIGITS_NAME)
    policy = dict(ModelSpec.from_bytes((folder / SPEC_FILE).read_bytes()).policy)
    card = Card("model", DIGITS_NAME, "1", "Apache-2.0", policy=parse_policy(policy))
    pub = publish(folder, card, signer, store, ManifestIndex(dd.root / "provenance" / "index.json"))
    model = load_model(pub.artifact_cid, store)
    wrappers = {
        "honest": lambda r: r,
        "wrong": WrongSometimes,
        "cached": Cached,
        "refuses": lambda r: r,
        "other-model": lambda r: OtherModel(r, _other_runtime()),
    }
    model = replace(model, runtime=wrappers[fault](model.runtime))
    envelope = json.loads(content.read_bytes(pub.manifest_cid, store))
    served = ServedModel(
        DIGITS_NAME, str(pub.artifact_cid), str(pub.manifest_cid), 1, model, policy, envelope
    )
    s = NodeSettings(data_dir=dd.root, chain=url, port=int(port), batch_size=20, batch_seconds=0.5)
    if chain.staking.participant(signer.address).role is None:
        chain.staking.register(signer, Role.NODE, f"http://{s.host}:{s.port}", [DIGITS_NAME])
        chain.staking.stake(signer, 2 * 10**18)
    store_cls = RefusingStore if fault == "refuses" else SqliteReceiptStore
    receipts = store_cls(dd.node / "receipts.sqlite")
    lock = threading.Lock()

    def anchor(batch_id: int, root_hash: bytes, count: int) -> None:
        with lock:
            chain.anchor.anchor(signer, batch_id, root_hash, count)

    batcher = Batcher(receipts, anchor, max_receipts=s.batch_size, max_age_s=s.batch_seconds)
    domain = ReceiptDomain(chain.chain_id, chain.deployment.anchor)
    ctx = NodeContext(
        s, dd, chain, lock, signer, store, {DIGITS_NAME: served}, receipts, batcher, domain
    )
    _ = np
    serve(ctx, on_ready=lambda u: print(f"READY {u}", flush=True))


if __name__ == "__main__":
    main()
