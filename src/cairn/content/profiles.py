"""UnixFS import profiles (IPIP-499), the parameters that fix a CID.

Spec: IPIP-499 "UnixFS CID profiles" and Kubo's ``config/profile.go``. The
same bytes give the same CID only when every parameter below agrees, so a
profile is a frozen value and is named in manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cairn.errors import ContentValueError, did_you_mean

__all__ = ["DEFAULT_PROFILE", "PROFILES", "Profile", "get_profile"]


@dataclass(frozen=True)
class Profile:
    """How files and directories become a DAG.

    >>> get_profile("unixfs-v0-2015").chunk_size
    262144
    """

    name: str
    cid_version: int
    raw_leaves: bool
    chunk_size: int
    max_links: int
    hamt_threshold: int = 262144
    hamt_fanout: int = 256
    # "links": sum(len(name) + len(cid)) over entries (Kubo's legacy estimate);
    # "block": the size of the serialized directory block.
    hamt_estimation: str = "links"

    def with_overrides(self, **changes: int | bool) -> Profile:
        return replace(self, **changes)  # type: ignore[arg-type]


PROFILES: dict[str, Profile] = {
    "unixfs-v1-2025": Profile(
        "unixfs-v1-2025",
        cid_version=1,
        raw_leaves=True,
        chunk_size=1 << 20,
        max_links=1024,
        hamt_estimation="block",
    ),
    "unixfs-v0-2015": Profile(
        "unixfs-v0-2015",
        cid_version=0,
        raw_leaves=False,
        chunk_size=256 << 10,
        max_links=174,
        hamt_estimation="links",
    ),
}

DEFAULT_PROFILE = "unixfs-v1-2025"


def get_profile(profile: str | Profile) -> Profile:
    """Look a profile up by name (or pass one through)."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ContentValueError(
            f"unknown profile {profile!r}{did_you_mean(profile, PROFILES)}; "
            f"choose one of {', '.join(PROFILES)}"
        ) from None
