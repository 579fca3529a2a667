"""The digits classifier: accurate, and the hand-built ONNX graph equals scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from cairn.inference import Tensor, build_digits_classifier, digits_split, load_model_folder


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
    x_train, x_test, y_train, _ = digits_split()
    clf = LogisticRegression(max_iter=2000, random_state=0).fit(x_train / 16.0, y_train)
    out = load_model_folder(digits_dir).runtime.run({"pixels": Tensor.from_numpy(x_test)})
    np.testing.assert_array_equal(out["label"].to_numpy(), clf.predict(x_test / 16.0))
    np.testing.assert_allclose(
        out["probabilities"].to_numpy(), clf.predict_proba(x_test / 16.0), atol=1e-5
    )


def test_build_is_deterministic(digits_dir: Path, tmp_path: Path) -> None:
    again = build_digits_classifier(tmp_path / "again")
    for name in ("model.onnx", "cairn-model.json"):
        assert (again / name).read_bytes() == (digits_dir / name).read_bytes()
