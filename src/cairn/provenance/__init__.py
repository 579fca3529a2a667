"""Provenance and licensing: signed, content-addressed manifests and their lineage.

A manifest is an in-toto Statement v1 (:class:`Statement`) whose subjects are
CIDs with sha256 digests and whose predicate is a model or dataset
:class:`Card`, in a DSSE :class:`Envelope` signed by a wallet. Pipeline:
:func:`publish` → :func:`verify` / :func:`lineage`. DSSE verification is one
:class:`Verifier` with a backend per key type (wallet, ECDSA P-256, RSA-PSS).
"""

from __future__ import annotations

from cairn.provenance._ecdsa_p256 import EcdsaP256Signer, EcdsaP256Verifier
from cairn.provenance._rsa_pss import RsaPssVerifier
from cairn.provenance._wallet import WalletEnvelopeSigner, WalletVerifier
from cairn.provenance.base import EnvelopeSigner, Verified, Verifier, sign_envelope
from cairn.provenance.card import Card, check_license
from cairn.provenance.digests import path_sha256, stored_sha256
from cairn.provenance.dsse import Envelope, EnvelopeSignature, pae
from cairn.provenance.index import ManifestIndex
from cairn.provenance.lineage import LineageNode, lineage
from cairn.provenance.manifest import (
    Manifest,
    Published,
    load_manifest,
    publish,
    publish_stored,
    resolve,
    store_manifest,
)
from cairn.provenance.statement import PAYLOAD_TYPE, Statement, Subject
from cairn.provenance.verify import Verification, verify

__all__ = [
    "PAYLOAD_TYPE",
    "Card",
    "EcdsaP256Signer",
    "EcdsaP256Verifier",
    "Envelope",
    "EnvelopeSignature",
    "EnvelopeSigner",
    "LineageNode",
    "Manifest",
    "ManifestIndex",
    "Published",
    "RsaPssVerifier",
    "Statement",
    "Subject",
    "Verification",
    "Verified",
    "Verifier",
    "WalletEnvelopeSigner",
    "WalletVerifier",
    "check_license",
    "lineage",
    "load_manifest",
    "pae",
    "path_sha256",
    "publish",
    "publish_stored",
    "resolve",
    "sign_envelope",
    "store_manifest",
    "stored_sha256",
    "verify",
]
