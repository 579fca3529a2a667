"""The model or dataset card: the predicate of a cairn manifest.

A card says what an artifact is (name, version, SPDX license), what it was
made from (base model, datasets, training config, evaluations, each by CID),
who made it, and for models the output-comparison policy that defines a
"correct" answer when a validator re-executes an inference — a
:class:`cairn.inference.Policy`, whose schema the inference layer owns.

Licenses are SPDX license identifiers (SPDX spec v2.3, Annex D "SPDX license
expressions"): one id, ``LicenseRef-...``, or ids joined by ``AND``/``OR``
(``WITH`` exceptions and parentheses are not supported). Ids are checked
against a built-in list of common ones so that typos are caught.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cairn.content.cid import Cid
from cairn.errors import ContentValueError, ManifestError, did_you_mean
from cairn.inference.policies import Policy, PolicyError, parse_policy

__all__ = ["Card", "check_license", "parse_cid"]

CardKind = Literal["model", "dataset"]

SPDX_IDS = frozenset(
    {
        "0BSD",
        "AFL-3.0",
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "Apache-1.1",
        "Apache-2.0",
        "Artistic-2.0",
        "BigScience-OpenRAIL-M",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSD-3-Clause-Clear",
        "BSL-1.0",
        "CC-BY-3.0",
        "CC-BY-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-ND-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-ND-4.0",
        "CC-BY-SA-3.0",
        "CC-BY-SA-4.0",
        "CC0-1.0",
        "CDLA-Permissive-1.0",
        "CDLA-Permissive-2.0",
        "CDLA-Sharing-1.0",
        "CreativeML-OpenRAIL-M",
        "ECL-2.0",
        "EPL-1.0",
        "EPL-2.0",
        "EUPL-1.2",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "ISC",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-only",
        "LGPL-3.0-or-later",
        "MIT",
        "MIT-0",
        "MPL-2.0",
        "MS-PL",
        "ODbL-1.0",
        "ODC-By-1.0",
        "OFL-1.1",
        "PDDL-1.0",
        "PostgreSQL",
        "Python-2.0",
        "Unlicense",
        "UPL-1.0",
        "WTFPL",
        "Zlib",
    }
)
_SPDX_LOWER = {i.lower(): i for i in SPDX_IDS}
_IDSTRING = re.compile(r"^[A-Za-z0-9.-]+\+?$")
_LICENSE_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")


def check_license(expression: str) -> str:
    """Return ``expression`` if it is a valid SPDX expression of known ids, else raise."""
    if not isinstance(expression, str) or not expression.strip():
        raise ManifestError("license must be an SPDX license id, e.g. Apache-2.0")
    terms = re.split(r" (?:AND|OR) ", expression.strip())
    for term in terms:
        if _LICENSE_REF.match(term):
            continue
        if not _IDSTRING.match(term):
            raise ManifestError(f"license {expression!r}: {term!r} is not an SPDX id")
        if term.removesuffix("+") not in SPDX_IDS:
            hint = _SPDX_LOWER.get(term.lower())
            near = f" (did you mean {hint!r}?)" if hint else did_you_mean(term, SPDX_IDS)
            raise ManifestError(f"unknown SPDX license id {term!r}{near}")
    return expression.strip()


def parse_cid(value: Any, what: str) -> str:
    """The canonical string of a CID given as text; :class:`ManifestError` if it is not one."""
    if not isinstance(value, str):
        raise ManifestError(f"{what} must be a CID string")
    try:
        return str(Cid.parse(value))
    except ContentValueError:
        raise ManifestError(f"{what} is not a valid CID: {value[:80]!r}") from None


@dataclass(frozen=True, slots=True)
class Card:
    """A model or dataset card. CIDs are canonical strings; lists are tuples."""

    kind: CardKind
    name: str
    version: str
    license: str
    base_model: str | None = None
    datasets: tuple[str, ...] = ()
    config: str | None = None
    evaluations: tuple[str, ...] = ()
    contributors: tuple[str, ...] = ()
    policy: Policy | None = field(default=None)

    def __post_init__(self) -> None:
        if self.kind not in ("model", "dataset"):
            raise ManifestError(f"card kind must be 'model' or 'dataset', got {self.kind!r}")
        for what in ("name", "version"):
            value = getattr(self, what)
            if not isinstance(value, str) or not value.strip():
                raise ManifestError(f"card {what} must be a non-empty string")
        check_license(self.license)
        if self.base_model is not None:
            parse_cid(self.base_model, "base model")
        if self.config is not None:
            parse_cid(self.config, "config")
        for cid in (*self.datasets, *self.evaluations):
            parse_cid(cid, "dataset/evaluation")
        if not all(isinstance(c, str) and c for c in self.contributors):
            raise ManifestError("contributors must be non-empty strings")

    @property
    def predicate_type(self) -> str:
        return PREDICATE_TYPES[self.kind]

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "license": self.license,
            "baseModel": self.base_model,
            "datasets": list(self.datasets),
            "config": self.config,
            "evaluations": list(self.evaluations),
            "contributors": list(self.contributors),
            "comparisonPolicy": self.policy.to_dict() if self.policy else None,
        }
        return {k: v for k, v in doc.items() if v is not None}

    @classmethod
    def from_dict(cls, doc: Any) -> Card:
        if not isinstance(doc, Mapping):
            raise ManifestError("predicate must be a JSON object")
        lists = {k: doc.get(k, []) for k in ("datasets", "evaluations", "contributors")}
        if not all(isinstance(v, list) for v in lists.values()):
            raise ManifestError("datasets, evaluations and contributors must be lists")
        policy = doc.get("comparisonPolicy")
        return cls(
            kind=doc.get("kind"),  # type: ignore[arg-type]  # checked in __post_init__
            name=doc.get("name"),  # type: ignore[arg-type]
            version=doc.get("version"),  # type: ignore[arg-type]
            license=doc.get("license"),  # type: ignore[arg-type]
            base_model=doc.get("baseModel"),
            datasets=tuple(lists["datasets"]),
            config=doc.get("config"),
            evaluations=tuple(lists["evaluations"]),
            contributors=tuple(lists["contributors"]),
            policy=None if policy is None else _policy(policy),
        )


def _policy(doc: Any) -> Policy:
    try:
        return parse_policy(doc)
    except PolicyError as exc:
        raise ManifestError(f"comparisonPolicy: {exc}") from None


PREDICATE_TYPES: dict[str, str] = {
    "model": "https://cairn.dev/ModelCard/v1",
    "dataset": "https://cairn.dev/DatasetCard/v1",
}
