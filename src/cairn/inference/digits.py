"""A tiny handwritten-digit classifier as a cairn model folder, for tests and the zk tier.

Data: scikit-learn's bundled copy of the UCI "Optical Recognition of
Handwritten Digits" set (``load_digits``: 1797 8×8 images, pixel values 0–16;
no download). Model: multinomial logistic regression — one dense layer, which
is what a zkSNARK circuit (EZKL) proves cheaply. The ONNX graph is written by
hand from the fitted coefficients, without skl2onnx::

    pixels float32 [batch, 64]  →  Mul(1/16) → MatMul(W) → Add(b) → logits
    logits → Softmax  →  probabilities float32 [batch, 10]
    logits → ArgMax   →  label int64 [batch]

Training is deterministic (fixed split seed, lbfgs). The policy is a tolerance
on every output: probabilities within 1e-5, labels (integers) exactly equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from cairn.errors import InferenceError
from cairn.inference.base import TensorSpec
from cairn.inference.folder import ModelSpec, write_model_folder

__all__ = ["DIGITS_NAME", "DIGITS_POLICY", "build_digits_classifier", "digits_split"]

DIGITS_NAME = "digits-logreg"
DIGITS_POLICY = {"kind": "tolerance", "atol": 1e-5}
SEED = 0
_OPSET = 17
Arrays = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]


def digits_split() -> Arrays:
    """``(x_train, x_test, y_train, y_test)``: a fixed 75/25 stratified split, pixels as float32."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:  # scikit-learn is a build-time (dev) dependency
        raise InferenceError("building the digits model needs scikit-learn") from exc
    data = load_digits()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    parts = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    return (parts[0], parts[1], parts[2], parts[3])


def build_digits_classifier(out_dir: Path) -> Path:
    """Fit, export and write the folder; returns ``out_dir``."""
    from sklearn.linear_model import LogisticRegression

    x_train, x_test, y_train, y_test = digits_split()
    clf = LogisticRegression(max_iter=2000, C=1.0, random_state=SEED)
    clf.fit(x_train / 16.0, y_train)
    accuracy = float(clf.score(x_test / 16.0, y_test))
    model = _graph(clf.coef_, clf.intercept_)
    spec = ModelSpec(
        name=DIGITS_NAME,
        kind="classifier",
        inputs=(TensorSpec("pixels", "float32", ("batch", 64)),),
        outputs=(
            TensorSpec("probabilities", "float32", ("batch", 10)),
            TensorSpec("label", "int64", ("batch",)),
        ),
        policy=DIGITS_POLICY,
        labels=tuple(str(c) for c in clf.classes_),
        source={
            "builder": "cairn.inference.digits/1",
            "data": "sklearn.datasets.load_digits",
            "split_seed": SEED,
            "test_accuracy": round(accuracy, 6),
        },
    )
    return write_model_folder(out_dir, model.SerializeToString(), spec)


def _graph(coef: npt.NDArray[Any], intercept: npt.NDArray[Any]) -> onnx.ModelProto:
    inits = [
        numpy_helper.from_array(np.array(1.0 / 16.0, dtype=np.float32), "scale"),
        numpy_helper.from_array(np.ascontiguousarray(coef.T, dtype=np.float32), "weight"),
        numpy_helper.from_array(np.asarray(intercept, dtype=np.float32), "bias"),
    ]
    nodes = [
        helper.make_node("Mul", ["pixels", "scale"], ["scaled"], name="scale"),
        helper.make_node("MatMul", ["scaled", "weight"], ["matmul"], name="matmul"),
        helper.make_node("Add", ["matmul", "bias"], ["logits"], name="logits"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
        helper.make_node("ArgMax", ["logits"], ["label"], name="argmax", axis=-1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        DIGITS_NAME,
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 64])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
        ],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="cairn",
        producer_version="cairn.inference.digits/1",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
