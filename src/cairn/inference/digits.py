"""A tiny handwritten-digit classifier as a cairn model folder, for tests and the zk tier.

Data: scikit-learn's bundled copy of the UCI "Optical Recognition of
Handwritten Digits" set (``load_digits``: 1797 8×8 images, pixel values 0–16;
no download). Model: multinomial logistic regression — one dense layer, which
is what a zkSNARK circuit (EZKL) proves cheaply. The ONNX graph is written by
hand from the fitted coefficients, without skl2onnx::

    pixels float32 [batch, 64]  →  Mul(1/16) → MatMul(W) → Add(b) → logits
    logits → Softmax  →  probabilities float32 [batch, 10]
    logits → ArgMax   →  label int64 [batch]

The policy is a tolerance on every output: probabilities within 1e-5, labels
(integers) exactly equal.

The model ships prebuilt, as package data: :func:`digits_folder` is the folder
(about 4 KB), so serving it needs neither scikit-learn nor training, and its
CID is the same on every machine. :func:`digits_samples` holds the first rows
of the held-out split, for demos and zk calibration. Both were written once by
``python tools/build_digits.py`` (``--check`` rebuilds and compares), which
calls :func:`build_digits_classifier`: the deterministic training (fixed split
seed, lbfgs) that needs scikit-learn, a development dependency — as does
:func:`digits_split`, the full dataset, for tests.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cairn.errors import InferenceError
from cairn.inference.base import TensorSpec
from cairn.inference.folder import ModelSpec, write_model_folder

if TYPE_CHECKING:
    import onnx

__all__ = [
    "DIGITS_NAME",
    "DIGITS_POLICY",
    "build_digits_classifier",
    "digits_folder",
    "digits_samples",
    "digits_split",
]

DIGITS_NAME = "digits-logreg"
DIGITS_POLICY = {"kind": "tolerance", "atol": 1e-5}
SEED = 0
_OPSET = 17
Arrays = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]
#: Where the prebuilt folder and the samples ship, inside this package.
BUNDLED = "bundled"
SAMPLES_FILE = "digits-samples.json"
_DEV = "pip install 'cairn[dev]'"


def digits_folder() -> Path:
    """The prebuilt model folder shipped with cairn (``model.onnx``, ``cairn-model.json``)."""
    return Path(str(importlib.resources.files("cairn.inference"))) / BUNDLED / DIGITS_NAME


def digits_samples() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``(x, y)``: the first rows of the held-out split (float32 ``[n, 64]``, labels ``[n]``)."""
    path = digits_folder().parent / SAMPLES_FILE
    doc = json.loads(path.read_bytes())
    return np.asarray(doc["x"], dtype=np.float32), np.asarray(doc["y"], dtype=np.int64)


def digits_split() -> Arrays:
    """``(x_train, x_test, y_train, y_test)``: a fixed 75/25 stratified split, pixels as float32."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:  # scikit-learn is a development dependency
        raise InferenceError(f"the digits dataset needs scikit-learn: {_DEV}") from exc
    data = load_digits()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    parts = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    return (parts[0], parts[1], parts[2], parts[3])


def build_digits_classifier(out_dir: Path) -> Path:
    """Fit, export and write the folder; returns ``out_dir`` (build time: needs scikit-learn)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise InferenceError(f"training the digits model needs scikit-learn: {_DEV}") from exc

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
    import onnx  # build-time only: serving needs ONNX Runtime, not onnx
    from onnx import TensorProto, helper, numpy_helper

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
