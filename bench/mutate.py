"""Mutation testing: does the suite notice when a guard or a rule is broken?

Issue 9 ("How to prove it") and STYLE.md point 10: every guard has a test that
trips it. This benchmark removes each ``assert``/``raise`` of each contract in
turn (rebuilding that contract's artifact) and applies a few small operators to
the Python sampling, Merkle and digest code, one at a time, then runs the tests
that should notice. A mutant the tests do not kill is either equivalent (it
cannot change behaviour) or a gap in the tests.

All mutation happens in a private copy (``--workdir``, a fresh temporary
directory by default) of the last commit (``git archive HEAD``, consistent while
others edit; ``--worktree`` copies the working tree, ``--overlay FILE`` one file of
it): the working tree is only read. The copy's ``src`` shadows the editable install through
``PYTHONPATH``. Results go to ``bench/results/mutation.json``, merged per file
with earlier runs (each file's entry records the commit and source sha256 it was
run against). Not part of ``make test``: about 400 mutants at 10-60 s each
(hours on two busy cores), so it is run in parts with ``--only``.

    python bench/mutate.py                 # everything
    python bench/mutate.py --quick         # Disputes.vy and merkle.py
    python bench/mutate.py --only src/cairn/receipts/merkle.py
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "mutation.json"
CONTRACTS_DIR = "src/cairn/chain/contracts"
CONTRACTS = (
    "Disputes",
    "Challenges",
    "Staking",
    "ReceiptAnchor",
    "ModelRegistry",
    "BatchSettlement",
)

# The tests that judge a contract, most telling first (pytest -x stops at the first
# failure). Skipped: test_chain_artifacts (the mutant's artifact is rebuilt, and it
# recompiles every contract) and test_chain_revert_coverage (it reads the source
# text, so it would "kill" a removed assert without running it).
_CHAIN_FIRST = {
    "Disputes": [
        "tests/verification/test_verification_disputes.py",
        "test_chain_disputes_deploy.py",
    ],
    "Challenges": [
        "tests/verification/test_verification_withholding.py",
        "tests/verification/test_verification_challenges.py",
    ],
    "Staking": ["test_chain_staking.py", "tests/verification/test_verification_disputes.py"],
    "ReceiptAnchor": [
        "test_chain_anchor.py",
        "tests/verification/test_verification_withholding.py",
    ],
    "ModelRegistry": ["test_chain_registry.py"],
    "BatchSettlement": ["test_chain_batch_settlement.py", "test_chain_properties.py"],
}
_CHAIN_SKIP = {"test_chain_artifacts.py", "test_chain_revert_coverage.py"}
_DISPUTES = "tests/verification/test_verification_disputes.py"

# Python modules: which functions are mutated (None: the whole module) and their tests.
PY_MODULES: dict[str, tuple[set[str] | None, list[str]]] = {
    "src/cairn/receipts/merkle.py": (
        None,
        ["tests/receipts/test_receipts_core.py", "tests/receipts", _DISPUTES],
    ),
    "src/cairn/verification/sampling.py": (
        None,
        [
            "tests/verification/test_verification_sampling.py",
            "tests/verification/test_verification_economics.py",
            _DISPUTES,
        ],
    ),
    "src/cairn/receipts/receipt.py": (
        {
            "ReceiptDomain.same_network",
            "ReceiptDomain._json",
            "ReceiptDomain.separator",
            "_hashed_model",
            "_model_size",
            "_hashed_text",
            "_utf8_size",
            "_b32",
            "Receipt.struct_hash",
            "Receipt.digest",
            "Receipt.check_judgeable",
            "Receipt.sign",
            "Receipt.signer",
        },
        [
            "tests/receipts/test_receipts_core.py",
            "tests/receipts",
            "tests/verification/test_verification_sampling.py",
            _DISPUTES,
        ],
    ),
}
QUICK = [f"{CONTRACTS_DIR}/Disputes.vy", "src/cairn/receipts/merkle.py"]
# the quick pair first, so a run cut short still covers the most telling files
ALL = QUICK + [
    f for f in [f"{CONTRACTS_DIR}/{c}.vy" for c in CONTRACTS] + list(PY_MODULES) if f not in QUICK
]

_MARK = ".cairn-mutate-copy"
SOURCE = "HEAD"  # what the private copy was made from (set by main)
PYTEST = ["-m", "pytest", "-x", "-q", "-m", "not integration", "-p", "no:randomly"]


@dataclass
class Mutant:
    line: int
    operator: str
    detail: str
    source: str = field(repr=False, default="")
    status: str = ""  # killed | timeout | survived | uncompilable
    seconds: float = 0.0


# -- the private copy --------------------------------------------------------


def make_copy(workdir: Path | None, worktree: bool, overlay: list[str]) -> Path:
    """The copy: ``git archive HEAD`` (consistent while others edit) or the working tree."""
    dest = Path(tempfile.mkdtemp(prefix="cairn-mutate-")) if workdir is None else workdir
    if dest.resolve() == ROOT:
        raise SystemExit("--workdir must not be the repository itself")
    if dest.exists() and any(dest.iterdir()):
        if not (dest / _MARK).exists():
            raise SystemExit(f"--workdir {dest} is not empty and not a copy made by this script")
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if worktree:
        ignore = shutil.ignore_patterns(
            ".venv", "node_modules", ".git", "__pycache__", ".hypothesis"
        )
        shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True, dirs_exist_ok=True)
    else:
        blob = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(dest, filter="data")
    for rel in overlay:  # e.g. a new test from the working tree, over HEAD
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    (dest / _MARK).write_text("a private copy made by bench/mutate.py; deleted on the next run\n")
    if (ROOT / "node_modules").exists():
        (dest / "node_modules").symlink_to(ROOT / "node_modules")
    where = subprocess.run(
        [sys.executable, "-c", "import cairn; print(cairn.__file__)"],
        env=_env(dest),
        cwd=dest,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(dest.resolve()):
        raise SystemExit(f"the copy's src does not shadow the install: cairn is {where}")
    return dest


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy / "src")
    env["PYTHONDONTWRITEBYTECODE"] = (
        "1"  # a mutant of the same size and mtime must not hit a stale .pyc
    )
    return env


def run_tests(
    copy: Path, targets: list[str], timeout: float, extra: list[str]
) -> tuple[str, float]:
    """Run pytest in the copy: ``killed`` on any failure, ``survived`` when green."""
    t0 = time.monotonic()
    cmd = [sys.executable, *PYTEST, "--timeout", str(int(timeout)), *extra, *targets]
    try:
        proc = subprocess.run(
            cmd, cwd=copy, env=_env(copy), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - t0
    took = time.monotonic() - t0
    if proc.returncode == 0:
        return "survived", took
    if proc.returncode in (1, 2, 3):  # failed, interrupted, internal error (e.g. import)
        return "killed", took
    raise RuntimeError(f"pytest exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr}")


# -- contracts ---------------------------------------------------------------

_GUARD = re.compile(r"^(\s*)(assert|raise)\b")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")


def contract_mutants(source: str) -> Iterator[Mutant]:
    """Each ``assert``/``raise`` statement replaced by ``pass`` (line count kept)."""
    lines = source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = _GUARD.match(line)
        if not m:
            continue
        end, depth = i, _depth(line)
        while depth > 0 and end + 1 < len(lines):
            end += 1
            depth += _depth(lines[end])
        out = lines[:i] + [f"{m.group(1)}pass\n"] + ["\n"] * (end - i) + lines[end + 1 :]
        text = " ".join(x.strip() for x in lines[i : end + 1])
        yield Mutant(i + 1, f"remove-{m.group(2)}", text, "".join(out))


def _depth(line: str) -> int:
    code = _STRING.sub('""', line.split("#", 1)[0])
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


def _return_instead(source: str, line: int) -> str | None:
    """For a ``raise`` that ends a function with a result: ``return empty(T)`` instead."""
    lines = source.splitlines(keepends=True)
    starts = [j for j in range(line - 1) if lines[j].lstrip().startswith("def ")]
    if not starts:
        return None
    header = ""
    for text in lines[starts[-1] : line - 1]:
        header += text.strip()
        if header.endswith(":"):
            break
    result = re.search(r"->\s*(.+?):$", header)
    if result is None:
        return None
    indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
    lines[line - 1] = f"{indent}return empty({result.group(1)})\n"
    return "".join(lines)


def compile_artifact(copy: Path, name: str, source: str) -> bool:
    """Write the mutated source and its artifact into the copy; False if it does not compile."""
    import vyper

    try:
        out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    except Exception:  # any compiler refusal means "not a valid mutant"
        return False
    src = copy / CONTRACTS_DIR / f"{name}.vy"
    src.write_text(source)
    art = {
        "name": name,
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "compiler": vyper.__version__,
    }
    blob = json.dumps(art, indent=1, sort_keys=True) + "\n"
    (copy / CONTRACTS_DIR / "build" / f"{name}.json").write_text(blob)
    return True


def contract_tests(name: str) -> list[str]:
    first = [t if t.startswith("tests/") else f"tests/chain/{t}" for t in _CHAIN_FIRST[name]]
    rest = sorted(
        f"tests/chain/{p.name}"
        for p in (ROOT / "tests" / "chain").glob("test_*.py")
        if p.name not in _CHAIN_SKIP
    )
    rest.append(_DISPUTES)
    return first + [t for t in rest if t not in first]


def run_contract(copy: Path, name: str, timeout: float, sink: Any) -> list[Mutant]:
    original = (copy / CONTRACTS_DIR / f"{name}.vy").read_text()
    targets = contract_tests(name)
    done: list[Mutant] = []
    try:
        for mutant in contract_mutants(original):
            if not compile_artifact(copy, name, mutant.source):
                alt = _return_instead(original, mutant.line)
                if alt is None or not compile_artifact(copy, name, alt):
                    mutant.status = "uncompilable"
                    done.append(mutant)
                    continue
                mutant.operator = "raise-to-return-empty"
            mutant.status, mutant.seconds = run_tests(copy, targets, timeout, [])
            done.append(mutant)
            sink(done)
    finally:
        compile_artifact(copy, name, original)
    return done


# -- Python ------------------------------------------------------------------

_CMP_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BIN_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitOr,
    ast.Mod: ast.FloorDiv,
}


class _Mutator(ast.NodeTransformer):
    """Counts mutation sites in scope; with ``target`` set, applies that one only."""

    def __init__(self, scope: set[str] | None, target: int | None = None) -> None:
        self.scope, self.target = scope, target
        self.sites: list[tuple[int, str, str]] = []
        self.stack: list[str] = []

    def _site(self, node: ast.AST, op: str, detail: str) -> bool:
        """Record a site; True if it is the one to apply."""
        self.sites.append((getattr(node, "lineno", 0), op, detail))
        return len(self.sites) - 1 == self.target

    def _active(self) -> bool:
        if self.scope is None:
            return True
        return any(".".join(self.stack[: k + 1]) in self.scope for k in range(len(self.stack)))

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.stack.append(node.name)
        node.body = [self.visit(s) for s in node.body]
        self.stack.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.stack.append(node.name)
        body = node.body
        doc = body[:1] if body and isinstance(getattr(body[0], "value", None), ast.Constant) else []
        # decorators, annotations and defaults are not code under test
        node.body = doc + [self.visit(s) for s in body[len(doc) :]]
        self.stack.pop()
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:  # the annotation is not code under test
            node.value = self.visit(node.value)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if not self._active():
            return node
        for k, op in enumerate(node.ops):
            new = _CMP_SWAP.get(type(op))
            if new and self._site(node, "flip-compare", f"{_sym(op)} -> {_sym(new())}"):
                node.ops[k] = new()
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        new = _BIN_SWAP.get(type(node.op))
        if (
            new
            and self._active()
            and self._site(node, "swap-arith", f"{_sym(node.op)} -> {_sym(new())}")
        ):
            node.op = new()
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        new = _BIN_SWAP.get(type(node.op))
        if (
            new
            and self._active()
            and self._site(node, "swap-arith", f"{_sym(node.op)}= -> {_sym(new())}=")
        ):
            node.op = new()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if self._active():
            new: ast.boolop = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            if self._site(node, "swap-and-or", f"{_sym(node.op)} -> {_sym(new)}"):
                node.op = new
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if (
            isinstance(node.op, ast.Not)
            and self._active()
            and self._site(node, "drop-not", "not x -> x")
        ):
            return node.operand
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if self._active() and self._site(
            node, "negate-condition", "a if c else b -> a if not c else b"
        ):
            node.test = ast.UnaryOp(ast.Not(), node.test)
        return node

    def visit_If(self, node: ast.If) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return node  # typing-only imports: negating it changes nothing that runs
        if self._active() and self._site(node, "negate-condition", "if c -> if not c"):
            node.test = ast.UnaryOp(ast.Not(), node.test)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not self._active():
            return node
        v = node.value
        if isinstance(v, bool):
            if self._site(node, "flip-bool", f"{v} -> {not v}"):
                return ast.Constant(not v)
        elif isinstance(v, int):
            for d in (1, -1):
                if self._site(node, "constant+-1", f"{v} -> {v + d}"):
                    return ast.Constant(v + d)
        elif isinstance(v, bytes) and 0 < len(v) <= 2:  # a domain-separation prefix
            w = v[:-1] + bytes([(v[-1] + 1) % 256])
            if self._site(node, "constant+-1", f"{v!r} -> {w!r}"):
                return ast.Constant(w)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if node.value is None or not self._active():
            return node
        v = node.value
        if isinstance(v, (ast.Compare, ast.BoolOp)) or (
            isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.Not)
        ):
            if self._site(node, "replace-return", "return c -> return not c"):
                node.value = ast.UnaryOp(ast.Not(), v)
        elif not (isinstance(v, ast.Constant) and v.value is None) and self._site(
            node, "replace-return", "return x -> return None"
        ):
            node.value = ast.Constant(None)
        return node

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if self._active() and self._site(node, "remove-raise", "raise -> pass"):
            return ast.Pass()
        return node


_SYMS = {
    "Lt": "<", "LtE": "<=", "Gt": ">", "GtE": ">=", "Eq": "==", "NotEq": "!=", "In": "in",
    "NotIn": "not in", "Is": "is", "IsNot": "is not", "Add": "+", "Sub": "-", "Mult": "*",
    "FloorDiv": "//", "Div": "/", "Pow": "**", "LShift": "<<", "RShift": ">>", "BitAnd": "&",
    "BitOr": "|", "BitXor": "^", "Mod": "%", "And": "and", "Or": "or",
}  # fmt: skip


def _sym(op: ast.AST) -> str:
    return _SYMS.get(type(op).__name__, type(op).__name__)


def python_mutants(source: str, scope: set[str] | None) -> Iterator[Mutant]:
    counter = _Mutator(scope)
    counter.visit(ast.parse(source))
    for k, (line, op, detail) in enumerate(counter.sites):
        mut = _Mutator(scope, target=k)
        tree = ast.fix_missing_locations(mut.visit(ast.parse(source)))
        yield Mutant(line, op, detail, ast.unparse(tree) + "\n")


def run_python(copy: Path, rel: str, timeout: float, sink: Any) -> list[Mutant]:
    scope, targets = PY_MODULES[rel]
    path = copy / rel
    original = path.read_text()
    done: list[Mutant] = []
    try:
        for mutant in python_mutants(original, scope):
            path.write_text(mutant.source)
            mutant.status, mutant.seconds = run_tests(copy, targets, timeout, [])
            done.append(mutant)
            sink(done)
    finally:
        path.write_text(original)
    return done


# -- results -----------------------------------------------------------------


def _git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return proc.stdout.strip()


def summarize(
    rel: str, source: str, mutants: list[Mutant], started: float, complete: bool
) -> dict[str, Any]:
    valid = [m for m in mutants if m.status != "uncompilable"]
    killed = sum(m.status in ("killed", "timeout") for m in valid)
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "copied_from": SOURCE,
        "working_tree_differs": bool(_git("status", "--porcelain", "--", rel)),
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "run_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "complete": complete,
        "mutants": len(valid),
        "killed": killed,
        "timeouts": sum(m.status == "timeout" for m in valid),
        "survived": len(valid) - killed,
        "uncompilable": len(mutants) - len(valid),
        "killed_share": round(killed / len(valid), 4) if valid else None,
        "seconds": round(time.time() - started, 1),
        "survivors": [
            {"line": m.line, "operator": m.operator, "detail": m.detail}
            for m in valid
            if m.status == "survived"
        ],
        "results": [
            {k: v for k, v in asdict(m).items() if k != "source"} | {"seconds": round(m.seconds, 1)}
            for m in mutants
        ],
    }


def write(results: dict[str, dict[str, Any]], out: Path) -> None:
    old: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    files: dict[str, Any] = old.get("files", {}) | results

    def total(kind: str) -> dict[str, Any]:
        rows = [v for k, v in files.items() if k.endswith(".vy") == (kind == "contract")]
        n, k = sum(r["mutants"] for r in rows), sum(r["killed"] for r in rows)
        return {
            "mutants": n,
            "killed": k,
            "survived": n - k,
            "killed_share": round(k / n, 4) if n else None,
        }

    contracts, python = total("contract"), total("python")
    doc = {
        "what": "bench/mutate.py: each contract assert/raise removed; Python operators on "
        "sampling, Merkle and digest code; killed = the listed tests fail (or time out)",
        "targets": {"contract_killed_share": 1.0, "python_killed_share": 0.9},
        "covered": sorted(k for k, v in files.items() if v["complete"]),
        "partial": sorted(k for k, v in files.items() if not v["complete"]),
        "not_covered": [f for f in ALL if f not in files],
        "contracts": contracts,
        "python": python,
        "targets_met": {
            "contracts": contracts["survived"] == 0 if contracts["mutants"] else None,
            "python": (python["killed_share"] or 0) >= 0.9 if python["mutants"] else None,
        },
        "survivors": [{"file": f, **s} for f, v in sorted(files.items()) for s in v["survivors"]],
        "files": dict(sorted(files.items())),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)


def baseline(copy: Path, files: list[str], timeout: float) -> None:
    """The unmutated copy must pass every test set used, or every mutant looks killed."""
    sets: dict[frozenset[str], list[str]] = {}  # the contracts share one set, in orders
    for rel in files:
        targets = contract_tests(Path(rel).stem) if rel.endswith(".vy") else PY_MODULES[rel][1]
        sets.setdefault(frozenset(targets), targets)
    for name in CONTRACTS:  # others may have edited a source without rebuilding
        if any(f.endswith(f"/{name}.vy") for f in files):
            compile_artifact(copy, name, (copy / CONTRACTS_DIR / f"{name}.vy").read_text())
    for targets in sets.values():
        status, took = run_tests(copy, targets, timeout * 3, [])
        print(f"baseline {len(targets)} test paths: {status} in {took:.0f}s", file=sys.stderr)
        if status != "survived":
            raise SystemExit(f"the unmutated suite is not green on {targets}: fix that first")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="only Disputes.vy and merkle.py")
    ap.add_argument("--only", action="append", default=[], metavar="FILE", help="repeatable")
    ap.add_argument("--workdir", type=Path, help="the private copy (default: a temp dir)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per mutant")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument(
        "--worktree", action="store_true", help="mutate the working tree, not the last commit"
    )
    ap.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="PATH",
        help="copy this file from the working tree over the commit (repeatable)",
    )
    args = ap.parse_args(argv)

    files = QUICK if args.quick else ALL
    if args.only:
        files = [_resolve(f) for f in args.only]
    if args.list:
        for rel in files:
            src = (ROOT / rel).read_text()
            ms = (
                contract_mutants(src)
                if rel.endswith(".vy")
                else python_mutants(src, PY_MODULES[rel][0])
            )
            for m in ms:
                print(f"{rel}:{m.line}: {m.operator}: {m.detail}")
        return

    copy = make_copy(args.workdir, args.worktree, args.overlay)
    global SOURCE
    SOURCE = (
        "working tree" if args.worktree else "HEAD" + (f" + {args.overlay}" if args.overlay else "")
    )
    print(f"private copy: {copy}", file=sys.stderr)
    if not args.no_baseline:
        baseline(copy, files, args.timeout)
    t0 = time.time()
    for rel in files:
        started = time.time()
        source = (copy / rel).read_text()

        def sink(
            done: list[Mutant], rel: str = rel, source: str = source, started: float = started
        ) -> None:
            write({rel: summarize(rel, source, done, started, complete=False)}, args.out)
            m = done[-1]
            print(
                f"{rel}:{m.line} {m.operator} {m.detail[:60]!r}: {m.status} ({m.seconds:.0f}s)",
                file=sys.stderr,
            )

        if rel.endswith(".vy"):
            done = run_contract(copy, Path(rel).stem, args.timeout, sink)
        else:
            done = run_python(copy, rel, args.timeout, sink)
        write({rel: summarize(rel, source, done, started, complete=True)}, args.out)
    print(f"done in {time.time() - t0:.0f}s; wrote {args.out}", file=sys.stderr)
    if args.workdir is None:
        shutil.rmtree(copy, ignore_errors=True)


def _resolve(name: str) -> str:
    for rel in ALL:
        if rel == name or rel.endswith("/" + name) or Path(rel).name == name:
            return rel
    raise SystemExit(f"--only {name}: not one of {', '.join(ALL)}")


if __name__ == "__main__":
    main()
