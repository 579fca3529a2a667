"""Output-comparison policies: what "the same answer" means for a model.

A validator re-executes a sampled request and must decide whether the node's
output was correct (DESIGN.md, "Verification"). Bit-exact equality is the
strongest test but floating point on another CPU, thread count or library
version rarely reproduces every bit, so a model's manifest declares its policy
(a model card in :mod:`cairn.provenance` holds a :class:`Policy` from this
module: one schema, one parser), and this module applies it:

=========================================  =================================================
``{"kind": "exact"}``                      same names, dtypes, shapes and bytes
``{"kind": "tolerance", "atol": 1e-5}``    ``|a - e| <= atol + rtol·|e|`` (``rtol`` optional, 0)
``{"kind": "ulp", "max_ulp": 4}``          at most ``max_ulp`` representable floats apart
``{"kind": "topk", "k": 5}``               same top-k indices along the last axis, as a set;
                                           ``"ordered": true`` also requires the same order
``{"kind": "cosine", "min": 0.999}``       cosine similarity ≥ ``min`` per row (last axis)
=========================================  =================================================

Shared rules: the expected and actual outputs must name the same tensors with
the same dtypes and shapes (otherwise no policy agrees). Numeric policies treat
NaN as agreeing only with NaN in the same place. Top-k breaks ties by the lower
index (a stable sort), so ties decide the same way on every machine; an honest
node whose k-th and (k+1)-th scores differ by less than its numerical noise can
still be judged wrong — choose ``k`` and the model accordingly. ULP distance
follows Bruce Dawson, "Comparing Floating Point Numbers, 2012 Edition": map
each float's bits to a monotonic integer and subtract; ``+0`` and ``-0`` are 0
apart. ULP suits outputs of one magnitude; near zero a tiny absolute error is
thousands of ULP (MiniLM under ``opt=all`` vs ``opt=basic``: 9e-8 abs, 2424 ULP),
so embeddings declare ``cosine`` and probabilities ``tolerance``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from cairn.errors import InferenceError, did_you_mean
from cairn.inference.tensors import Tensor

__all__ = [
    "Cosine",
    "Exact",
    "Policy",
    "PolicyError",
    "Tolerance",
    "TopK",
    "Ulp",
    "Verdict",
    "parse_policy",
    "parse_policy_text",
]

Tensors = Mapping[str, Tensor]
_FloatArray = npt.NDArray[np.floating[Any]]


class PolicyError(InferenceError, ValueError):
    """A comparison policy dict is malformed."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the outputs agree under the policy, and why (or why not)."""

    agrees: bool
    reason: str

    def __bool__(self) -> bool:
        return self.agrees


class Policy(ABC):
    """One comparison rule. ``agrees`` runs the shared checks, then :meth:`_compare` per tensor."""

    kind: ClassVar[str]

    def agrees(self, expected: Tensors, actual: Tensors) -> Verdict:
        """Compare ``actual`` against ``expected`` tensor by tensor."""
        if set(expected) != set(actual):
            return Verdict(False, f"tensor names differ: {sorted(expected)} vs {sorted(actual)}")
        for name in sorted(expected):
            e, a = expected[name], actual[name]
            if (e.dtype, e.shape) != (a.dtype, a.shape):
                return Verdict(
                    False, f"{name}: {a.dtype}{list(a.shape)}, expected {e.dtype}{list(e.shape)}"
                )
            problem = self._compare(e, a)
            if problem:
                return Verdict(False, f"{name}: {problem}")
        return Verdict(True, f"{self.kind}: {len(expected)} tensor(s) agree")

    @abstractmethod
    def _compare(self, expected: Tensor, actual: Tensor) -> str:
        """ "" when the two tensors (same dtype and shape) agree, else the reason."""

    def to_dict(self) -> dict[str, Any]:
        """The manifest form, optional fields at their defaults left out;
        ``parse_policy(p.to_dict()) == p``."""
        fields = asdict(self)  # type: ignore[call-overload]
        return {"kind": self.kind, **{k: v for k, v in fields.items() if _OPTIONAL.get(k) != v}}


@dataclass(frozen=True, slots=True)
class Exact(Policy):
    kind: ClassVar[str] = "exact"

    def _compare(self, expected: Tensor, actual: Tensor) -> str:
        if expected.data == actual.data:
            return ""
        e, a = expected.data, actual.data
        first = next(i for i in range(len(e)) if e[i] != a[i])
        return f"bytes differ, first at byte {first}"


@dataclass(frozen=True, slots=True)
class Tolerance(Policy):
    atol: float
    rtol: float = 0.0
    kind: ClassVar[str] = "tolerance"

    def _compare(self, expected: Tensor, actual: Tensor) -> str:
        e, a = _numeric(expected), _numeric(actual)
        if nan := _nan_mismatch(e, a):
            return nan
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a - e)
            ok = (diff <= self.atol + self.rtol * np.abs(e)) | (e == a)
        if bool(np.all(ok | np.isnan(e))):
            return ""
        return f"max abs diff {float(np.nanmax(np.where(ok, 0, diff))):.3g} > atol {self.atol:g}"


@dataclass(frozen=True, slots=True)
class Ulp(Policy):
    max_ulp: int
    kind: ClassVar[str] = "ulp"

    def _compare(self, expected: Tensor, actual: Tensor) -> str:
        if expected.dtype not in _ULP_INT:
            return f"ulp comparison needs a float dtype, not {expected.dtype}"
        e, a = expected.to_numpy(), actual.to_numpy()
        if nan := _nan_mismatch(e, a):
            return nan
        dist = np.abs(_ordered(e) - _ordered(a))
        dist[np.isnan(e)] = 0
        worst = int(dist.max()) if dist.size else 0
        return "" if worst <= self.max_ulp else f"{worst} ulp apart > max_ulp {self.max_ulp}"


@dataclass(frozen=True, slots=True)
class TopK(Policy):
    k: int
    ordered: bool = False
    kind: ClassVar[str] = "topk"

    def _compare(self, expected: Tensor, actual: Tensor) -> str:
        if not expected.shape or expected.shape[-1] < self.k:
            return f"top-{self.k} needs a last axis of {self.k} or more: {list(expected.shape)}"
        e, a = self._top(_numeric(expected)), self._top(_numeric(actual))
        if not self.ordered:
            e, a = np.sort(e, axis=-1), np.sort(a, axis=-1)
        bad = np.flatnonzero(np.any(e != a, axis=-1).reshape(-1))
        return "" if bad.size == 0 else f"top-{self.k} indices differ in row {int(bad[0])}"

    def _top(self, x: _FloatArray) -> npt.NDArray[np.intp]:
        # NaN ranks lowest; the stable sort of -x puts the lower index first among ties.
        keyed = np.where(np.isnan(x), np.inf, -x)
        return np.argsort(keyed, axis=-1, kind="stable")[..., : self.k]


@dataclass(frozen=True, slots=True)
class Cosine(Policy):
    min: float
    kind: ClassVar[str] = "cosine"

    def _compare(self, expected: Tensor, actual: Tensor) -> str:
        e, a = _numeric(expected), _numeric(actual)
        if e.ndim == 0:
            e, a = e.reshape(1), a.reshape(1)
        if not bool(np.all(np.isfinite(e)) and np.all(np.isfinite(a))):
            return "cosine needs finite values"
        ne, na = np.linalg.norm(e, axis=-1), np.linalg.norm(a, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.sum(e * a, axis=-1) / (ne * na)
        cos = np.where((ne == 0) & (na == 0), 1.0, np.where((ne == 0) | (na == 0), 0.0, cos))
        worst = float(np.min(cos)) if cos.size else 1.0
        return "" if worst >= self.min else f"cosine {worst:.9f} < min {self.min}"


_ULP_INT = {"float16": np.int16, "float32": np.int32, "float64": np.int64}
_POLICIES: dict[str, type[Policy]] = {p.kind: p for p in (Exact, Tolerance, Ulp, TopK, Cosine)}


def parse_policy(obj: object) -> Policy:
    """A policy from its manifest dict; :class:`PolicyError` says what is wrong."""
    if not isinstance(obj, dict):
        raise PolicyError(f"a policy is an object with a 'kind', got {type(obj).__name__}")
    kind = obj.get("kind")
    cls = _POLICIES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        hint = did_you_mean(kind, _POLICIES) if isinstance(kind, str) else ""
        raise PolicyError(f"unknown policy kind {kind!r}{hint}; known: {', '.join(_POLICIES)}")
    params = {k: v for k, v in obj.items() if k != "kind"}
    return _PARSERS[cls.kind](params)


def _fields(
    params: dict[str, Any],
    required: dict[str, Callable[[Any], bool]],
    optional: dict[str, Callable[[Any], bool]],
    kind: str,
) -> dict[str, Any]:
    unknown = set(params) - set(required) - set(optional)
    missing = set(required) - set(params)
    if unknown or missing:
        raise PolicyError(f"{kind} policy: missing {sorted(missing)}, unknown {sorted(unknown)}")
    for key, value in params.items():
        if not {**required, **optional}[key](value):
            raise PolicyError(f"{kind} policy: invalid {key} {value!r}")
    return params


def _nonneg(v: Any) -> bool:
    return type(v) in (int, float) and bool(np.isfinite(v)) and v >= 0


def _posint(v: Any) -> bool:
    return type(v) is int and v >= 1


def _unit(v: Any) -> bool:
    return type(v) in (int, float) and 0.0 < v <= 1.0


def _count(v: Any) -> bool:
    return type(v) is int and v >= 0


def _flag(v: Any) -> bool:
    return type(v) is bool


_PARSERS: dict[str, Callable[[dict[str, Any]], Policy]] = {
    "exact": lambda p: Exact(**_fields(p, {}, {}, "exact")),
    "tolerance": lambda p: Tolerance(
        **_floats(_fields(p, {"atol": _nonneg}, {"rtol": _nonneg}, "tolerance"))
    ),
    "ulp": lambda p: Ulp(**_fields(p, {"max_ulp": _count}, {}, "ulp")),
    "topk": lambda p: TopK(**_fields(p, {"k": _posint}, {"ordered": _flag}, "topk")),
    "cosine": lambda p: Cosine(**_floats(_fields(p, {"min": _unit}, {}, "cosine"))),
}


_OPTIONAL: dict[str, object] = {"rtol": 0.0, "ordered": False}
_SHORTHAND_KEY = {"tolerance": "atol", "ulp": "max_ulp", "topk": "k", "cosine": "min"}


def parse_policy_text(text: str) -> Policy:
    """A policy from JSON (``{"kind": "ulp", "max_ulp": 4}``) or shorthand (``exact``,
    ``tolerance:1e-5``, ``ulp:4``, ``topk:5``, ``cosine:0.999``), as a command line takes it.

    >>> parse_policy_text("tolerance:1e-5").to_dict()
    {'kind': 'tolerance', 'atol': 1e-05}
    """
    text = text.strip()
    if text.startswith(("{", "[")):
        try:
            return parse_policy(json.loads(text))
        except json.JSONDecodeError as exc:
            raise PolicyError(f"comparison policy is not valid JSON: {exc}") from None
    kind, _, value = text.partition(":")
    if not value:
        return parse_policy({"kind": kind})
    key = _SHORTHAND_KEY.get(kind)
    if key is None:
        raise PolicyError(f"comparison policy {kind!r} takes no value")
    try:
        number: float | int = int(value) if key in ("max_ulp", "k") else float(value)
    except ValueError:
        raise PolicyError(f"comparison policy {text!r}: {value!r} is not a number") from None
    return parse_policy({"kind": kind, key: number})


def _floats(params: dict[str, Any]) -> dict[str, Any]:
    return {k: float(v) for k, v in params.items()}


def _numeric(t: Tensor) -> _FloatArray:
    return t.to_numpy().astype(np.float64)


def _nan_mismatch(e: npt.NDArray[Any], a: npt.NDArray[Any]) -> str:
    if e.dtype.kind != "f":
        return ""
    where = np.flatnonzero((np.isnan(e) != np.isnan(a)).reshape(-1))
    return "" if where.size == 0 else f"NaN in one output only, at flat index {int(where[0])}"


def _ordered(x: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Float bits as integers that are monotonic in the float's value (Dawson)."""
    bits = x.view(_ULP_INT[x.dtype.name]).astype(np.int64)
    top = np.int64(1) << (8 * x.dtype.itemsize - 1)
    return np.where(bits < 0, -(bits + top), bits)
