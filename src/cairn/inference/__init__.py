"""Inference execution: the one layer that is centralized by design.

Models run where compute is cheap (ONNX Runtime on a CPU, deterministic
settings); what makes an answer checkable is defined here and used by the
layers after it: canonical tensors and their hashes (for receipts), comparison
policies (for validators), and a runtime fingerprint (for both).

Public surface:

- :class:`Tensor`, :func:`encode_tensors`, :func:`decode_tensors`, :func:`hash_tensors`,
  :func:`tensors_from_json`, :func:`tensors_to_json` — canonical tensors
- :class:`Policy`, :func:`parse_policy`, :func:`parse_policy_text` (:class:`Exact`,
  :class:`Tolerance`, :class:`Ulp`, :class:`TopK`, :class:`Cosine`), :class:`Verdict` —
  "the same answer", the one schema model cards use
- :class:`Runtime` (the port), :class:`TensorSpec`, :class:`OnnxRuntime`,
  :class:`FakeRuntime`, :class:`WrappedRuntime`, :func:`cpu_features` — running a model
- :class:`ModelSpec`, :class:`Model`, :func:`load_model` (by CID), :func:`load_model_folder`,
  :func:`load_model_files`, :func:`write_model_folder` — the model folder
- :func:`build_minilm`, :class:`Embedder` — all-MiniLM-L6-v2 from the bundled weights
- :func:`build_minilm_int8`, :func:`evaluate_against_base` — its int8 variant, and its quality
  bound against the float32 base
- :func:`digits_folder` (prebuilt, shipped), :func:`digits_samples`,
  :func:`build_digits_classifier` and :func:`digits_split` (training; scikit-learn) — a tiny
  classifier
"""

from __future__ import annotations

import typing as _typing

from cairn._lazy import lazy_attributes as _lazy_attributes

if _typing.TYPE_CHECKING:
    from cairn.inference._fake import FakeRuntime
    from cairn.inference._onnxruntime import OnnxRuntime
    from cairn.inference.base import Runtime, TensorSpec, WrappedRuntime, cpu_features
    from cairn.inference.digits import (
        DIGITS_NAME,
        build_digits_classifier,
        digits_folder,
        digits_samples,
        digits_split,
    )
    from cairn.inference.folder import (
        MODEL_FILE,
        SPEC_FILE,
        TOKENIZER_FILE,
        Model,
        ModelSpec,
        load_model,
        load_model_files,
        load_model_folder,
        write_model_folder,
    )
    from cairn.inference.minilm import MINILM_NAME, Embedder, build_minilm, minilm_source_dir
    from cairn.inference.minilm_int8 import (
        MINILM_INT8_NAME,
        build_minilm_int8,
        evaluate_against_base,
        evaluation_bytes,
    )
    from cairn.inference.policies import (
        Cosine,
        Exact,
        Policy,
        PolicyError,
        Tolerance,
        TopK,
        Ulp,
        Verdict,
        parse_policy,
        parse_policy_text,
    )
    from cairn.inference.tensors import (
        DTYPES,
        Tensor,
        decode_tensors,
        encode_tensors,
        hash_tensors,
        tensors_from_json,
        tensors_to_json,
    )

__all__ = [
    "DIGITS_NAME",
    "DTYPES",
    "MINILM_INT8_NAME",
    "MINILM_NAME",
    "MODEL_FILE",
    "SPEC_FILE",
    "TOKENIZER_FILE",
    "Cosine",
    "Embedder",
    "Exact",
    "FakeRuntime",
    "Model",
    "ModelSpec",
    "OnnxRuntime",
    "Policy",
    "PolicyError",
    "Runtime",
    "Tensor",
    "TensorSpec",
    "Tolerance",
    "TopK",
    "Ulp",
    "Verdict",
    "WrappedRuntime",
    "build_digits_classifier",
    "build_minilm",
    "build_minilm_int8",
    "cpu_features",
    "decode_tensors",
    "digits_folder",
    "digits_samples",
    "digits_split",
    "encode_tensors",
    "evaluate_against_base",
    "evaluation_bytes",
    "hash_tensors",
    "load_model",
    "load_model_files",
    "load_model_folder",
    "minilm_source_dir",
    "parse_policy",
    "parse_policy_text",
    "tensors_from_json",
    "tensors_to_json",
    "write_model_folder",
]

# PEP 562: a name is imported on first use, so importing this package (or one
# of its light modules) does not pull in every backend's third-party library.
_LAZY = {
    "FakeRuntime": "cairn.inference._fake",
    "OnnxRuntime": "cairn.inference._onnxruntime",
    "Runtime": "cairn.inference.base",
    "TensorSpec": "cairn.inference.base",
    "WrappedRuntime": "cairn.inference.base",
    "cpu_features": "cairn.inference.base",
    "DIGITS_NAME": "cairn.inference.digits",
    "build_digits_classifier": "cairn.inference.digits",
    "digits_folder": "cairn.inference.digits",
    "digits_samples": "cairn.inference.digits",
    "digits_split": "cairn.inference.digits",
    "MODEL_FILE": "cairn.inference.folder",
    "SPEC_FILE": "cairn.inference.folder",
    "TOKENIZER_FILE": "cairn.inference.folder",
    "Model": "cairn.inference.folder",
    "ModelSpec": "cairn.inference.folder",
    "load_model": "cairn.inference.folder",
    "load_model_files": "cairn.inference.folder",
    "load_model_folder": "cairn.inference.folder",
    "write_model_folder": "cairn.inference.folder",
    "MINILM_NAME": "cairn.inference.minilm",
    "Embedder": "cairn.inference.minilm",
    "build_minilm": "cairn.inference.minilm",
    "minilm_source_dir": "cairn.inference.minilm",
    "MINILM_INT8_NAME": "cairn.inference.minilm_int8",
    "build_minilm_int8": "cairn.inference.minilm_int8",
    "evaluate_against_base": "cairn.inference.minilm_int8",
    "evaluation_bytes": "cairn.inference.minilm_int8",
    "Cosine": "cairn.inference.policies",
    "Exact": "cairn.inference.policies",
    "Policy": "cairn.inference.policies",
    "PolicyError": "cairn.inference.policies",
    "Tolerance": "cairn.inference.policies",
    "TopK": "cairn.inference.policies",
    "Ulp": "cairn.inference.policies",
    "Verdict": "cairn.inference.policies",
    "parse_policy": "cairn.inference.policies",
    "parse_policy_text": "cairn.inference.policies",
    "DTYPES": "cairn.inference.tensors",
    "Tensor": "cairn.inference.tensors",
    "decode_tensors": "cairn.inference.tensors",
    "encode_tensors": "cairn.inference.tensors",
    "hash_tensors": "cairn.inference.tensors",
    "tensors_from_json": "cairn.inference.tensors",
    "tensors_to_json": "cairn.inference.tensors",
}

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())
