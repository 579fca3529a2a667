"""The manifest payload: an in-toto Statement v1 about content-addressed artifacts.

Spec: in-toto attestation framework, "Statement layer" v1
(https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) and
"ResourceDescriptor". Layout chosen by cairn:

* ``subject[i].name`` is the artifact's CID string — the identity cairn
  resolves — and ``subject[i].digest`` is ``{"sha256": hex}`` as defined in
  :mod:`cairn.provenance.digests` (file bytes, or the directory listing hash);
* ``subject[i].annotations`` holds ``{"filename": ..., "type": "file" |
  "directory"}`` for people;
* ``predicateType`` is ``https://cairn.dev/ModelCard/v1`` or
  ``https://cairn.dev/DatasetCard/v1`` and ``predicate`` is the
  :class:`~cairn.provenance.card.Card`.

The payload type in the DSSE envelope is ``application/vnd.in-toto+json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from cairn.errors import ManifestError
from cairn.provenance.card import PREDICATE_TYPES, Card, parse_cid
from cairn.provenance.dsse import loads

__all__ = ["PAYLOAD_TYPE", "STATEMENT_TYPE", "Statement", "Subject"]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Subject:
    """One artifact: its CID, sha256 digest (hex), file name and type."""

    cid: str
    sha256: str
    filename: str = ""
    type: Literal["file", "directory"] = "file"

    def __post_init__(self) -> None:
        parse_cid(self.cid, "subject name")
        if not isinstance(self.sha256, str) or not _SHA256.match(self.sha256):
            raise ManifestError("subject sha256 digest must be 64 lowercase hex digits")
        if self.type not in ("file", "directory"):
            raise ManifestError(f"subject type must be file or directory, got {self.type!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.cid,
            "digest": {"sha256": self.sha256},
            "annotations": {"filename": self.filename, "type": self.type},
        }

    @classmethod
    def from_dict(cls, doc: Any) -> Subject:
        if not isinstance(doc, dict) or not isinstance(doc.get("digest"), dict):
            raise ManifestError("each subject needs a name and a digest object")
        notes = doc.get("annotations", {})
        if not isinstance(notes, dict):
            raise ManifestError("subject annotations must be an object")
        filename = notes.get("filename", "")
        if not isinstance(filename, str):
            raise ManifestError("subject filename must be a string")
        return cls(
            doc.get("name"),  # type: ignore[arg-type]
            doc["digest"].get("sha256"),
            filename,
            notes.get("type", "file"),
        )


@dataclass(frozen=True, slots=True)
class Statement:
    """An in-toto Statement v1 whose predicate is a cairn card."""

    subjects: tuple[Subject, ...]
    card: Card

    def __post_init__(self) -> None:
        if not self.subjects:
            raise ManifestError("a statement needs at least one subject")

    @property
    def predicate_type(self) -> str:
        return self.card.predicate_type

    def to_json(self) -> bytes:
        """Compact JSON with sorted keys: the bytes that get signed."""
        doc = {
            "_type": STATEMENT_TYPE,
            "subject": [s.to_dict() for s in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": self.card.to_dict(),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, payload: bytes) -> Statement:
        """Parse and validate a statement; :class:`ManifestError` names what is wrong."""
        doc = loads(payload, "statement")
        if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
            raise ManifestError(f"statement _type must be {STATEMENT_TYPE}")
        subjects = doc.get("subject")
        if not isinstance(subjects, list):
            raise ManifestError("statement subject must be a list")
        card = Card.from_dict(doc.get("predicate"))
        if doc.get("predicateType") != PREDICATE_TYPES[card.kind]:
            raise ManifestError(
                f"predicateType {doc.get('predicateType')!r} does not match a {card.kind} card"
            )
        return cls(tuple(Subject.from_dict(s) for s in subjects), card)
