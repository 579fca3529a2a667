"""The digits classifier: shipped prebuilt, accurate, equal to scikit-learn, and rebuildable.

The folder ships as package data (``tools/build_digits.py`` wrote it; its
``--check`` compares a rebuild byte for byte); these tests hold it to the
training that made it: a rebuild gives the same spec and the same answers, and
two rebuilds give the same bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from cairn import content
from cairn.inference import (
    Tensor,
    build_digits_classifier,
    digits_folder,
    digits_samples,
    digits_split,
    load_model_folder,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CID = "bafybeiaolq6ibn3w4gco3gvddmrgjkwfpgaobbnl2slfkv3mtzcajqz7ni"


def test_folder_and_contract(digits_dir: Path) -> None:
    assert sorted(p.name for p in digits_dir.iterdir()) == ["cairn-model.json", "model.onnx"]
    spec = json.loads((digits_dir / "cairn-model.json").read_text())
    assert spec["kind"] == "classifier" and spec["labels"] == list("0123456789")
    assert spec["policy"] == {"kind": "tolerance", "atol": 1e-5}
    # one dense layer: small enough for a zk circuit later
    assert (digits_dir / "model.onnx").stat().st_size < 4096


def test_held_out_accuracy_above_90_percent(digits_dir: Path) -> None:
    _, x_test, _, y_test = digits_split()
    out = load_model_folder(digits_dir).runtime.run({"pixels": Tensor.from_numpy(x_test)})
    labels, probs = out["label"].to_numpy(), out["probabilities"].to_numpy()
    assert (labels == y_test).mean() > 0.9
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs.argmax(axis=1) == labels).all()


def test_onnx_equals_sklearn(digits_dir: Path) -> None:
    """The shipped graph computes exactly what scikit-learn's LogisticRegression computes
    with the same weights (read back from the graph), and those weights are what
    training gives today, up to the fit's own tolerance: lbfgs stops at ``tol`` 1e-4,
    and where it stops moves with the scipy, numpy and BLAS of the day (seen: up to
    0.009 in a probability, never a label)."""
    import onnx
    from onnx import numpy_helper

    x_train, x_test, y_train, _ = digits_split()
    graph = onnx.load(str(digits_dir / "model.onnx")).graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    same = LogisticRegression()
    same.classes_ = np.arange(10)
    same.coef_ = weights["weight"].T.astype(np.float64)
    same.intercept_ = weights["bias"].astype(np.float64)
    out = load_model_folder(digits_dir).runtime.run({"pixels": Tensor.from_numpy(x_test)})
    np.testing.assert_array_equal(out["label"].to_numpy(), same.predict(x_test / 16.0))
    np.testing.assert_allclose(
        out["probabilities"].to_numpy(), same.predict_proba(x_test / 16.0), atol=1e-5
    )
    trained = LogisticRegression(max_iter=2000, random_state=0).fit(x_train / 16.0, y_train)
    np.testing.assert_array_equal(out["label"].to_numpy(), trained.predict(x_test / 16.0))
    np.testing.assert_allclose(
        out["probabilities"].to_numpy(), trained.predict_proba(x_test / 16.0), atol=0.02
    )


def test_a_rebuild_matches_the_shipped_model(digits_dir: Path, tmp_path: Path) -> None:
    """Same contract (held-out accuracy included) and the same answers; bytes may differ only
    where another scikit-learn or BLAS rounds the fitted weights differently."""
    again = build_digits_classifier(tmp_path / "again")
    shipped = json.loads((digits_dir / "cairn-model.json").read_text())
    assert json.loads((again / "cairn-model.json").read_text()) == shipped
    x_test = digits_split()[1]
    mine = load_model_folder(again).runtime.run({"pixels": Tensor.from_numpy(x_test)})
    theirs = load_model_folder(digits_dir).runtime.run({"pixels": Tensor.from_numpy(x_test)})
    np.testing.assert_array_equal(mine["label"].to_numpy(), theirs["label"].to_numpy())
    np.testing.assert_allclose(  # the fit's tolerance: see test_onnx_equals_sklearn
        mine["probabilities"].to_numpy(), theirs["probabilities"].to_numpy(), atol=0.02
    )


def test_build_is_deterministic(tmp_path: Path) -> None:
    one, two = (build_digits_classifier(tmp_path / n) for n in ("one", "two"))
    for name in ("model.onnx", "cairn-model.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes()


def test_the_shipped_cid_is_fixed() -> None:
    """Every node serves these bytes, so one CID; a new build is a new model (update this)."""
    cid = content.add_path(digits_folder(), content.MemoryBlockstore())
    assert str(cid) == SHIPPED_CID


def test_samples_are_the_held_out_rows() -> None:
    x, y = digits_samples()
    _, x_test, _, y_test = digits_split()
    assert x.dtype == np.float32 and x.shape == (32, 64) and y.shape == (32,)
    np.testing.assert_array_equal(x, x_test[:32])
    np.testing.assert_array_equal(y, y_test[:32])


def test_serving_it_needs_no_scikit_learn(tmp_path: Path) -> None:
    """Load and run the shipped model in a process where scikit-learn cannot be imported."""
    blocker = tmp_path / "sklearn"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('scikit-learn is not installed')\n")
    code = (
        "from cairn.inference import Tensor, digits_folder, digits_samples, load_model_folder\n"
        "out = load_model_folder(digits_folder()).runtime.run("
        "{'pixels': Tensor.from_numpy(digits_samples()[0])})\n"
        "print(int((out['label'].to_numpy() == digits_samples()[1]).sum()))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 30  # of 32 held-out rows
