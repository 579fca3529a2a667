"""Build the prebuilt digits classifier that ships inside cairn, once.

    python tools/build_digits.py           # write src/cairn/inference/bundled/
    python tools/build_digits.py --check   # rebuild elsewhere; exit 1 if the bytes differ

Writes the model folder ``bundled/digits-logreg/`` (``model.onnx`` and
``cairn-model.json``, about 4 KB; see :mod:`cairn.inference.digits`) and
``bundled/digits-samples.json``, the first rows of the held-out split. Training
is deterministic (fixed split seed, lbfgs), and needs scikit-learn (the ``dev``
extra); serving the shipped folder does not. Run it only when the model itself
changes: its bytes are its CID, and a node that serves the new bytes serves a
new model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from cairn.inference import DIGITS_NAME, build_digits_classifier, digits_split
from cairn.inference.digits import SAMPLES_FILE

BUNDLED = Path(__file__).resolve().parents[1] / "src" / "cairn" / "inference" / "bundled"
SAMPLES = 32


def build(out: Path) -> list[Path]:
    """Write the folder and the samples under ``out``; return every file written."""
    folder = build_digits_classifier(out / DIGITS_NAME)
    _, x_test, _, y_test = digits_split()
    doc = {
        "source": "sklearn.datasets.load_digits, held-out split (cairn.inference.digits_split)",
        "x": x_test[:SAMPLES].astype(int).tolist(),
        "y": y_test[:SAMPLES].astype(int).tolist(),
    }
    (out / SAMPLES_FILE).write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    return sorted([*folder.iterdir(), out / SAMPLES_FILE])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a rebuild, write nothing")
    args = parser.parse_args()
    if not args.check:
        for path in build(BUNDLED):
            print(f"wrote {path.relative_to(BUNDLED.parents[3])} ({path.stat().st_size} bytes)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        differ = [
            p.relative_to(tmp)
            for p in build(Path(tmp))
            if p.read_bytes() != (BUNDLED / p.relative_to(tmp)).read_bytes()
        ]
    for path in differ:
        print(f"differs from the shipped file: {path}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
