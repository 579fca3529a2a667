"""Lineage: walk an artifact's base model and datasets back to their roots.

Each manifest's card names what the artifact was made from (``baseModel``,
``datasets``). This module follows those CIDs through the local
:class:`~cairn.provenance.index.ManifestIndex` and the blockstore and returns
the whole tree, with every link's status, rather than stopping at the first
problem: a reviewer wants to see *all* the gaps. Statuses:

``ok``        manifest found, signed by a wallet, artifact's root block present
``missing``   no manifest known, or the manifest's / artifact's blocks are absent
``unsigned``  the manifest carries no signature
``invalid``   the manifest is malformed or its signature does not verify
``cycle``     the CID already appears above it (a card claims its own ancestor)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cairn.content import Blockstore, Cid
from cairn.errors import BlockNotFound, ManifestError, VerificationFailed
from cairn.provenance.index import ManifestIndex, cid_key
from cairn.provenance.manifest import Manifest, check_signature, resolve

__all__ = ["LineageNode", "lineage"]

Status = Literal["ok", "missing", "unsigned", "invalid", "cycle"]
Role = Literal["artifact", "base", "dataset"]


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One artifact in a lineage tree and what it was made from."""

    cid: str
    role: Role
    status: Status
    manifest: str | None = None
    name: str | None = None
    version: str | None = None
    signer: str | None = None
    problem: str | None = None
    parents: tuple[LineageNode, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when this link and every link above it verified."""
        return not self.problems()

    def problems(self) -> list[str]:
        """One line per bad link in the tree, depth first."""
        found = [f"{self.role} {self.cid}: {self.problem}"] if self.status != "ok" else []
        for parent in self.parents:
            found.extend(parent.problems())
        return found

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "cid": self.cid,
            "role": self.role,
            "status": self.status,
            "manifest": self.manifest,
            "name": self.name,
            "version": self.version,
            "signer": self.signer,
            "problem": self.problem,
        }
        doc = {k: v for k, v in doc.items() if v is not None}
        doc["parents"] = [p.to_dict() for p in self.parents]
        return doc


def lineage(cid: Cid | str, store: Blockstore, index: ManifestIndex) -> LineageNode:
    """The lineage tree of an artifact, given its CID or its manifest's CID."""
    try:
        manifest = resolve(cid, store, index)
    except (VerificationFailed, ManifestError, BlockNotFound):
        return _walk(str(cid), "artifact", store, index, ())
    artifact = manifest.statement.subjects[0].cid
    return _walk(artifact, "artifact", store, index, (), manifest)


def _walk(
    cid: str,
    role: Role,
    store: Blockstore,
    index: ManifestIndex,
    above: tuple[str, ...],
    manifest: Manifest | None = None,
) -> LineageNode:
    if cid_key(cid) in above:
        return LineageNode(cid, role, "cycle", problem="appears among its own ancestors")
    if manifest is None:
        try:
            manifest = resolve(cid, store, index)
        except VerificationFailed as exc:
            return LineageNode(cid, role, "missing", problem=_short(exc, cid))
        except BlockNotFound:
            return LineageNode(cid, role, "missing", problem="manifest blocks are absent")
        except ManifestError as exc:
            return LineageNode(cid, role, "invalid", problem=str(exc))
    card = manifest.statement.card
    status, signer, problem = _judge(cid, manifest, store)
    trail = (*above, cid_key(cid))
    parents = [_walk(card.base_model, "base", store, index, trail)] if card.base_model else []
    parents += [_walk(d, "dataset", store, index, trail) for d in card.datasets]
    return LineageNode(
        cid, role, status, manifest.cid, card.name, card.version, signer, problem, tuple(parents)
    )


def _judge(
    cid: str, manifest: Manifest, store: Blockstore
) -> tuple[Status, str | None, str | None]:
    if not manifest.envelope.signatures:
        return "unsigned", None, f"manifest {manifest.cid} is unsigned"
    try:
        signer = check_signature(manifest)
    except VerificationFailed as exc:
        return "invalid", None, str(exc)
    if not store.has(Cid.parse(cid)):
        return "missing", signer, "artifact blocks are absent"
    return "ok", signer, None


def _short(exc: Exception, cid: str) -> str:
    return str(exc).replace(f" for {cid}", "")
