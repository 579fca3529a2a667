"""Content addressing and storage: UnixFS DAGs byte-identical to Kubo, CAR, gateways.

Public surface:

- :class:`Cid`, :class:`Profile`, :data:`PROFILES` — identifiers and import profiles
- :func:`add_path`, :func:`add_bytes`, :func:`add_stream` — import (UnixFS, IPIP-499)
- :func:`read_bytes`, :func:`iter_file`, :func:`list_directory`, :func:`stat`,
  :func:`write_to`, :func:`walk_blocks` — export
- :func:`export_car`, :func:`import_car`, :func:`iter_car`, :func:`write_car` — CAR v1
- :class:`Blockstore` (the port), :class:`MemoryBlockstore`, :class:`FilesystemBlockstore`,
  :class:`GatewayBlockstore`, :func:`open_blockstore` — where blocks live
- :func:`fetch` — copy a DAG from any trustless gateway, verified
- :func:`publish_car`, :func:`fetch_car`, :class:`ArweaveBlockstore` — permanent storage
  on Arweave (ANS-104 items signed by an Ethereum wallet; see docs/arweave.md)
"""

from __future__ import annotations

import typing as _typing
from pathlib import Path
from urllib.parse import urlparse

from cairn._lazy import lazy_attributes as _lazy_attributes
from cairn.config import DataDir
from cairn.content._exporter import (
    Entry,
    iter_file,
    list_directory,
    read_bytes,
    stat,
    walk_blocks,
    write_to,
)
from cairn.content._filesystem import FilesystemBlockstore
from cairn.content._importer import Node, add_bytes, add_path, add_stream
from cairn.content._memory import MemoryBlockstore, NullBlockstore
from cairn.content.base import Blockstore
from cairn.content.car import CarHeader, export_car, import_car, iter_car, write_car
from cairn.content.cid import Cid
from cairn.content.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from cairn.errors import ConfigError

if _typing.TYPE_CHECKING:
    from cairn.content._arweave import ArweavePublished, publish_car
    from cairn.content._arweave_fetch import ArweaveBlockstore, ArweaveFetched, fetch_car
    from cairn.content._gateway import GatewayBlockstore, fetch

__all__ = [
    "ARWEAVE_SCHEMES",
    "DEFAULT_PROFILE",
    "PROFILES",
    "ArweaveBlockstore",
    "ArweaveFetched",
    "ArweavePublished",
    "Blockstore",
    "CarHeader",
    "Cid",
    "Entry",
    "FilesystemBlockstore",
    "GatewayBlockstore",
    "MemoryBlockstore",
    "Node",
    "NullBlockstore",
    "Profile",
    "add_bytes",
    "add_path",
    "add_stream",
    "export_car",
    "fetch",
    "fetch_car",
    "get_profile",
    "import_car",
    "is_arweave_url",
    "iter_car",
    "iter_file",
    "list_directory",
    "open_blockstore",
    "publish_car",
    "read_bytes",
    "stat",
    "walk_blocks",
    "write_car",
    "write_to",
]

# PEP 562: a name is imported on first use, so importing this package (or one
# of its light modules) does not pull in every backend's third-party library.
_LAZY = {
    "ArweaveBlockstore": "cairn.content._arweave_fetch",
    "ArweaveFetched": "cairn.content._arweave_fetch",
    "ArweavePublished": "cairn.content._arweave",
    "fetch_car": "cairn.content._arweave_fetch",
    "publish_car": "cairn.content._arweave",
    "GatewayBlockstore": "cairn.content._gateway",
    "fetch": "cairn.content._gateway",
}

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())


#: The URL schemes of an Arweave gateway (``gateway_base`` in ``_arweave`` says which
#: of http and https each one means).
ARWEAVE_SCHEMES = ("arweave", "arweave+http", "arweave+https")


def is_arweave_url(url: str | None) -> bool:
    """Whether ``url`` names an Arweave gateway (``arweave://HOST[:PORT]``)."""
    return bool(url) and urlparse(str(url)).scheme in ARWEAVE_SCHEMES


def open_blockstore(where: DataDir | str) -> Blockstore:
    """The blockstore for a data dir, or for a URL: ``file:///path``, ``memory://``,
    ``http(s)://gateway`` (read-only, trustless), ``arweave://HOST[:PORT]`` (read-only:
    artifacts cairn published there, verified). The one place a backend is chosen."""
    if isinstance(where, DataDir):
        return FilesystemBlockstore(where.blocks)
    url = urlparse(where)
    if url.scheme == "file":
        return FilesystemBlockstore(Path(url.path))
    if url.scheme == "memory":
        return MemoryBlockstore()
    if url.scheme in ("http", "https"):
        from cairn.content._gateway import GatewayBlockstore  # httpx only when asked for

        return GatewayBlockstore(where)
    if url.scheme in ARWEAVE_SCHEMES:
        from cairn.content._arweave_fetch import ArweaveBlockstore

        return ArweaveBlockstore(where)
    raise ConfigError(
        f"unknown blockstore URL {where!r}: use file://, memory://, http(s):// or arweave://"
    )
