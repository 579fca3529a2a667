"""The auditor: rate any decentralized-AI stack layer by layer, cairn's own first.

Modelled on L2BEAT's risk rosette and stages framework
(l2beat.com/scaling/risk): a stack manifest (YAML) or a running cairn network
goes in; a rosette of six layers, the eight checklist questions answered, red
flags, a stage and Nakamoto coefficients come out, as a table, JSON or HTML.

    >>> from cairn.audit import audit, load_stack_manifest, render
    >>> report = audit(load_stack_manifest("examples/stacks/cairn-embedded.yaml"))
    >>> report.rosette["inference"].rating
    'bad'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cairn.audit._yaml import parse_manifest
from cairn.audit.base import NetworkSource, read_network
from cairn.audit.explain import explain
from cairn.audit.manifest import LAYERS, StackManifest
from cairn.audit.network import NetworkDocument, manifest_from_network
from cairn.audit.render import FORMATS, render
from cairn.audit.report import Answer, Live, Nakamoto, Petal, RedFlag, Report, Stage
from cairn.audit.rules import audit
from cairn.audit.sources import open_source
from cairn.errors import StackManifestError

if TYPE_CHECKING:  # the live audit reads a chain (web3); a manifest audit must not import it
    from cairn.chain import Network
    from cairn.config import DataDir

__all__ = [
    "FORMATS",
    "LAYERS",
    "Answer",
    "Live",
    "Nakamoto",
    "NetworkDocument",
    "NetworkSource",
    "Petal",
    "RedFlag",
    "Report",
    "StackManifest",
    "Stage",
    "audit",
    "audit_live",
    "explain",
    "load_stack_manifest",
    "manifest_from_network",
    "open_source",
    "parse_manifest",
    "read_network",
    "render",
]


def load_stack_manifest(path: str | Path) -> StackManifest:
    """Read and validate a stack manifest file; errors name ``FILE:LINE``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StackManifestError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_manifest(data, source=str(path))


def audit_live(
    url: str | None = None,
    *,
    network: Network | None = None,
    chain: str | None = None,
    data_dir: DataDir | None = None,
    timeout_s: float = 10.0,
) -> Report:
    """Audit a running cairn network from its chain (see :mod:`cairn.audit.live`).

    ``url``: a node (``http(s)://``) or a saved ``/v1/network`` document
    (``file://``) that publishes the contracts, checked onchain by code hash;
    ``network``: a pinned profile instead; ``chain``: read the chain through this
    RPC rather than the one the node names.
    """
    from cairn.audit.live import audit_network

    return audit_network(
        url, network=network, chain_url=chain, data_dir=data_dir, timeout_s=timeout_s
    )
