"""The auditor's storage answer names Arweave when a stack keeps a permanent copy there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cairn.audit import Report
from cairn.errors import StackManifestError


def test_storage_names_arweave_as_permanent_storage(report: Callable[..., Report]) -> None:
    kept = report({"layers.storage.permanent": "arweave"}).rosette["storage"]
    assert "Arweave (permanent storage)" in kept.reason
    assert "Arweave" not in report().rosette["storage"].reason
    one_gateway = report({"layers.storage.permanent": "arweave", "layers.storage.gateways": 1})
    assert one_gateway.rosette["storage"].rating == "warning"
    assert "Arweave (permanent storage)" in one_gateway.rosette["storage"].reason


def test_an_unknown_permanent_store_is_refused(report: Callable[..., Report]) -> None:
    with pytest.raises((StackManifestError, ValueError)):
        report({"layers.storage.permanent": "floppy"})
