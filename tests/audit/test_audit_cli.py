"""``cairn audit`` end to end through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.cli.main import main

STACKS = Path(__file__).resolve().parents[2] / "examples" / "stacks"
EMBEDDED = STACKS / "cairn-embedded.yaml"


def test_table_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(EMBEDDED)]) == 0
    out = capsys.readouterr().out
    assert "cairn (embedded defaults): stage 0" in out
    assert "identity & payments" in out
    assert "Where is inference" in out


def test_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(EMBEDDED), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rosette"]["inference"]["rating"] == "bad"


@pytest.mark.parametrize(
    ("fmt", "marker"), [("html", "<svg"), ("json", '"rosette"'), ("table", "stage 0")]
)
def test_output_file(tmp_path: Path, fmt: str, marker: str) -> None:
    out = tmp_path / "sub" / f"report.{fmt}"
    assert main(["audit", str(EMBEDDED), "-f", fmt, "-o", str(out)]) == 0
    assert marker in out.read_text()
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary left behind


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--explain"]) == 0
    out = capsys.readouterr().out
    for word in (
        "ROSETTE",
        "RED FLAGS",
        "STAGES",
        "NAKAMOTO",
        "storage-as-execution",
        "good:",
        "warning:",
        "bad:",
        "why:",
        "L2BEAT",
    ):
        assert word in out


def test_a_saved_document_alone_is_not_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A document names the contracts; without them nothing can be read from a chain."""
    doc = {
        "chain": {"url": "embedded://", "chain_id": 31337, "kind": "embedded"},
        "registry": {"update_delay_s": 0, "owners": ["0x1"]},
        "inference": {"operators": 1},
    }
    path = tmp_path / "network.json"
    path.write_text(json.dumps(doc))
    assert main(["audit", "--live", path.as_uri(), "-f", "json"]) == 1
    err = capsys.readouterr().err
    assert "names no ReceiptAnchor" in err and err.strip().count("\n") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit"], "give a stack manifest"),
        (["audit", str(EMBEDDED), "--live", "http://x"], "not both"),
        (["audit", str(EMBEDDED), "-f", "pdf"], "unknown format 'pdf'"),
        (["audit", "absent.yaml"], "absent.yaml: cannot read"),
        (["audit", "--live", "gopher://x"], "cannot read a network"),
        (["audit", str(EMBEDDED), "--network", "x"], "not both"),
        (["audit", "--chain", "http://127.0.0.1:9"], "--chain goes with"),
        (["audit", "--network", "absent"], "no network profile 'absent'"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.strip().count("\n") == 0


def test_invalid_manifest_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "stack.yaml"
    bad.write_text(EMBEDDED.read_text().replace("operators: 1\n", "operators: zero\n", 1))
    assert main(["audit", str(bad)]) == 1
    assert f"{bad}:11: layers.storage.operators: must be a positive integer" in (
        capsys.readouterr().err
    )


def test_package_exports_what_it_says() -> None:
    import cairn.audit as audit_pkg

    assert all(hasattr(audit_pkg, name) for name in audit_pkg.__all__)
    assert "audit_live" in audit_pkg.__all__


def test_json_flag_is_format_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(EMBEDDED), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rosette"]["inference"]["rating"] == "bad"
    assert main(["audit", str(EMBEDDED), "--json", "-f", "html"]) == 1
    assert "--json and --format html disagree" in capsys.readouterr().err
    assert main(["audit", "--explain", "--json"]) == 1
