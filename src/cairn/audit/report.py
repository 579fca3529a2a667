"""The audit report: a rosette, eight answers, red flags, a stage, Nakamoto coefficients.

The shape follows L2BEAT's project pages (l2beat.com/scaling/risk): a risk
rosette with one petal per layer, each good / warning / bad with a one-line
reason; a stage on a ladder of requirements with what is missing for the next
one; and plain-language answers. Plain frozen values, so every renderer (table,
JSON, HTML) reads the same facts and none of them decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

__all__ = ["Answer", "Live", "Nakamoto", "Petal", "Rating", "RedFlag", "Report", "Stage"]

Rating = Literal["good", "warning", "bad"]


@dataclass(frozen=True)
class Petal:
    """One layer's rating and the one-line reason for it."""

    rating: Rating
    reason: str


@dataclass(frozen=True)
class Answer:
    """One checklist question and its answer, drawn from the manifest."""

    question: str
    answer: str


@dataclass(frozen=True)
class RedFlag:
    """A misleading-claim pattern found in the stack; ``id`` is stable, ``flag`` is prose."""

    id: str
    flag: str
    evidence: str


@dataclass(frozen=True)
class Stage:
    """The highest stage whose requirements all hold, and what the next one lacks."""

    stage: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Nakamoto:
    """Fewest operators who together hold more than ``threshold`` of a layer.

    ``coefficient`` is ``None`` when nobody can control the layer (it is immutable).
    """

    coefficient: int | None
    threshold: Fraction
    basis: str


@dataclass(frozen=True)
class Live:
    """Where a live audit's answers came from: the chain, or a node's word.

    ``counts``: inference operators, validators, jurors, jailed, open and resolved
    disputes, as the contracts hold them. ``node_word``: each answer that rests on
    what a node said rather than on the chain.
    """

    chain: str
    chain_id: int
    contracts: dict[str, str]
    checked: str
    counts: dict[str, int]
    node_word: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "chain_id": self.chain_id,
            "contracts": dict(self.contracts),
            "checked": self.checked,
            "counts": dict(self.counts),
            "node_word": list(self.node_word),
        }


@dataclass(frozen=True)
class Report:
    """Everything the auditor concluded about one stack."""

    name: str
    rosette: dict[str, Petal]
    questions: tuple[Answer, ...]
    red_flags: tuple[RedFlag, ...]
    stage: Stage
    nakamoto: dict[str, Nakamoto]
    live: Live | None = None  # a live audit only

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the documented JSON format)."""
        live = {"live": self.live.to_dict()} if self.live else {}
        return {
            "name": self.name,
            "rosette": {
                k: {"rating": p.rating, "reason": p.reason} for k, p in self.rosette.items()
            },
            "questions": [{"question": a.question, "answer": a.answer} for a in self.questions],
            "red_flags": [
                {"id": f.id, "flag": f.flag, "evidence": f.evidence} for f in self.red_flags
            ],
            "stage": {"stage": self.stage.stage, "missing": list(self.stage.missing)},
            "nakamoto": {
                k: {
                    "coefficient": n.coefficient,
                    "threshold": str(n.threshold),
                    "basis": n.basis,
                }
                for k, n in self.nakamoto.items()
            },
        } | live
