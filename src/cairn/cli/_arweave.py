"""Arweave for ``cairn publish --to`` and ``cairn fetch --from``: wallets, progress, resume.

The content layer does the work (:func:`cairn.content.publish_car`,
:func:`cairn.content.fetch_car`); this module supplies what a command owns: where in
the data dir the carrier wallet, the upload state and the verified download parts
live, the publisher's EIP-191 signature, and a progress bar on stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.cli._common import progress_bytes
from cairn.config import DataDir

if TYPE_CHECKING:
    from cairn.content import ArweaveFetched, ArweavePublished, Blockstore, Cid
    from cairn.identity import Signer

__all__ = ["pull", "push"]


@contextmanager
def _bar(description: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    with progress_bytes(description, 0, enabled=enabled) as bar:
        task = bar.task_ids[0]
        yield lambda done, total: bar.update(task, total=total, advance=done)


def push(
    data_dir: DataDir,
    url: str,
    root: Cid,
    store: Blockstore,
    signer: Signer,
    *,
    tags: dict[str, str],
    wallet_file: Path | None = None,
    show_progress: bool = True,
) -> ArweavePublished:
    """Publish ``root``'s CAR to ``url``, signed by ``signer``, resuming a past run."""
    from cairn import content
    from cairn.identity.eip191 import sign_message

    with _bar(f"arweave ← {str(root)[:16]}…", show_progress) as progress:
        return content.publish_car(
            root,
            store,
            url,
            personal_sign=lambda message: sign_message(signer, message).to_bytes(),
            wallet_file=wallet_file or data_dir.arweave / "wallet.json",
            state_dir=data_dir.arweave / "uploads",
            tags=tags,
            progress=progress,
        )


def pull(
    data_dir: DataDir, url: str, cid: Cid, store: Blockstore, *, show_progress: bool = True
) -> ArweaveFetched:
    """Fetch ``cid`` from ``url`` into ``store``, verified; parts resume from the data dir."""
    from cairn import content

    with _bar(f"arweave → {str(cid)[:16]}…", show_progress) as progress:
        return content.fetch_car(
            cid, url, store, cache_dir=data_dir.arweave / "downloads", progress=progress
        )
