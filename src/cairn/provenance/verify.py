"""Verify a manifest end to end: signature, signer, subject bytes, lineage.

In order, stopping at the first failure with :class:`VerificationFailed`:

1. the DSSE envelope's signature (EIP-191 over PAE, see ``_wallet``), and the
   signer, if the caller expects a particular one;
2. each subject: its blocks are in the blockstore (each block checked against
   its CID on read) and the bytes hash to the sha256 the statement records;
3. the lineage (:mod:`cairn.provenance.lineage`): every base model and dataset
   has a signed manifest and its blocks; skipped with ``check_lineage=False``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cairn.content import Blockstore, Cid
from cairn.errors import BlockNotFound, ContentError, ManifestError, VerificationFailed
from cairn.provenance.card import Card
from cairn.provenance.digests import stored_sha256
from cairn.provenance.index import ManifestIndex
from cairn.provenance.lineage import LineageNode, lineage
from cairn.provenance.manifest import check_signature, resolve
from cairn.provenance.statement import Subject

__all__ = ["Verification", "verify"]


@dataclass(frozen=True, slots=True)
class Verification:
    """A manifest that verified: who signed it, what it covers, where it came from."""

    manifest: str
    signer: str
    subjects: tuple[Subject, ...]
    card: Card
    lineage: LineageNode | None


def verify(
    cid: Cid | str,
    store: Blockstore,
    index: ManifestIndex,
    *,
    expected_signer: str | None = None,
    check_lineage: bool = True,
) -> Verification:
    """Verify the manifest named by ``cid`` (an artifact or a manifest CID)."""
    try:
        manifest = resolve(cid, store, index)
    except BlockNotFound as exc:
        raise VerificationFailed(f"manifest blocks are absent: {exc}") from None
    except ManifestError as exc:
        raise VerificationFailed(str(exc)) from None
    signer = check_signature(manifest, [expected_signer] if expected_signer else [])
    for subject in manifest.statement.subjects:
        _check_subject(subject, store)
    tree = None
    if check_lineage:
        tree = lineage(manifest.cid, store, index)
        problems = tree.problems()
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise VerificationFailed(f"lineage: {problems[0]}{more}")
    return Verification(
        manifest.cid, signer, manifest.statement.subjects, manifest.statement.card, tree
    )


def _check_subject(subject: Subject, store: Blockstore) -> None:
    try:
        digest, kind = stored_sha256(Cid.parse(subject.cid), store)
    except BlockNotFound:
        raise VerificationFailed(f"subject {subject.cid}: blocks not in the blockstore") from None
    except (ContentError, ManifestError) as exc:
        raise VerificationFailed(f"subject {subject.cid}: {exc}") from None
    if digest != subject.sha256:
        raise VerificationFailed(
            f"subject {subject.cid}: sha256 is {digest}, manifest says {subject.sha256}"
        )
    if kind != subject.type:
        raise VerificationFailed(f"subject {subject.cid} is a {kind}, manifest says {subject.type}")
