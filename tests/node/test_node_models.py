"""What a node serves comes from its settings: a bundled name, a model folder, or a CID —
each imported, signed into a manifest and loaded from the blockstore; then registered and
published onchain by bootstrap, idempotently across restarts."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from cairn import content
from cairn.config import DataDir
from cairn.errors import ConfigError, ModelNotFound
from cairn.identity import LocalSigner
from cairn.inference import (
    DIGITS_NAME,
    SPEC_FILE,
    ModelSpec,
    digits_folder,
    parse_policy,
)
from cairn.node import NodeSettings, bootstrap
from cairn.node.models import UNSPECIFIED_LICENSE, resolve_models
from cairn.node.server import free_port
from cairn.provenance import Card, ManifestIndex, publish, verify

SIGNER = LocalSigner.from_hex("0x" + "42" * 32)


@pytest.fixture
def dd(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


@pytest.fixture
def store(dd: DataDir) -> content.Blockstore:
    return content.open_blockstore(dd)


def _folder(where: Path, name: str, license: str | None = None) -> Path:
    """A copy of the digits folder under another name (a user's own model)."""
    shutil.copytree(digits_folder(), where)
    spec = ModelSpec.from_bytes((where / SPEC_FILE).read_bytes())
    source = {**spec.source, **({"license": license} if license else {})}
    (where / SPEC_FILE).write_bytes(replace(spec, name=name, source=source).to_bytes())
    return where


def test_a_bundled_name_serves_the_shipped_bytes(dd: DataDir, store: content.Blockstore) -> None:
    (served,) = resolve_models([DIGITS_NAME], dd, SIGNER, store)
    expected = content.add_path(digits_folder(), content.MemoryBlockstore())
    assert (served.name, served.cid) == (DIGITS_NAME, str(expected))
    checked = verify(served.manifest_cid, store, ManifestIndex.at(dd), check_lineage=False)
    assert checked.signer == SIGNER.address and checked.card.license == "Apache-2.0"


def test_a_folder_is_imported_and_signed_by_the_node(
    dd: DataDir, store: content.Blockstore, tmp_path: Path
) -> None:
    folder = _folder(tmp_path / "mine", "my-digits")
    (served,) = resolve_models([str(folder)], dd, SIGNER, store)
    assert served.name == "my-digits" and served.model.spec.name == "my-digits"
    assert served.cid == str(content.add_path(folder, content.MemoryBlockstore()))
    checked = verify(served.cid, store, ManifestIndex.at(dd), check_lineage=False)
    assert checked.manifest == served.manifest_cid and checked.signer == SIGNER.address
    assert checked.card.license == UNSPECIFIED_LICENSE
    assert checked.card.policy == parse_policy(dict(served.model.spec.policy))
    again = resolve_models([str(folder)], dd, SIGNER, store)[0]
    assert again.manifest_cid == served.manifest_cid  # deterministic: a restart adds nothing


def test_a_folder_may_declare_its_license(
    dd: DataDir, store: content.Blockstore, tmp_path: Path
) -> None:
    folder = _folder(tmp_path / "mit", "mit-digits", license="MIT")
    (served,) = resolve_models([str(folder)], dd, SIGNER, store)
    assert verify(served.cid, store, ManifestIndex.at(dd)).card.license == "MIT"


def test_a_cid_without_a_manifest_gets_one_from_the_node(
    dd: DataDir, store: content.Blockstore, tmp_path: Path
) -> None:
    cid = content.add_path(_folder(tmp_path / "m", "stored-digits"), store)
    (served,) = resolve_models([str(cid)], dd, SIGNER, store)
    assert (served.name, served.cid) == ("stored-digits", str(cid))
    checked = verify(cid, store, ManifestIndex.at(dd), check_lineage=False)
    assert checked.manifest == served.manifest_cid and checked.signer == SIGNER.address


def test_a_cid_with_a_known_manifest_is_served_under_it(
    dd: DataDir, store: content.Blockstore, tmp_path: Path
) -> None:
    """`cairn publish` first (another wallet, its own card), then serve by model or manifest CID."""
    folder = _folder(tmp_path / "p", "published-digits")
    publisher = LocalSigner.generate()
    card = Card("model", "published-digits", "2.0", "MIT", contributors=("alice",))
    done = publish(folder, card, publisher, store, ManifestIndex.at(dd))
    for ref in (done.artifact_cid, done.manifest_cid):
        (served,) = resolve_models([str(ref)], dd, SIGNER, store)
        assert served.cid == str(done.artifact_cid)
        assert served.manifest_cid == str(done.manifest_cid)
        assert served.name == "published-digits"


@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("no-such-model", ConfigError, "not a bundled model"),
        ("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", ModelNotFound, "import"),
    ],
)
def test_unknown_references_are_refused_clearly(
    dd: DataDir, store: content.Blockstore, ref: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        resolve_models([ref], dd, SIGNER, store)


def test_a_folder_without_a_spec_is_refused(
    dd: DataDir, store: content.Blockstore, tmp_path: Path
) -> None:
    folder = _folder(tmp_path / "bare", "bare")
    (folder / SPEC_FILE).unlink()
    with pytest.raises(ConfigError, match="not a model folder"):
        resolve_models([str(folder)], dd, SIGNER, store)


def test_a_dataset_manifest_is_not_a_model(
    dd: DataDir, store: content.Blockstore, tmp_path: Path
) -> None:
    data = tmp_path / "data.txt"
    data.write_text("pairs\n")
    done = publish(data, Card("dataset", "pairs", "1", "MIT"), SIGNER, store, ManifestIndex.at(dd))
    with pytest.raises(ConfigError, match="dataset"):
        resolve_models([str(done.manifest_cid)], dd, SIGNER, store)


def test_two_models_may_not_share_a_name(
    dd: DataDir, store: content.Blockstore, tmp_path: Path
) -> None:
    folder = _folder(tmp_path / "twin", DIGITS_NAME)
    with pytest.raises(ConfigError, match="two models are named digits-logreg"):
        resolve_models([DIGITS_NAME, str(folder)], dd, SIGNER, store)


def test_bootstrap_serves_a_folder_then_the_same_model_by_cid(tmp_path: Path) -> None:
    """`cairn up --model PATH`, then a restart with `--model CID`: one registration, one version."""
    folder = _folder(tmp_path / "mine", "my-digits")
    data = tmp_path / "node"

    def settings(model: str) -> NodeSettings:
        return NodeSettings(
            data_dir=data, port=free_port(), models=(model,), batch_size=1000, batch_seconds=3600
        )

    ctx = bootstrap(settings(str(folder)), "models-test")
    try:
        assert list(ctx.models) == ["my-digits"]
        served = ctx.models["my-digits"]
        current = ctx.chain.registry.current("my-digits")
        assert current is not None
        assert (current.content_cid, current.manifest_cid) == (served.cid, served.manifest_cid)
        assert ctx.prover is None
    finally:
        ctx.close()
    again = bootstrap(settings(served.cid), "models-test")
    try:
        same = again.models["my-digits"]
        assert (same.cid, same.manifest_cid, same.version) == (
            served.cid,
            served.manifest_cid,
            served.version,
        )
        assert len(again.chain.registry.history("my-digits")) == 1
    finally:
        again.close()
