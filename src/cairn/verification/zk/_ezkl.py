"""The EZKL backend of the zk tier: the only module of cairn that imports ``ezkl``.

EZKL (https://docs.ezkl.xyz) turns an ONNX graph into a Halo2 circuit over
BN254 with KZG commitments. Its Python API is file based, so every call here
runs in a temporary directory and trades in bytes. Settings are pinned (no
calibration): batch 1, inputs and outputs public, weights fixed columns (so
the verifying key commits to them), fixed-point scale ``2^scale`` for inputs
and weights, range checks decomposed in base 256 (a 256-row table instead of
EZKL's default 2^14, which is what brings the digits head from 2^17 rows to
2^11: setup 60 s → 0.4 s, prove 96 s → 0.5 s). Every ezkl exception is
translated into :class:`~cairn.errors.ZkError` here.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import ezkl

from cairn.errors import ZkError

__all__ = [
    "VERSION",
    "Keys",
    "compile_keys",
    "felt",
    "gen_srs",
    "prove",
    "unfelt",
    "verify",
    "witness_outputs",
    "write_settings",
]

VERSION = str(getattr(ezkl, "__version__", "unknown"))
_DECOMP_BASE, _DECOMP_LEGS = 256, 5
T = TypeVar("T")


def _call(what: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        result = fn(*args)
    except Exception as exc:  # ezkl raises bare RuntimeErrors and pyo3 panics
        raise ZkError(f"ezkl {what} failed: {str(exc).strip()[:300]}") from None
    if result is False:
        raise ZkError(f"ezkl {what} failed")
    return result


def _run_args(scale: int, logrows: int | None) -> Any:
    ra: Any = ezkl.PyRunArgs()  # the bundled stubs lack its attributes
    ra.variables = [("batch", 1)]
    ra.input_visibility, ra.output_visibility, ra.param_visibility = "public", "public", "fixed"
    ra.input_scale = ra.param_scale = scale
    ra.decomp_base, ra.decomp_legs = _DECOMP_BASE, _DECOMP_LEGS
    if logrows is not None:
        ra.logrows = logrows
    return ra


def write_settings(head_onnx: bytes, scale: int) -> bytes:
    """Circuit settings for ``head_onnx`` with the fewest rows that hold it."""
    with tempfile.TemporaryDirectory(prefix="cairn-zk-") as tmp:
        d = Path(tmp)
        (d / "head.onnx").write_bytes(head_onnx)
        _call(
            "gen_settings",
            ezkl.gen_settings,
            str(d / "head.onnx"),
            str(d / "s.json"),
            _run_args(scale, None),
        )
        rows = int(json.loads((d / "s.json").read_bytes())["num_rows"])
        logrows = max(rows + 64, _DECOMP_BASE + 64).bit_length()
        _call(
            "gen_settings",
            ezkl.gen_settings,
            str(d / "head.onnx"),
            str(d / "s.json"),
            _run_args(scale, logrows),
        )
        return (d / "s.json").read_bytes()


def gen_srs(logrows: int) -> bytes:
    """A locally generated KZG SRS: for tests and development only (its maker knows tau)."""
    with tempfile.TemporaryDirectory(prefix="cairn-zk-") as tmp:
        path = Path(tmp) / "srs"
        _call("gen_srs", ezkl.gen_srs, str(path), logrows)
        return path.read_bytes()


class Keys:
    """A compiled circuit and its keys, in a directory that lives as long as this object."""

    def __init__(self, head_onnx: bytes, settings: bytes, srs: bytes) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="cairn-zk-")
        d = self.dir = Path(self._tmp.name)
        (d / "head.onnx").write_bytes(head_onnx)
        (d / "settings.json").write_bytes(settings)
        (d / "srs").write_bytes(srs)
        _call(
            "compile_circuit",
            ezkl.compile_circuit,
            str(d / "head.onnx"),
            str(d / "circuit.ezkl"),
            str(d / "settings.json"),
        )
        _call(
            "setup",
            ezkl.setup,
            str(d / "circuit.ezkl"),
            str(d / "vk.key"),
            str(d / "pk.key"),
            str(d / "srs"),
        )

    @property
    def vk(self) -> bytes:
        return (self.dir / "vk.key").read_bytes()

    def witness(self, inputs: Sequence[Sequence[float]]) -> dict[str, Any]:
        d = self.dir
        (d / "input.json").write_text(json.dumps({"input_data": [list(x) for x in inputs]}))
        _call(
            "gen_witness",
            ezkl.gen_witness,
            str(d / "input.json"),
            str(d / "circuit.ezkl"),
            str(d / "witness.json"),
            str(d / "vk.key"),
            str(d / "srs"),
        )
        out: dict[str, Any] = json.loads((d / "witness.json").read_bytes())
        return out

    def close(self) -> None:
        self._tmp.cleanup()


def compile_keys(head_onnx: bytes, settings: bytes, srs: bytes) -> Keys:
    return Keys(head_onnx, settings, srs)


def witness_outputs(
    keys: Keys, inputs: Sequence[Sequence[float]], scales: Sequence[int]
) -> list[list[float]]:
    """The circuit's outputs for ``inputs``, dequantized (for calibrating the tolerance)."""
    w = keys.witness(inputs)
    return [[unfelt(f, s) for f in out] for out, s in zip(w["outputs"], scales, strict=True)]


def prove(keys: Keys, inputs: Sequence[Sequence[float]]) -> bytes:
    keys.witness(inputs)
    d = keys.dir
    _call(
        "prove",
        ezkl.prove,
        str(d / "witness.json"),
        str(d / "circuit.ezkl"),
        str(d / "pk.key"),
        str(d / "proof.json"),
        str(d / "srs"),
    )
    return (d / "proof.json").read_bytes()


def verify(proof: bytes, settings: bytes, vk: bytes, srs: bytes) -> bool:
    """Whether ``proof`` (with the public instances it carries) verifies under ``vk``."""
    with tempfile.TemporaryDirectory(prefix="cairn-zk-") as tmp:
        d = Path(tmp)
        for name, data in (
            ("proof.json", proof),
            ("settings.json", settings),
            ("vk.key", vk),
            ("srs", srs),
        ):
            (d / name).write_bytes(data)
        try:
            check: Any = ezkl.verify  # the stubs make reduced_srs required; it has a default
            return bool(
                check(
                    str(d / "proof.json"),
                    str(d / "settings.json"),
                    str(d / "vk.key"),
                    str(d / "srs"),
                )
            )
        except Exception:  # a malformed or tampered proof: not a valid one
            return False


def felt(value: float, scale: int) -> str:
    """The field element EZKL assigns ``value`` at ``2^scale`` (little-endian hex, no 0x)."""
    return str(_call("float_to_felt", ezkl.float_to_felt, float(value), scale))


def unfelt(value: str, scale: int) -> float:
    return float(_call("felt_to_float", ezkl.felt_to_float, value, scale))
