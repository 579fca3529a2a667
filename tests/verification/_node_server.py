"""A cairn node serving the digits classifier, with a fault injected by the test.

Usage: ``_node_server.py DATA_DIR CHAIN_URL PORT KEY_HEX FAULT``; FAULT is one of
honest, wrong, other-model, cached, refuses, unlisted. The contracts must already be
recorded in DATA_DIR for CHAIN_URL, and the key funded. The node is composed by
:func:`cairn.node.bootstrap` exactly as ``cairn up --model digits-logreg`` does
(the key imported as the node wallet); then the fault double from
:mod:`cairn.testing` replaces the served runtime, or the store the gateway reads.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from cairn.config import DataDir
from cairn.identity import WalletStore
from cairn.inference import DIGITS_NAME, OnnxRuntime
from cairn.inference.digits import _graph, digits_split
from cairn.node import NodeSettings, bootstrap, serve
from cairn.testing import Cached, OtherModel, RefusingStore, UnlistingStore, WrongSometimes

PASSPHRASE = "adversarial-test-only"


def _other_runtime() -> OnnxRuntime:
    from sklearn.linear_model import LogisticRegression

    x, _xt, y, _yt = digits_split()
    clf = LogisticRegression(max_iter=50, C=0.01).fit(x[:300] / 16.0, y[:300])
    return OnnxRuntime(_graph(clf.coef_, clf.intercept_).SerializeToString())


def main() -> None:
    root, url, port, key, fault = sys.argv[1:6]
    dd = DataDir(Path(root)).ensure()
    wallets = WalletStore(dd.keystore)
    if "node" not in {w.name for w in wallets.list()}:
        wallets.import_key("node", key, PASSPHRASE)
    settings = NodeSettings(
        data_dir=dd.root,
        chain=url,
        port=int(port),
        models=(DIGITS_NAME,),
        batch_size=20,
        batch_seconds=0.5,
        stake_wei=2 * 10**18,
    )
    ctx = bootstrap(settings, PASSPHRASE)
    wrappers = {
        "wrong": WrongSometimes,
        "cached": Cached,
        "other-model": lambda r: OtherModel(r, _other_runtime()),
    }
    served = ctx.models[DIGITS_NAME]
    if fault in wrappers:
        served.model = replace(served.model, runtime=wrappers[fault](served.model.runtime))
    if fault == "refuses":  # the gateway reads a store that has "lost" every retained input
        ctx.receipts = RefusingStore(dd.receipts_db)
    if fault == "unlisted":  # it lists no batch, over HTTP or onchain
        ctx.receipts = UnlistingStore(dd.receipts_db)
    serve(ctx, on_ready=lambda u: print(f"READY {u}", flush=True))


if __name__ == "__main__":
    main()
