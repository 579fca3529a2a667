"""Publishing, verifying and walking the lineage of signed manifests."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from cairn.config import DataDir
from cairn.content import Cid, MemoryBlockstore, add_bytes, add_path, open_blockstore, read_bytes
from cairn.errors import ManifestError, VerificationFailed
from cairn.identity import LocalSigner
from cairn.inference import parse_policy_text
from cairn.provenance import (
    PAYLOAD_TYPE,
    Card,
    Envelope,
    ManifestIndex,
    Statement,
    Subject,
    WalletEnvelopeSigner,
    lineage,
    load_manifest,
    path_sha256,
    publish,
    sign_envelope,
    store_manifest,
    verify,
)

ALICE = LocalSigner.from_hex("0x" + "a1" * 32)
BOB = LocalSigner.from_hex("0x" + "b0" * 32)


@pytest.fixture
def store() -> MemoryBlockstore:
    return MemoryBlockstore()


@pytest.fixture
def index(tmp_path: Path) -> ManifestIndex:
    return ManifestIndex(tmp_path / "provenance" / "index.json")


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _card(kind: str = "model", **over: object) -> Card:
    return Card(kind, over.pop("name", "m"), "1.0", "Apache-2.0", **over)  # type: ignore[arg-type]


def test_publish_file_and_verify(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    path = _file(tmp_path, "model.onnx", b"weights" * 1000)
    card = _card(policy=parse_policy_text("tolerance:1e-5"), contributors=("alice",))
    done = publish(path, card, ALICE, store, index)
    assert done.artifact_cid == add_path(path, MemoryBlockstore())
    stored = read_bytes(done.manifest_cid, store)
    assert done.manifest_cid == add_bytes(stored, MemoryBlockstore())  # CID of the exact bytes
    env = Envelope.parse(stored)
    assert env.payload_type == PAYLOAD_TYPE and env.signatures[0].keyid == ALICE.address
    subject = Statement.parse(env.payload).subjects[0]
    assert subject.cid == str(done.artifact_cid)
    assert subject.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert subject.filename == "model.onnx"
    for cid in (done.artifact_cid, done.manifest_cid, str(done.manifest_cid)):
        result = verify(cid, store, index, expected_signer=ALICE.address)
        assert result.signer == ALICE.address
        assert result.card == card
        assert result.manifest == str(done.manifest_cid)
    assert index.manifests_for(done.artifact_cid) == [str(done.manifest_cid)]
    assert index.artifact_of(done.manifest_cid) == str(done.artifact_cid)


def test_directory_digest_is_the_sha256sum_listing(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    files = {"config.json": b"{}", "sub/w.bin": b"\x00" * 3000, "B.txt": b"b", "a.txt": b"a"}
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    listing = "".join(
        f"{hashlib.sha256(files[r]).hexdigest()}  {r}\n" for r in sorted(files, key=str.encode)
    )
    assert path_sha256(root) == (hashlib.sha256(listing.encode()).hexdigest(), "directory")
    done = publish(root, _card(), ALICE, store, index, profile="unixfs-v0-2015")
    assert done.artifact_cid.version == 0
    assert verify(done.artifact_cid, store, index).subjects[0].type == "directory"


def test_symlinks_are_refused(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "link").symlink_to("/etc/hostname")
    with pytest.raises(ManifestError, match="symlink"):
        publish(root, _card(), ALICE, store, index)


def test_wrong_expected_signer(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    done = publish(_file(tmp_path, "f", b"x"), _card(), ALICE, store, index)
    with pytest.raises(VerificationFailed, match="trusted"):
        verify(done.manifest_cid, store, index, expected_signer=BOB.address)


def _tampered(stored: bytes) -> bytes:
    doc = json.loads(stored)
    payload = bytearray(base64.b64decode(doc["payload"]))
    at = payload.index(b'"1.0"')
    payload[at + 1] = ord("2")  # version 1.0 -> 2.0, still a valid statement
    doc["payload"] = base64.b64encode(bytes(payload)).decode()
    return json.dumps(doc).encode()


def test_tampered_envelope_fails(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    done = publish(_file(tmp_path, "f", b"x"), _card(), ALICE, store, index)
    forged = store_manifest(_tampered(read_bytes(done.manifest_cid, store)), store, index)
    assert load_manifest(forged, store).statement.card.version == "2.0"
    with pytest.raises(VerificationFailed, match="no valid signature"):
        verify(forged, store, index)
    with pytest.raises(VerificationFailed):  # the artifact now resolves to the newest manifest
        verify(done.artifact_cid, store, index)


def test_tampered_block_on_disk_fails(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "d")
    store, index = open_blockstore(data_dir), ManifestIndex.at(data_dir)
    done = publish(_file(tmp_path, "f", b"x"), _card(), ALICE, store, index)
    block = next(
        p
        for p in data_dir.blocks.rglob("*")
        if p.is_file() and p.read_bytes() == read_bytes(done.manifest_cid, store)
    )
    block.write_bytes(_tampered(block.read_bytes()))
    with pytest.raises(VerificationFailed, match="does not match"):
        verify(done.manifest_cid, store, index)


def test_missing_subject_bytes_fail(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    done = publish(_file(tmp_path, "f", b"payload"), _card(), ALICE, store, index)
    other = MemoryBlockstore()  # only the manifest travels
    add_bytes(read_bytes(done.manifest_cid, store), other)
    with pytest.raises(VerificationFailed, match="not in the blockstore"):
        verify(done.manifest_cid, other, index)


def test_subject_digest_mismatch_fails(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    cid = add_bytes(b"real bytes", store)
    stmt = Statement((Subject(str(cid), "0" * 64),), _card())
    env = sign_envelope(stmt.to_json(), PAYLOAD_TYPE, WalletEnvelopeSigner(ALICE))
    manifest = store_manifest(env.to_json(), store, index)
    with pytest.raises(VerificationFailed, match="sha256 is"):
        verify(manifest, store, index)


def test_no_manifest_known(store: MemoryBlockstore, index: ManifestIndex) -> None:
    cid = add_bytes(b"an artifact nobody signed", store)
    with pytest.raises(VerificationFailed, match="no manifest known"):
        verify(cid, store, index)
    with pytest.raises(ManifestError):
        store_manifest(b"not an envelope", store, index)


def _unsigned(path: Path, card: Card, store: MemoryBlockstore, index: ManifestIndex) -> Cid:
    artifact = add_path(path, store)
    sha, kind = path_sha256(path)
    stmt = Statement((Subject(str(artifact), sha, path.name, kind),), card)  # type: ignore[arg-type]
    store_manifest(Envelope(stmt.to_json(), PAYLOAD_TYPE, ()).to_json(), store, index)
    return artifact


def test_lineage_with_missing_and_unsigned_links(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    d1 = publish(_file(tmp_path, "d1", b"rows"), _card("dataset", name="d1"), BOB, store, index)
    ghost = str(add_bytes(b"never published", MemoryBlockstore()))
    d2 = _unsigned(_file(tmp_path, "d2", b"more rows"), _card("dataset", name="d2"), store, index)
    base = publish(
        _file(tmp_path, "base", b"base weights"),
        _card(name="base", datasets=(str(d1.artifact_cid), ghost)),
        BOB,
        store,
        index,
    )
    model = publish(
        _file(tmp_path, "model", b"tuned"),
        _card(base_model=str(base.artifact_cid), datasets=(str(d2),)),
        ALICE,
        store,
        index,
    )

    tree = lineage(model.manifest_cid, store, index)
    assert (tree.cid, tree.status, tree.signer) == (str(model.artifact_cid), "ok", ALICE.address)
    base_node, d2_node = tree.parents
    assert (base_node.role, base_node.name, base_node.status) == ("base", "base", "ok")
    assert [(p.name, p.status) for p in base_node.parents] == [("d1", "ok"), (None, "missing")]
    assert (d2_node.role, d2_node.status) == ("dataset", "unsigned")
    problems = tree.problems()
    assert len(problems) == 2 and ghost in problems[0] and "unsigned" in problems[1]
    assert not tree.ok
    assert json.loads(json.dumps(tree.to_dict()))["parents"][0]["parents"][1]["status"] == "missing"

    with pytest.raises(VerificationFailed, match=r"lineage: .*\(and 1 more\)"):
        verify(model.artifact_cid, store, index)
    assert verify(model.artifact_cid, store, index, check_lineage=False).lineage is None
    assert verify(base.manifest_cid, store, index, check_lineage=False).signer == BOB.address
    assert lineage(d1.artifact_cid, store, index).ok


def test_lineage_reports_cycles_and_unknown_roots(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    path = _file(tmp_path, "m", b"m")
    first = publish(path, _card(), ALICE, store, index)
    publish(path, _card(base_model=str(first.artifact_cid)), ALICE, store, index)
    tree = lineage(first.artifact_cid, store, index)
    assert tree.parents[0].status == "cycle"
    unknown = lineage(str(add_bytes(b"?", MemoryBlockstore())), store, index)
    assert unknown.status == "missing" and unknown.parents == ()


def test_index_matches_v0_and_v1(
    tmp_path: Path, store: MemoryBlockstore, index: ManifestIndex
) -> None:
    done = publish(
        _file(tmp_path, "f", b"v0"), _card(), ALICE, store, index, profile="unixfs-v0-2015"
    )
    assert str(done.artifact_cid).startswith("Qm")
    assert index.manifests_for(done.artifact_cid.to_v1()) == [str(done.manifest_cid)]
    assert verify(str(done.artifact_cid.to_v1()), store, index).signer == ALICE.address
