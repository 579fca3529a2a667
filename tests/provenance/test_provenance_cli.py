"""`cairn publish | verify | lineage` through the real command-line app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cairn.cli.main import app, main
from cairn.errors import ManifestError, VerificationFailed
from cairn.inference import PolicyError

KEY = "0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4"
ADDRESS = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"


def cairn(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(
        app, ["--data-dir", str(data_dir), *args], env={"CAIRN_PASSPHRASE": "pw"}
    )


@pytest.fixture
def wallet(data_dir: Path) -> str:
    r = cairn(
        data_dir, "wallet", "import", "pub", "--key", KEY, "--kdf", "pbkdf2", "--iterations", "16"
    )
    assert r.exit_code == 0, r.output
    return ADDRESS


def _publish(data_dir: Path, path: Path, *extra: str) -> str:
    r = cairn(
        data_dir,
        "publish",
        str(path),
        "--name",
        path.name,
        "--version",
        "1",
        "--license",
        "Apache-2.0",
        "-q",
        *extra,
    )
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output.strip()


def test_publish_verify_lineage(data_dir: Path, tmp_path: Path, wallet: str) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "rows.csv").write_text("a,b\n1,2\n")
    ds_manifest = _publish(data_dir, ds, "--kind", "dataset")
    ds_artifact = json.loads(cairn(data_dir, "lineage", ds_manifest, "--json").output)["cid"]
    model = tmp_path / "model.bin"
    model.write_bytes(b"\x01" * 5000)
    r = cairn(
        data_dir,
        "publish",
        str(model),
        "--name",
        "m",
        "--version",
        "2",
        "--license",
        "MIT",
        "--dataset",
        ds_artifact,
        "--policy",
        "cosine:0.999",
        "--contributor",
        "alice",
        "--wallet",
        "pub",
    )
    assert r.exit_code == 0, r.output
    assert "artifact" in r.output and "manifest" in r.output and wallet in r.output
    manifest = r.output.split("manifest ")[1].split()[0]

    r = cairn(data_dir, "verify", manifest, "--signer", wallet)
    assert r.exit_code == 0, r.exception
    assert "verified model m@2 (MIT)" in r.output and "lineage ok (2 links)" in r.output

    r = cairn(data_dir, "lineage", manifest, "--json")
    tree = json.loads(r.output)
    assert tree["name"] == "m" and tree["parents"][0]["cid"] == ds_artifact

    r = cairn(data_dir, "lineage", manifest)
    assert r.exit_code == 0 and "m@2" in r.output and "ds@1" in r.output


def test_bad_lineage_exits_non_zero(data_dir: Path, tmp_path: Path, wallet: str) -> None:
    f = tmp_path / "m"
    f.write_bytes(b"m")
    ghost = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    manifest = _publish(data_dir, f, "--base", ghost)
    r = cairn(data_dir, "lineage", manifest)
    assert "missing" in r.output
    assert isinstance(r.exception, VerificationFailed)
    r = cairn(data_dir, "verify", manifest)
    assert isinstance(r.exception, VerificationFailed) and ghost in str(r.exception)
    assert cairn(data_dir, "verify", manifest, "--no-lineage").exit_code == 0


def test_verify_exit_code_and_one_line(
    data_dir: Path, tmp_path: Path, wallet: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "m"
    f.write_bytes(b"m")
    manifest = _publish(data_dir, f)
    assert main(["--data-dir", str(data_dir), "verify", manifest]) == 0
    capsys.readouterr()
    wrong = "0x" + "11" * 20
    assert main(["--data-dir", str(data_dir), "verify", manifest, "--signer", wrong]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: manifest")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--license", "apache"], ManifestError),
        (["--license", "MIT", "--policy", "fuzzy"], PolicyError),
        (["--license", "MIT", "--kind", "weights"], ManifestError),
        (["--license", "MIT", "--base", "not-a-cid"], ManifestError),
    ],
)
def test_publish_rejects_bad_cards(
    data_dir: Path, tmp_path: Path, wallet: str, args: list[str], error: type[Exception]
) -> None:
    f = tmp_path / "m"
    f.write_bytes(b"m")
    r = cairn(data_dir, "publish", str(f), "--name", "n", "--version", "1", *args)
    assert isinstance(r.exception, error)


def test_publish_and_verify_as_json(
    data_dir: Path,
    tmp_path: Path,
    wallet: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAIRN_PASSPHRASE", "pw")
    f = tmp_path / "m.bin"
    f.write_bytes(b"\x02" * 100)
    base = ["--data-dir", str(data_dir)]
    card = ["--name", "m", "--version", "3", "--license", "MIT", "--wallet", "pub"]
    assert main([*base, "publish", str(f), *card, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one JSON object, nothing else
    published = json.loads(out)
    assert published["signer"] == wallet
    assert published["card"]["name"] == "m" and published["card"]["version"] == "3"

    # --signer takes a wallet name as well as an address
    assert main([*base, "verify", published["artifact"], "--signer", "pub", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    verified = json.loads(out)
    assert verified["verified"] is True and verified["signer"] == wallet
    assert verified["manifest"] == published["manifest"]
    assert verified["subjects"][0]["cid"] == published["artifact"]
    assert verified["subjects"][0]["filename"] == "m.bin"
    assert verified["card"]["license"] == "MIT" and verified["lineage"]["name"] == "m"

    assert main([*base, "verify", published["manifest"], "--no-lineage", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lineage"] is None


def test_verify_json_failure_prints_nothing_on_stdout(
    data_dir: Path, tmp_path: Path, wallet: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "m"
    f.write_bytes(b"m")
    manifest = _publish(data_dir, f)
    wrong = "0x" + "22" * 20
    args = ["--data-dir", str(data_dir), "verify", manifest, "--signer", wrong, "--json"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
