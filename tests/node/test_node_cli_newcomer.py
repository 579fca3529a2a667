"""The CLI as a newcomer meets it: the documented flows work as written against a real
``cairn up`` process, every failure is one line (exit 1), and ``--json`` is one object.

One ``cairn up --json`` serves the module (a real process, as a user starts it); each
client command runs as its own ``python -m cairn`` process against it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import typer
from _up import up_env
from sklearn.datasets import load_digits

from cairn.cli.main import app
from cairn.node.server import free_port

pytestmark = pytest.mark.slow

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \("  # fmt_time: ISO 8601, then how long ago
SHAPE_ERROR = "inputs.pixels.shape: expected a list of integers"


@dataclass
class Up:
    data: Path
    url: str
    banner: dict[str, Any]
    proc: subprocess.Popen[str]
    out: Path


def _cli(
    data: Path, *args: str, cwd: Path | None = None, gateway: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = up_env(data)
    env.pop("CAIRN_GATEWAY", None)
    if gateway is not None:
        env["CAIRN_GATEWAY"] = gateway
    return subprocess.run(
        [sys.executable, "-m", "cairn", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The failure of a command: exit 1 and exactly one line on stderr."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _one_object(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """``--json``: stdout is exactly one JSON object, on one line."""
    text = done.stdout.strip()
    assert text and "\n" not in text, done.stdout
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """``cairn up --json`` in its own process; its one JSON object says where it serves."""
    root = tmp_path_factory.mktemp("newcomer")
    data, out, port = root / "data", root / "up.out", free_port()
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cairn", "up", "--json", "--port", str(port)],
            env=up_env(data),
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
        )
    deadline = time.monotonic() + 180
    while not out.read_text().endswith("\n"):
        assert proc.poll() is None, proc.communicate()
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("cairn up --json said nothing within 3 minutes")
        time.sleep(0.3)
    banner = json.loads(out.read_text())
    try:
        yield Up(data, banner["gateway"], banner, proc, out)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    pixels = load_digits().data[:1].astype(np.float32)
    body = {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": pixels.tolist()}}}
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    return path


# -- 1. `cairn up` refuses a busy port before it sets anything up ------------------------


def test_up_on_a_busy_port_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "never-created"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _cli(data, "--data-dir", str(data), "up", "--port", str(port))
    line = _one_line(done)
    assert f"port {port}" in line and "in use" in line and "Errno" not in line
    assert not data.exists()  # no wallet, chain, model or stake: nothing was set up
    assert done.stdout == ""


# -- 2. the README flow: infer -o, then receipt verify --input ---------------------------


def test_readme_flow_infer_to_a_file_then_verify_it(up: Up, request_file: Path) -> None:
    work = request_file.parent
    done = _cli(
        up.data, "infer", "digits-logreg", "request.json", "-o", "answer.json", cwd=work,
        gateway=up.url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"^label\s+int64\[1\]\s+\[\d\]$", done.stdout, re.M), done.stdout
    assert re.search(rf"issued {ISO}.*verified offline", done.stderr), done.stderr
    saved = json.loads((work / "answer.json").read_text())
    assert saved["receipt"]["requestId"].startswith("0x") and "outputs" in saved
    assert sorted(p.name for p in work.iterdir()) == ["answer.json", "request.json"]  # no temp

    verified = _cli(
        up.data, "receipt", "verify", "answer.json", "--input", "request.json", cwd=work
    )
    assert verified.returncode == 0, verified.stderr
    assert re.search(rf"issued {ISO}.*verified offline", verified.stdout), verified.stdout

    other = json.loads(request_file.read_text())
    other["inputs"]["pixels"]["data"][0][5] += 1.0
    (work / "other.json").write_text(json.dumps(other))
    wrong = _cli(up.data, "receipt", "verify", "answer.json", "--input", "other.json", cwd=work)
    assert "input does not match" in _one_line(wrong)


def test_a_model_by_cid_and_the_gateway_from_the_flag(up: Up, request_file: Path) -> None:
    cid = next(m["cid"] for m in up.banner["models"] if m["name"] == "digits-logreg")
    done = _cli(up.data, "infer", cid, str(request_file), "--gateway", up.url, "--json")
    assert done.returncode == 0, done.stderr
    assert _one_object(done)["model"] == cid
    by_cid = _cli(up.data, "embed", "--model", _minilm(up), "--gateway", up.url, "a cairn")
    assert by_cid.returncode == 0, by_cid.stderr


def _minilm(up: Up) -> str:
    return str(next(m["cid"] for m in up.banner["models"] if m["name"] == "all-MiniLM-L6-v2"))


def test_a_failed_run_leaves_the_output_file_as_it_was(up: Up, request_file: Path) -> None:
    answer = request_file.parent / "answer.json"
    answer.write_text("kept")
    bad = request_file.parent / "bad.json"
    bad.write_text(json.dumps({"pixels": {"dtype": "float32", "shape": [1, 64], "data": []}}))
    done = _cli(up.data, "infer", "digits-logreg", str(bad), "-o", str(answer), gateway=up.url)
    _one_line(done)
    assert answer.read_text() == "kept"


# -- 3. the request format, and one clear line for a wrong guess at it -------------------

WRONG_GUESSES = [
    (  # the tensors without the "inputs" wrapper
        {"pixels": {"dtype": "float32", "shape": [1, 64], "data": [0.0] * 64}},
        "body: missing 'inputs'; unknown key 'pixels'",
    ),
    ({"inputs": {"pixels": [0.0] * 64}}, "inputs.pixels: expected a tensor {"),
    (
        {"inputs": {"pixels": {"dtype": "float32", "shape": "1x64", "data": [0.0] * 64}}},
        SHAPE_ERROR,
    ),
    (
        {"inputs": {"pixels": {"type": "float32", "shape": [1, 64], "data": [0.0] * 64}}},
        "inputs.pixels: missing 'dtype'; unknown key 'type' (did you mean 'dtype'?)",
    ),
    (
        {"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64], "data": [0.0] * 3}}},
        "inputs.pixels: data does not match shape [1, 64]",
    ),
    (
        {"inputs": {"pixels": {"dtype": "float", "shape": [1, 64], "data": [0.0] * 64}}},
        "inputs.pixels: unsupported dtype 'float'",
    ),
    (
        {"inputs": {"pixels": {"dtype": "float32", "shape": [64], "data": [0.0] * 64}}},
        "inputs.pixels: shape [64], expected",
    ),
    ({"inputs": {}}, "inputs: no tensors given"),
    ({"inputs": {"": {"dtype": "bool", "shape": [], "data": [True]}}}, "inputs: a tensor name is"),
]


@pytest.mark.parametrize(("body", "line"), WRONG_GUESSES)
def test_a_malformed_request_is_one_line_naming_the_field(
    up: Up, tmp_path: Path, body: dict[str, Any], line: str
) -> None:
    resp = httpx.post(f"{up.url}/v1/infer/digits-logreg", json=body, timeout=30)
    assert 400 <= resp.status_code < 500, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith(line), detail
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    said = _one_line(_cli(up.data, "infer", "digits-logreg", str(path), gateway=up.url))
    assert line in said and "[{" not in said  # the gateway's line, not a pydantic dump


@pytest.mark.parametrize(
    ("path", "body", "line"),
    [
        ("/v1/infer/digits-logreg", b"{not json", "body is not JSON: "),
        ("/v1/embeddings", b'{"model": "x", "input": [{"a": 1}]}', "input: expected a text or a"),
        ("/v1/embeddings", b'{"input": "x"}', "body: missing 'model'"),
        ("/v1/chain/rpc", b'{"method": 7}', "method: input should be a valid string, got 7"),
    ],
)
def test_every_validation_error_is_one_line(up: Up, path: str, body: bytes, line: str) -> None:
    resp = httpx.post(
        up.url + path, content=body, headers={"content-type": "application/json"}, timeout=30
    )
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith(line), detail
    if path == "/v1/embeddings":  # OpenAI's error object says the same, for the SDKs
        assert resp.json()["error"]["message"] == detail


def test_the_request_format_is_documented_where_a_newcomer_looks() -> None:
    helped = _help("infer")
    for part in ('{"inputs": {"pixels": {"dtype": "float32", "shape": [1, 64]', "base64"):
        assert part in helped
    doc = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    section = doc.split("## Calling a model")[1].split("\n## ")[0]
    assert '"inputs"' in section and '"dtype"' in section and "inputs.pixels.shape" in section


def test_a_missing_or_non_json_request_file_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    absent = _one_line(_cli(data, "infer", "digits-logreg", str(tmp_path / "nope.json")))
    assert "nope.json: no such file" in absent
    (tmp_path / "x.json").write_text("{not json")
    assert "is not JSON" in _one_line(_cli(data, "infer", "m", str(tmp_path / "x.json")))


# -- 4. --json: exactly one object on stdout, failures included ---------------------------


def test_json_everywhere(up: Up, request_file: Path) -> None:
    embedded = _one_object(_cli(up.data, "embed", "--json", "one", "two", gateway=up.url))
    assert embedded["ok"] is True and len(embedded["answer"]["data"]) == 2
    assert embedded["offline"] is True and embedded["onchain"] is False
    work = request_file.parent
    inferred = _one_object(
        _cli(up.data, "infer", "digits-logreg", "request.json", "--json", "-o", "a.json",
             cwd=work, gateway=up.url)
    )  # fmt: skip
    assert inferred["ok"] is True and "label" in inferred["answer"]["outputs"]
    assert inferred["answer"] == json.loads((work / "a.json").read_text())
    verified = _one_object(
        _cli(up.data, "receipt", "verify", "a.json", "--input", "request.json", "--json", cwd=work)
    )
    assert verified["ok"] is True and verified["receipt"] == inferred["answer"]["receipt"]
    assert verified["issued_at"] == verified["receipt"]["issuedAt"]

    answer = inferred["answer"]
    answer["outputs"]["label"]["data"][0] = (answer["outputs"]["label"]["data"][0] + 1) % 10
    (work / "tampered.json").write_text(json.dumps(answer))
    refused = _cli(up.data, "receipt", "verify", "tampered.json", "--json", cwd=work)
    assert "does not match" in _one_line(refused)
    failure = _one_object(refused)
    assert failure["ok"] is False and "does not match" in failure["error"]

    bad = work / "bad.json"
    bad.write_text(json.dumps({"inputs": {"pixels": {"dtype": "float32", "shape": "1x64"}}}))
    refused = _cli(up.data, "infer", "digits-logreg", str(bad), "--json", gateway=up.url)
    assert _one_object(refused)["ok"] is False and "inputs.pixels" in _one_line(refused)


def test_up_json_is_one_object_for_its_whole_run(up: Up) -> None:
    assert up.banner["ok"] is True and up.banner["gateway"] == up.url
    assert {m["name"] for m in up.banner["models"]} == {"all-MiniLM-L6-v2", "digits-logreg"}
    assert up.banner["node"] == httpx.get(f"{up.url}/healthz", timeout=10).json()["node"]
    assert up.out.read_text().count("\n") == 1  # nothing else on stdout while it serves


# -- 5. one set of options, help for every argument, no <bool> --------------------------

COMMANDS = [("up",), ("embed",), ("infer",), ("receipt",), ("receipt", "verify")]


def _command(*path: str) -> Any:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def _help(*path: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cairn", *path, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_names_every_argument_and_shows_no_bool(path: tuple[str, ...]) -> None:
    assert "<bool>" not in _help(*path)
    for param in _command(*path).params:
        assert getattr(param, "help", None), f"{' '.join(path)}: {param.name} has no help"


@pytest.mark.parametrize("path", [("embed",), ("infer",), ("receipt", "verify")], ids=" ".join)
def test_client_commands_share_gateway_json_and_model_options(path: tuple[str, ...]) -> None:
    params = {p.name: p for p in _command(*path).params}
    assert params["gateway"].envvar == "CAIRN_GATEWAY"
    assert "CAIRN_GATEWAY" in _help(*path)
    assert {"as_json", "online", "network", "chain", "gateway"} <= set(params)
    model = next(p for p in params.values() if p.name == "model")
    assert "name or CID" in (model.help or "")


def test_gateway_from_the_environment(up: Up) -> None:
    done = _cli(up.data, "embed", "hello", gateway=up.url)  # no --gateway: $CAIRN_GATEWAY
    assert done.returncode == 0, done.stderr
    unreachable = _cli(up.data, "embed", "hello", gateway="http://127.0.0.1:9")
    assert "127.0.0.1:9" in _one_line(unreachable)
