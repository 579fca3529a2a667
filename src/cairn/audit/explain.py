"""What each rating, flag, stage and coefficient means, and why: read from the rules.

The text is the rules' own docstrings (see :mod:`cairn.audit.rules`), so
``cairn audit --explain`` cannot disagree with what the auditor does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType

from cairn.audit import crosscheck
from cairn.audit.rules import (
    FLAG_RULES,
    NAKAMOTO_THRESHOLDS,
    NAKAMOTO_WHY,
    PETAL_RULES,
    STAGE_REQUIREMENTS,
    nakamoto,
)

__all__ = ["explain"]


def _doc(rule: Callable[..., object] | ModuleType, indent: str = "  ") -> str:
    text = inspect.getdoc(rule) or ""
    return "\n".join(indent + line if line else "" for line in text.splitlines())


def explain() -> str:
    """Plain text: the rosette's petals, the red flags, the stages, the Nakamoto thresholds."""
    out = [
        "cairn audit rates a decentralized-AI stack layer by layer, after L2BEAT's risk",
        "rosette and stages (l2beat.com/scaling/risk). Each layer is good, warning or bad.",
        "",
        "ROSETTE",
    ]
    for layer, rule in PETAL_RULES.items():
        out += [f"{layer}", _doc(rule), ""]
    out.append("RED FLAGS")
    for flag_id, flag_rule in FLAG_RULES.items():
        out += [f"{flag_id}", _doc(flag_rule), ""]
    out += ["STAGES (cumulative; everyone starts at stage 0)"]
    for level, needs in STAGE_REQUIREMENTS.items():
        out.append(f"stage {level} requires:")
        for need in needs:
            first, *rest = (inspect.getdoc(need) or need.__name__).splitlines()
            out.append(f"  - {first}")
            out += ["    " + line if line else "" for line in rest]
    out += ["", "LIVE AUDITS (cairn audit --live / --network)", _doc(crosscheck, "")]
    out += ["", "NAKAMOTO COEFFICIENT", _doc(nakamoto)]
    out += [f"  {layer}: more than {t}" for layer, t in NAKAMOTO_THRESHOLDS.items()]
    out += ["  " + line for line in NAKAMOTO_WHY.splitlines()]
    return "\n".join(out) + "\n"
