"""Every guard is exercised: each revert reason in each contract is tripped by some test.

The reasons are read from the contract sources (``assert …, "reason"`` and
``raise "reason"``); the tripped ones are the patterns the tests expect a
:class:`~cairn.errors.ContractRevert` to match (``match="…"`` or a file's
``reverts("…")`` helper). A reason no test expects is a guard that could be
deleted with the suite staying green: this test fails and names it.
"""

from __future__ import annotations

import re
from pathlib import Path

from cairn.chain._artifacts import CONTRACTS, SOURCES

TESTS = Path(__file__).resolve().parent.parent
# Guards no test can reach in reasonable time, each with why it stays untested.
EXEMPT = {
    "ModelRegistry: too many versions": "needs 65 536 publishes; it bounds current()'s loop",
}
_REASON = re.compile(r'(?:assert\s[^\n]*?,|raise)\s*"([^"]+)"')
_EXPECTED = re.compile(r'(?:match=|reverts\()\s*f?"([^"]+)"')


def reasons(name: str) -> set[str]:
    return set(_REASON.findall((SOURCES / f"{name}.vy").read_text()))


def expected() -> set[str]:
    found: set[str] = set()
    for path in TESTS.rglob("*.py"):
        found.update(_EXPECTED.findall(path.read_text()))
    return found


def test_reasons_are_found_in_every_contract():
    assert all(reasons(name) for name in CONTRACTS)
    assert "already revealed" in reasons("Disputes")


def test_every_revert_reason_is_tripped_by_a_test():
    patterns = expected()
    missing = {
        f"{name}: {reason}"
        for name in CONTRACTS
        for reason in reasons(name)
        if not any(p == reason or _matches(p, reason) for p in patterns)
    } - set(EXEMPT)
    assert not missing, "never tripped by any test:\n" + "\n".join(sorted(missing))


def _matches(pattern: str, reason: str) -> bool:
    try:
        return re.search(pattern.replace("{reason}", ""), reason) is not None and "{" not in pattern
    except re.error:
        return False
