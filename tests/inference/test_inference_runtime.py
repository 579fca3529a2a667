"""The runtime port, its two backends, the model folder and loading by CID."""

from __future__ import annotations

import ast
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cairn.inference
from cairn.content import MemoryBlockstore, add_bytes, add_path
from cairn.content.cid import Cid
from cairn.errors import InferenceError, ModelNotFound, TensorError
from cairn.inference import (
    Embedder,
    FakeRuntime,
    ModelSpec,
    OnnxRuntime,
    Runtime,
    Tensor,
    TensorSpec,
    Tolerance,
    cpu_features,
    digits_split,
    hash_tensors,
    load_model,
    load_model_folder,
    parse_policy,
)

SRC = Path(cairn.inference.__file__).parent


def pixels(n: int = 5) -> dict[str, Tensor]:
    return {"pixels": Tensor.from_numpy(digits_split()[1][:n])}


def test_public_surface_is_what_all_says() -> None:
    for name in cairn.inference.__all__:
        assert hasattr(cairn.inference, name), name
    exported = {n for n in dir(cairn.inference) if not n.startswith("_")}
    modules = {"base", "digits", "folder", "minilm", "minilm_int8", "policies", "tensors"}
    assert exported - set(cairn.inference.__all__) - modules == {"annotations"}


def test_only_the_backend_imports_onnxruntime() -> None:
    for path in SRC.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        uses_ort = any(n.split(".")[0] == "onnxruntime" for n in names)
        assert uses_ort == (path.name == "_onnxruntime.py"), path.name


def test_fake_runtime_checks_inputs_once_for_every_backend() -> None:
    rt = FakeRuntime(
        lambda a: {"y": a["x"].sum(axis=-1)},
        [TensorSpec("x", "float32", ("batch", 3))],
        [TensorSpec("y", "float32", ("batch",))],
    )
    y = rt.run({"x": Tensor.from_numpy(np.ones((2, 3), np.float32))})["y"]
    assert y.to_numpy().tolist() == [3.0, 3.0] and rt.calls == 1
    with pytest.raises(TensorError, match="expected \\['x'\\]"):
        rt.run({"z": y})
    with pytest.raises(TensorError, match="dtype float64, expected float32"):
        rt.run({"x": Tensor.from_numpy(np.ones((2, 3)))})
    with pytest.raises(TensorError, match="shape \\[2, 4\\], expected \\['batch', 3\\]"):
        rt.run({"x": Tensor.from_numpy(np.ones((2, 4), np.float32))})
    assert rt.calls == 1
    assert rt.fingerprint.startswith("cairn-fake/1")


def test_fake_runtime_missing_output() -> None:
    rt = FakeRuntime(
        lambda a: {}, [TensorSpec("x", "int64", (None,))], [TensorSpec("y", "int64", (None,))]
    )
    with pytest.raises(InferenceError, match="no output 'y'"):
        rt.run({"x": Tensor.from_numpy(np.ones(1, np.int64))})


def test_cpu_features_names_the_arch() -> None:
    arch, _, flags = cpu_features().partition(":")
    assert arch and all(f.isidentifier() for f in flags.split(",") if f)


def test_onnx_runtime_fingerprint_and_signature(digits_dir: Path) -> None:
    rt = OnnxRuntime((digits_dir / "model.onnx").read_bytes(), threads=2, opt_level="disabled")
    assert isinstance(rt, Runtime)
    fp = rt.fingerprint
    for part in ("onnxruntime/", f"cpu={cpu_features()}", "intra=2", "inter=1", "opt=disabled"):
        assert part in fp
    assert [s.to_json() for s in rt.inputs] == [
        {"name": "pixels", "dtype": "float32", "shape": ["batch", 64]}
    ]
    assert [s.name for s in rt.outputs] == ["probabilities", "label"]


def test_onnx_runtime_rejects_bad_settings_and_bytes() -> None:
    with pytest.raises(InferenceError, match="threads"):
        OnnxRuntime(b"", threads=0)
    with pytest.raises(InferenceError, match="opt_level"):
        OnnxRuntime(b"", opt_level="max")
    with pytest.raises(InferenceError, match="cannot load the model"):
        OnnxRuntime(b"not an onnx model")


def test_onnx_runtime_is_deterministic(digits_dir: Path) -> None:
    rt = load_model_folder(digits_dir).runtime
    first, second = rt.run(pixels(50)), rt.run(pixels(50))
    assert hash_tensors(first) == hash_tensors(second)
    again = load_model_folder(digits_dir).runtime.run(pixels(50))
    assert hash_tensors(again) == hash_tensors(first)


def test_minilm_is_bitwise_deterministic(embedder: Embedder, minilm_dir: Path) -> None:
    texts = ["the same input", "gives the same bytes, twice", ""]
    inputs, first = embedder.run(texts)
    _, second = embedder.run(texts)
    assert first["sentence_embedding"].data == second["sentence_embedding"].data
    fresh = load_model_folder(minilm_dir).runtime.run(inputs)
    assert hash_tensors(fresh) == hash_tensors(first)


def test_load_model_by_directory_cid(digits_dir: Path) -> None:
    store = MemoryBlockstore()
    cid = add_path(digits_dir, store)
    model = load_model(str(cid), store)
    assert model.cid == cid and model.spec.kind == "classifier"
    assert model.spec.labels == tuple("0123456789")
    local = load_model_folder(digits_dir).runtime.run(pixels())
    assert hash_tensors(model.runtime.run(pixels())) == hash_tensors(local)


def test_load_model_by_bare_file_cid(digits_dir: Path) -> None:
    store = MemoryBlockstore()
    cid = add_bytes((digits_dir / "model.onnx").read_bytes(), store)
    model = load_model(cid, store)
    assert model.spec.kind == "generic" and model.spec.policy == {"kind": "exact"}
    assert model.tokenizer_json is None
    assert [s.name for s in model.spec.inputs] == ["pixels"]


def test_load_model_unknown_cid_and_missing_graph(tmp_path: Path) -> None:
    store = MemoryBlockstore()
    with pytest.raises(ModelNotFound):
        load_model(Cid.of(b"nothing here"), store)
    (tmp_path / "cairn-model.json").write_text("{}")
    with pytest.raises(ModelNotFound, match=r"model\.onnx"):
        load_model(add_path(tmp_path, store), store)
    with pytest.raises(ModelNotFound):
        load_model_folder(tmp_path)


def test_spec_must_match_the_graph(digits_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(digits_dir, folder)
    spec = json.loads((folder / "cairn-model.json").read_text())
    spec["inputs"][0]["name"] = "image"
    (folder / "cairn-model.json").write_text(json.dumps(spec))
    with pytest.raises(InferenceError, match="declares"):
        load_model_folder(folder)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"format": "cairn-model/v0"}, "not cairn-model/v1"),
        ({"kind": "llm"}, "kind 'llm'"),
        ({"policy": {"kind": "cosine"}}, "missing \\['min'\\]"),
        ({"inputs": [{"name": "x"}]}, "tensor spec"),
        ({"name": None, "inputs": None}, "invalid cairn-model.json"),
        ({"max_length": "256"}, "max_length"),
        ({"policy": ["exact"]}, "policy must be an object"),
    ],
)
def test_model_spec_validation(digits_dir: Path, patch: dict[str, Any], message: str) -> None:
    obj = {**json.loads((digits_dir / "cairn-model.json").read_text()), **patch}
    with pytest.raises(InferenceError, match=message):
        ModelSpec.from_bytes(json.dumps(obj).encode())


def test_model_spec_bytes_are_canonical(digits_dir: Path) -> None:
    raw = (digits_dir / "cairn-model.json").read_bytes()
    assert ModelSpec.from_bytes(raw).to_bytes() == raw
    assert raw.endswith(b"}\n")


def test_minilm_policy_tolerates_another_runtime_config(
    embedder: Embedder, minilm_dir: Path
) -> None:
    """A validator whose fingerprint differs (here: all graph fusions on) still agrees
    under the model's declared policy, though not bit for bit."""
    inputs, expected = embedder.run(["A man is eating food.", "word " * 300])
    other = load_model_folder(minilm_dir, opt_level="all").runtime
    assert other.fingerprint != embedder.model.runtime.fingerprint
    actual = other.run(inputs)
    assert parse_policy(dict(embedder.model.spec.policy)).agrees(expected, actual)
    assert Tolerance(1e-6).agrees(expected, actual)


def _fake_digits() -> FakeRuntime:
    def fn(a: Any) -> dict[str, Any]:
        logits = a["pixels"][:, :10]
        return {
            "probabilities": logits / max(float(logits.sum()), 1.0),
            "label": logits.argmax(axis=-1),
        }

    return FakeRuntime(
        fn,
        [TensorSpec("pixels", "float32", ("batch", 64))],
        [
            TensorSpec("probabilities", "float32", ("batch", 10)),
            TensorSpec("label", "int64", ("batch",)),
        ],
    )


@pytest.fixture(params=["fake", "onnxruntime"])
def runtime(request: pytest.FixtureRequest, digits_dir: Path) -> Runtime:
    if request.param == "fake":
        return _fake_digits()
    return load_model_folder(digits_dir).runtime


class TestRuntimeConformance:
    """The same behaviour from every backend of the port (STYLE.md: one suite per port)."""

    def test_outputs_follow_the_declared_signature(self, runtime: Runtime) -> None:
        out = runtime.run(pixels(3))
        assert list(out) == [s.name for s in runtime.outputs]
        for spec in runtime.outputs:
            spec.check(out[spec.name])
        assert out["label"].shape == (3,)

    def test_repeatable(self, runtime: Runtime) -> None:
        assert hash_tensors(runtime.run(pixels(7))) == hash_tensors(runtime.run(pixels(7)))

    @pytest.mark.parametrize(
        "inputs",
        [
            {},
            {"image": Tensor.from_numpy(np.zeros((1, 64), np.float32))},
            {"pixels": Tensor.from_numpy(np.zeros((1, 64), np.float64))},
            {"pixels": Tensor.from_numpy(np.zeros((1, 63), np.float32))},
            {"pixels": Tensor.from_numpy(np.zeros(64, np.float32))},
        ],
    )
    def test_bad_inputs_raise_tensor_error(self, runtime: Runtime, inputs: Any) -> None:
        with pytest.raises(TensorError):
            runtime.run(inputs)

    def test_fingerprint_is_one_line(self, runtime: Runtime) -> None:
        assert runtime.fingerprint and "\n" not in runtime.fingerprint


_spec_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "kind",
                    "inputs",
                    "outputs",
                    "policy",
                    "format",
                    "dtype",
                    "shape",
                    "max_length",
                    "labels",
                    "min",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(_spec_json)
def test_model_spec_garbage_raises_only_inference_errors(obj: object) -> None:
    if isinstance(obj, dict):
        obj = {"format": "cairn-model/v1", **obj}
    with contextlib.suppress(InferenceError):
        ModelSpec.from_bytes(json.dumps(obj).encode())
