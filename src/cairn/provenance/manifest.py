"""Publish and load manifests: signed statements stored content-addressed.

A manifest is the DSSE envelope JSON (see :mod:`cairn.provenance.dsse`)
around an in-toto Statement (:mod:`cairn.provenance.statement`), signed by a
wallet (:mod:`cairn.provenance._wallet`). The envelope bytes are stored as a
UnixFS file in the blockstore exactly as signed and written; its CID is the
manifest's name, and every later check re-reads those bytes (never
re-serialized JSON), as DESIGN.md "Provenance" requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cairn.content import DEFAULT_PROFILE, Blockstore, Cid, add_bytes, add_path, read_bytes, stat
from cairn.errors import (
    BlockNotFound,
    BlockVerificationError,
    ContentError,
    ManifestError,
    VerificationFailed,
)
from cairn.identity import Signer
from cairn.provenance._wallet import WalletEnvelopeSigner, WalletVerifier
from cairn.provenance.base import sign_envelope
from cairn.provenance.card import Card
from cairn.provenance.digests import path_sha256, stored_sha256
from cairn.provenance.dsse import Envelope
from cairn.provenance.index import ManifestIndex
from cairn.provenance.statement import PAYLOAD_TYPE, Statement, Subject

__all__ = [
    "Manifest",
    "Published",
    "check_signature",
    "load_manifest",
    "publish",
    "publish_stored",
    "resolve",
    "store_manifest",
]

_MAX_MANIFEST = 1 << 20  # a manifest is a few KiB; never read a large artifact to sniff it


@dataclass(frozen=True, slots=True)
class Manifest:
    """A stored manifest: its CID, the exact stored bytes, and what they parse to."""

    cid: str
    data: bytes
    envelope: Envelope
    statement: Statement


@dataclass(frozen=True, slots=True)
class Published:
    """What :func:`publish` made: the artifact's CID and its manifest."""

    artifact_cid: Cid
    manifest_cid: Cid
    statement: Statement


def publish(
    path: Path,
    card: Card,
    signer: Signer,
    store: Blockstore,
    index: ManifestIndex,
    *,
    profile: str = DEFAULT_PROFILE,
) -> Published:
    """Import ``path``, sign a manifest for it with ``signer``, store and index both."""
    sha256, kind = path_sha256(path)
    artifact = add_path(path, store, profile)
    subject = Subject(str(artifact), sha256, path.name, kind)  # type: ignore[arg-type]
    return _sign(subject, card, signer, store, index, profile)


def publish_stored(
    artifact: Cid,
    card: Card,
    signer: Signer,
    store: Blockstore,
    index: ManifestIndex,
    *,
    filename: str = "",
    profile: str = DEFAULT_PROFILE,
) -> Published:
    """Sign a manifest for an artifact already in ``store`` (its digest read back, verified)."""
    sha256, kind = stored_sha256(artifact, store)
    subject = Subject(str(artifact), sha256, filename, kind)  # type: ignore[arg-type]
    return _sign(subject, card, signer, store, index, profile)


def _sign(
    subject: Subject,
    card: Card,
    signer: Signer,
    store: Blockstore,
    index: ManifestIndex,
    profile: str,
) -> Published:
    statement = Statement((subject,), card)
    envelope = sign_envelope(statement.to_json(), PAYLOAD_TYPE, WalletEnvelopeSigner(signer))
    manifest_cid = store_manifest(envelope.to_json(), store, index, profile=profile)
    return Published(Cid.parse(subject.cid), manifest_cid, statement)


def store_manifest(
    data: bytes, store: Blockstore, index: ManifestIndex, *, profile: str = DEFAULT_PROFILE
) -> Cid:
    """Store envelope bytes as they are and index them under each subject; return the CID.

    The bytes are parsed first so that nothing malformed gets indexed; they are
    not required to be validly signed (verification reports that later).
    """
    statement = _parse(data)
    cid = add_bytes(data, store, profile)
    for subject in statement.subjects:
        index.add(subject.cid, cid)
    return cid


def _parse(data: bytes) -> Statement:
    envelope = Envelope.parse(data)
    if envelope.payload_type != PAYLOAD_TYPE:
        raise ManifestError(f"payloadType {envelope.payload_type!r} is not {PAYLOAD_TYPE}")
    return Statement.parse(envelope.payload)


def load_manifest(cid: Cid | str, store: Blockstore) -> Manifest:
    """Read and parse a stored manifest; :class:`ManifestError` if it is not one."""
    cid = cid if isinstance(cid, Cid) else Cid.parse(cid)
    try:
        entry = stat(cid, store)
        if entry.kind != "file" or entry.size > _MAX_MANIFEST:
            raise ManifestError(f"{cid} is not a manifest (a {entry.kind} of {entry.size} bytes)")
        data = read_bytes(cid, store)
    except (BlockNotFound, BlockVerificationError):
        raise
    except ContentError as exc:
        raise ManifestError(f"{cid} is not a manifest: {exc}") from None
    envelope = Envelope.parse(data)
    return Manifest(str(cid), data, envelope, _parse(data))


def resolve(cid: Cid | str, store: Blockstore, index: ManifestIndex) -> Manifest:
    """The manifest named by ``cid``, or the newest manifest indexed for artifact ``cid``.

    Raises :class:`VerificationFailed` when no manifest is known for an
    artifact, :class:`BlockNotFound` when an indexed manifest's bytes are
    absent, and :class:`ManifestError` when they are corrupt or malformed.
    """
    known = index.manifests_for(cid)
    if known:
        try:
            return load_manifest(known[-1], store)
        except BlockVerificationError as exc:
            raise ManifestError(f"manifest {known[-1]} is corrupt: {exc}") from None
    try:
        return load_manifest(cid, store)
    except BlockVerificationError as exc:
        raise ManifestError(f"manifest {cid} is corrupt: {exc}") from None
    except ManifestError:
        raise VerificationFailed(f"no manifest known for {cid}") from None
    except BlockNotFound:
        raise VerificationFailed(f"no manifest known for {cid} (blocks absent)") from None


def check_signature(manifest: Manifest, trusted: Iterable[str] = ()) -> str:
    """The wallet address that signed ``manifest``; :class:`VerificationFailed` if none did."""
    try:
        verified = WalletVerifier(trusted).verify(manifest.envelope, PAYLOAD_TYPE)
    except VerificationFailed as exc:
        raise VerificationFailed(f"manifest {manifest.cid}: {exc}") from None
    return verified.signers[0]
