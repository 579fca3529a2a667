"""``--json`` on the content commands: exactly one JSON object on stdout, nothing else; and
``cairn fetch``'s gateway from ``$CAIRN_GATEWAY``."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cairn import content
from cairn.cli.main import main


class Cli:
    """``cairn --data-dir D ...`` in this process: (exit code, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, data_dir: Path, *args: str | Path) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data_dir), *map(str, args)])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, data_dir: Path, *args: str | Path) -> dict[str, Any]:
        code, out, err = self(data_dir, *args, "--json")
        assert code == 0, err
        assert out.endswith("\n") and out.count("\n") == 1, out  # one object, one line
        doc = json.loads(out)
        assert isinstance(doc, dict)
        return doc


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("CAIRN_GATEWAY", raising=False)
    return Cli(capsys)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    src = tmp_path / "model"
    src.mkdir()
    (src / "w.bin").write_bytes(os.urandom(300_000))
    (src / "c.json").write_text("{}")
    return src


def test_add_get_and_car_roundtrip_as_json(cli: Cli, model: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    added = cli.json(a, "add", model)
    want = str(content.add_path(model, content.NullBlockstore()))
    assert added == {
        "cid": want,
        "name": "model",
        "bytes": 300_002,
        "profile": content.DEFAULT_PROFILE,
        "stored": True,
    }
    assert cli.json(a, "add", "--only-hash", "-q", model)["stored"] is False

    car = tmp_path / "m.car"
    exported = cli.json(a, "car", "export", want, "-o", car)
    assert exported["root"] == want and exported["output"] == str(car)
    assert exported["blocks"] >= 3
    assert cli.json(b, "car", "import", car) == {"roots": [want], "version": 1}

    out = tmp_path / "out"
    assert cli.json(b, "get", want, "-o", out) == {"cid": want, "output": str(out)}
    assert (out / "w.bin").read_bytes() == (model / "w.bin").read_bytes()


def test_human_output_is_unchanged_without_json(cli: Cli, model: Path, tmp_path: Path) -> None:
    code, out, _ = cli(tmp_path / "a", "add", model)
    assert code == 0 and out.startswith("added ") and "bytes" in out
    code, out, _ = cli(tmp_path / "a", "add", "-q", model)
    assert out.strip() == str(content.add_path(model, content.NullBlockstore()))


class _Gateway:
    """A trustless gateway (CAR and raw blocks) over one blockstore."""

    def __init__(self, store: content.Blockstore) -> None:
        outer = self
        self.store = store
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.hits += 1
                cid = content.Cid.parse(self.path.removeprefix("/ipfs/").split("?")[0])
                if not outer.store.has(cid):
                    self.send_response(404)
                    self.end_headers()
                    return
                if "car" in self.headers.get("Accept", ""):
                    buf = io.BytesIO()
                    content.write_car([cid], content.walk_blocks(cid, outer.store), buf)
                    body = buf.getvalue()
                else:
                    body = outer.store.get(cid)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def gateway() -> Iterator[_Gateway]:
    gw = _Gateway(content.MemoryBlockstore())
    thread = threading.Thread(target=gw.server.serve_forever, daemon=True)
    thread.start()
    yield gw
    gw.server.shutdown()


def test_fetch_takes_the_gateway_from_the_environment(
    cli: Cli, gateway: _Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(5000)
    small_chunks = content.get_profile("unixfs-v1-2025").with_overrides(chunk_size=1000)
    root = content.add_bytes(data, gateway.store, small_chunks)
    monkeypatch.setenv("CAIRN_GATEWAY", gateway.url)
    fetched = cli.json(tmp_path / "d", "fetch", str(root))
    assert fetched["cid"] == str(root) and fetched["gateway"] == gateway.url
    assert fetched["blocks"] >= 3 and gateway.hits == 1
    assert cli(tmp_path / "d", "get", str(root), "-o", tmp_path / "got")[0] == 0
    assert (tmp_path / "got").read_bytes() == data


def test_fetch_option_wins_over_the_environment(
    cli: Cli, gateway: _Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = content.add_bytes(b"hello", gateway.store)
    monkeypatch.setenv("CAIRN_GATEWAY", "http://127.0.0.1:1")
    doc = cli.json(tmp_path / "d", "fetch", str(root), "--gateway", gateway.url, "--raw")
    assert doc == {"cid": str(root), "blocks": 1, "gateway": gateway.url}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (None, "error: no gateway: pass --gateway URL or set CAIRN_GATEWAY"),
        ("", "error: no gateway: pass --gateway URL or set CAIRN_GATEWAY"),
        ("ftp://x", "error: gateway must be an http(s) URL, not 'ftp://x'"),
    ],
)
def test_fetch_without_a_usable_gateway_is_one_line(
    cli: Cli, env: str | None, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is not None:
        monkeypatch.setenv("CAIRN_GATEWAY", env)
    code, out, err = cli(tmp_path / "d", "fetch", "--json", "bafkqaaa")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [message]
