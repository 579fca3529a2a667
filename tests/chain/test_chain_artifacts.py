"""The shipped ABI and bytecode are exactly what the sources compile to."""

from __future__ import annotations

import pytest

from cairn.chain._artifacts import CONTRACTS, compile_contract, load_artifact


@pytest.mark.parametrize("name", CONTRACTS)
def test_artifact_matches_source(name):
    shipped, fresh = load_artifact(name), compile_contract(name)
    assert shipped.source_sha256 == fresh.source_sha256, (
        f"{name}.vy changed: run `python -m cairn.chain._artifacts`"
    )
    assert shipped.compiler == fresh.compiler
    assert shipped.abi == fresh.abi
    assert shipped.bytecode == fresh.bytecode


def test_package_exports_what_it_says():
    import cairn.chain

    for name in cairn.chain.__all__:
        assert hasattr(cairn.chain, name), name
