"""Interop: @helia/verified-fetch (npm), a real IPFS client, fetches a model file from the
gateway's /ipfs/ endpoint block by block, verifying each one, and gets the same bytes."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn import content

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parent / "helia_fetch.mjs"


@pytest.mark.parametrize("filename", ["cairn-model.json", "model.onnx"])
def test_helia_verified_fetch_gets_the_model_file(
    node: Any, client: httpx.Client, node_exe: str, node_bin: Path, filename: str
) -> None:
    model = client.get("/v1/models").json()["data"][0]  # MiniLM: model.onnx is ~90 MB, 87 blocks
    entries = dict(content.list_directory(content.Cid.parse(model["cid"]), node.ctx.store))
    cid = entries[filename]
    expected = hashlib.sha256(content.read_bytes(cid, node.ctx.store)).hexdigest()
    done = subprocess.run(
        [node_exe, str(SCRIPT), node.url, str(cid)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=node_bin.parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["status"] == 200
    assert got["sha256"] == expected
