"""A command imports only the layers it uses (STYLE.md 11, issue "Speed").

Each case runs one ``cairn`` command in a fresh interpreter and lists the
modules it ended up importing: ``cairn add`` must not pay for ONNX Runtime,
web3 or FastAPI. A behaviour, not a clock (bench/cli_startup.py has the clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.content import Cid

HEAVY = ("onnx", "onnxruntime", "web3", "fastapi", "numpy", "uvicorn")

_SCRIPT = """
import json, sys
from cairn.cli.main import main
code = main(sys.argv[1:])
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imported_by(data_dir: Path, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *args],
        capture_output=True,
        env={**os.environ, "CAIRN_DATA_DIR": str(data_dir)},
        timeout=120,
        check=False,
    )
    result = json.loads(done.stdout.decode().splitlines()[-1])
    assert result["code"] == 0, done.stderr.decode()
    return {name.split(".")[0] for name in result["modules"]}


def _one_byte_file(tmp_path: Path) -> Path:
    path = tmp_path / "one.bin"
    path.write_bytes(b"x")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("add", "-q", "{file}"),
        ("cat", "bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe"),
        ("wallet", "list"),
        ("audit", "{stack}"),
    ],
    ids=["help", "add", "cat", "wallet-list", "audit"],
)
def test_a_light_command_imports_no_heavy_backend(
    args: tuple[str, ...], data_dir: Path, tmp_path: Path
) -> None:
    stack = Path(__file__).resolve().parents[1] / "examples" / "stacks" / "cairn-embedded.yaml"
    file = _one_byte_file(tmp_path)
    argv = [a.format(file=file, stack=stack) for a in args]
    if argv[0] == "cat":
        assert _imported_by(data_dir, "add", "-q", str(file)) & set(HEAVY) == set()
    assert _imported_by(data_dir, *argv) & set(HEAVY) == set()


@pytest.mark.parametrize("command", ["help", "add", "cat"])
def test_the_fast_commands_do_not_import_typer(
    command: str, data_dir: Path, tmp_path: Path
) -> None:
    """``add``, ``cat`` and a kept root help start without typer, click or pydantic."""
    file = _one_byte_file(tmp_path)
    cid = str(Cid.of(file.read_bytes()))  # a raw leaf: the file is one byte
    argv = {"help": ["--help"], "add": ["add", "-q", str(file)], "cat": ["cat", cid]}[command]
    if command != "add":
        _imported_by(data_dir, "add", "-q", str(file))
    if command == "help":
        _imported_by(data_dir, "--help")  # renders it once through typer, and keeps it
    assert _imported_by(data_dir, *argv) & {"typer", "click", "pydantic", "multiformats"} == set()


def test_the_heavy_names_stay_importable() -> None:
    from cairn.chain import EMBEDDED, connect
    from cairn.content import GatewayBlockstore, fetch
    from cairn.inference import OnnxRuntime, build_minilm, parse_policy

    assert EMBEDDED == "embedded://"
    assert all(callable(x) for x in (connect, fetch, build_minilm, parse_policy))
    assert OnnxRuntime.__name__ == "OnnxRuntime"
    assert GatewayBlockstore.__name__ == "GatewayBlockstore"


def test_a_name_a_package_does_not_have_is_an_attribute_error() -> None:
    import cairn.inference

    with pytest.raises(AttributeError, match="no_such_name"):
        _ = cairn.inference.no_such_name  # type: ignore[attr-defined]


def test_a_node_serves_without_the_onnx_package() -> None:
    """Serving needs ONNX Runtime; onnx (and ml_dtypes, 0.5 s) only builds graphs."""
    code = "import sys, cairn.node, cairn.inference as i; i.load_model; i.build_minilm_int8\n"
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'ml_dtypes')))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=120, check=True
    )
    assert done.stdout.decode().strip() == "[]"


def test_a_node_start_on_a_built_folder_does_not_import_onnx(tmp_path: Path) -> None:
    """What a node runs at every start (``build_minilm`` finds the folder built) must not
    pay for the graph builder's imports: a fresh process, after another built it."""
    build = "from pathlib import Path; from cairn.inference import build_minilm\n"
    build += f"build_minilm(Path({str(tmp_path)!r}))"
    subprocess.run([sys.executable, "-c", build], capture_output=True, timeout=300, check=True)
    code = build + "\nimport sys\n"
    heavy = ("onnx", "ml_dtypes", "safetensors")
    code += f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=120, check=True
    )
    assert done.stdout.decode().strip() == "[]"
