"""Where cairn keeps what it writes: one data directory.

Library code takes a :class:`DataDir` (or explicit paths) and never reads the
environment; only the CLI and the services resolve it, from ``--data-dir``,
then ``CAIRN_DATA_DIR``, then ``~/.cairn``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cairn.errors import ConfigError

__all__ = ["DataDir", "resolve_data_dir"]

ENV_VAR = "CAIRN_DATA_DIR"


@dataclass(frozen=True)
class DataDir:
    """The layout of a cairn data directory.

    >>> d = DataDir(Path("/tmp/c"))
    >>> d.blocks
    PosixPath('/tmp/c/blocks')
    """

    root: Path

    @property
    def blocks(self) -> Path:
        return self.root / "blocks"

    @property
    def keystore(self) -> Path:
        return self.root / "keystore"

    @property
    def chain(self) -> Path:
        return self.root / "chain"

    @property
    def node(self) -> Path:
        return self.root / "node"

    @property
    def receipts_db(self) -> Path:
        """The node's receipts (SQLite), kept for the audit window."""
        return self.node / "receipts.sqlite"

    @property
    def arweave(self) -> Path:
        """The Arweave carrier wallet, upload progress and verified download parts."""
        return self.root / "arweave"

    @property
    def models(self) -> Path:
        """Model folders built here (one sub-folder per model name)."""
        return self.root / "models"

    @property
    def provenance_index(self) -> Path:
        """Which manifests describe which artifact (:class:`~cairn.provenance.ManifestIndex`)."""
        return self.root / "provenance" / "index.json"

    @property
    def zk(self) -> Path:
        """The zk tier: ``index.json`` (model CID → artifact CID), ``artifacts/``, ``proofs/``."""
        return self.root / "zk"

    @property
    def zk_index(self) -> Path:
        return self.zk / "index.json"

    @property
    def zk_proofs(self) -> Path:
        return self.zk / "proofs"

    @property
    def validator(self) -> Path:
        """Validators' memory (one SQLite file per address and chain)."""
        return self.root / "validator"

    def ensure(self) -> DataDir:
        """Create the root if needed; fail clearly if it is not a writable directory."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create data dir {self.root}: {exc.strerror}") from exc
        if not os.access(self.root, os.W_OK):
            raise ConfigError(f"data dir {self.root} is not writable")
        return self


def resolve_data_dir(explicit: Path | None, environ: dict[str, str] | None = None) -> DataDir:
    """The data dir from an explicit path, else ``CAIRN_DATA_DIR``, else ``~/.cairn``."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return DataDir(explicit.expanduser().absolute())
    if env.get(ENV_VAR):
        return DataDir(Path(env[ENV_VAR]).expanduser().absolute())
    return DataDir(Path.home() / ".cairn")
