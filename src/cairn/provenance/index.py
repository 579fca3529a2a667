"""The local manifest index: which manifests describe which artifact.

A manifest names its artifact, but nothing in an artifact points back at its
manifest, so ``cairn verify ARTIFACT_CID`` and lineage walks need a lookup.
This is a small JSON file, ``<data dir>/provenance/index.json``, rewritten
atomically on each change::

    {"version": 1, "artifacts": {"<artifact cid v1>": ["<manifest cid>", ...]}}

Keys are CIDv1 strings, so a CIDv0 and its v1 form find the same entry. The
index is a cache of facts anyone can re-derive from the manifests themselves;
losing it loses convenience, not trust.
"""

from __future__ import annotations

import json
from pathlib import Path

from cairn._atomic import atomic_write_bytes
from cairn.config import DataDir
from cairn.content import Cid
from cairn.errors import ProvenanceError

__all__ = ["ManifestIndex", "cid_key"]


def cid_key(cid: Cid | str) -> str:
    """The index key of a CID: its CIDv1 string."""
    return str((cid if isinstance(cid, Cid) else Cid.parse(cid)).to_v1())


class ManifestIndex:
    """Artifact CID -> manifest CIDs (oldest first), persisted as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def at(cls, data_dir: DataDir) -> ManifestIndex:
        return cls(data_dir.provenance_index)

    def _load(self) -> dict[str, list[str]]:
        try:
            doc = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ProvenanceError(f"cannot read manifest index {self.path}: {exc}") from None
        artifacts = doc.get("artifacts") if isinstance(doc, dict) else None
        if not isinstance(artifacts, dict):
            raise ProvenanceError(f"manifest index {self.path} is malformed")
        return {str(k): [str(m) for m in v] for k, v in artifacts.items() if isinstance(v, list)}

    def add(self, artifact: Cid | str, manifest: Cid | str) -> None:
        """Record that ``manifest`` describes ``artifact`` (idempotent)."""
        artifacts = self._load()
        entry = artifacts.setdefault(cid_key(artifact), [])
        if str(manifest) not in entry:
            entry.append(str(manifest))
        doc = {"version": 1, "artifacts": dict(sorted(artifacts.items()))}
        atomic_write_bytes(self.path, json.dumps(doc, indent=1).encode() + b"\n")

    def manifests_for(self, artifact: Cid | str) -> list[str]:
        """Manifest CIDs recorded for ``artifact``, oldest first."""
        return list(self._load().get(cid_key(artifact), []))

    def artifact_of(self, manifest: Cid | str) -> str | None:
        """The artifact a manifest was recorded for, if it is in the index."""
        want = cid_key(manifest)
        for artifact, manifests in self._load().items():
            if any(cid_key(m) == want for m in manifests):
                return artifact
        return None
