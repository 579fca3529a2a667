"""Network namespaces for ``cairn testnet``: one address per party, two links each.

Each party of a testnet runs in its own Linux network namespace (``ip netns``,
iproute2) so that it has an address of its own and its links can be cut like a
real operator's. Every namespace gets two veth links, each into a bridge on the
host:

- the *clients* link, into ``cairn-tn-br`` (10.77.0.0/24, host 10.77.0.1): the
  party's own address, where a node serves (the endpoint it registers onchain)
  and where validators and clients in the root namespace reach it;
- the *chain* link, into ``cairn-tn-ch`` (10.78.0.0/24, host 10.78.0.1): the only
  route to the chain, which listens on the host's 10.78.0.1.

No namespace has a default route, so the chain is reachable only over the chain
link, and nothing but the two bridges' addresses (and the namespace's own
loopback) is reachable at all. :func:`set_chain_link` takes the host end of a
party's chain link down or up: packets to the chain are then dropped (a
connection times out, as on a real partition) while its clients' link stays up.

Everything here shells out to ``ip``; a failure is a :class:`~cairn.errors.NodeError`
naming the command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cairn.errors import NodeError

__all__ = [
    "CHAIN_BRIDGE",
    "CLIENT_BRIDGE",
    "MAX_PARTIES",
    "OURS",
    "Addresses",
    "addresses",
    "available",
    "chain_link_up",
    "create_bridges",
    "create_namespace",
    "exists",
    "remove",
    "set_chain_link",
]

CLIENT_BRIDGE = "cairn-tn-br"
CHAIN_BRIDGE = "cairn-tn-ch"
_CLIENT_NET, _CHAIN_NET = "10.77.0", "10.78.0"
_FIRST_HOST = 10
MAX_PARTIES = 200  # host numbers 10..209 of each /24
#: the names this module gives namespaces and links: nothing else is ever deleted
OURS = re.compile(r"^(cairn-tn-[0-9]{1,3}|tn[0-9]{1,3}-[ck])$")


@dataclass(frozen=True)
class Addresses:
    """Where one party lives: its namespace, its two addresses and its host-side links."""

    netns: str
    client_ip: str
    chain_ip: str
    client_link: str  # host end of the clients link (in CLIENT_BRIDGE)
    chain_link: str  # host end of the chain link (in CHAIN_BRIDGE)


def host_addresses() -> tuple[str, str]:
    """The host's address on the clients bridge, and on the chain bridge (the chain's)."""
    return f"{_CLIENT_NET}.1", f"{_CHAIN_NET}.1"


def addresses(index: int) -> Addresses:
    """Party ``index``'s namespace, addresses and link names (interface names fit in 15)."""
    if not 0 <= index < MAX_PARTIES:
        raise NodeError(f"a testnet has at most {MAX_PARTIES} parties")
    host = _FIRST_HOST + index
    return Addresses(
        f"cairn-tn-{index}",
        f"{_CLIENT_NET}.{host}",
        f"{_CHAIN_NET}.{host}",
        f"tn{index}-c",
        f"tn{index}-k",
    )


def available() -> str | None:
    """None if namespaces can be made here (root, ``ip`` with netns); else why not."""
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    try:
        subprocess.run(["ip", "netns", "list"], capture_output=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "`ip netns` does not work here"
    return None


def _ip(*args: str, check: bool = True) -> bool:
    """Run ``ip ARGS``; raise NodeError on failure when ``check``, else say if it worked."""
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NodeError(f"ip {' '.join(args)}: {exc}") from None
    if done.returncode != 0 and check:
        raise NodeError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.returncode == 0


def exists(name: str, *, netns: bool = False) -> bool:
    """Whether a link (or, with ``netns``, a namespace) of that name exists."""
    if netns:
        return os.path.exists(f"/var/run/netns/{name}") or os.path.exists(f"/run/netns/{name}")
    return os.path.exists(f"/sys/class/net/{name}")


def create_bridges() -> None:
    """The two host bridges with the host's addresses (see the module docstring)."""
    for bridge, ip in zip((CLIENT_BRIDGE, CHAIN_BRIDGE), host_addresses(), strict=True):
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{ip}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")


def create_namespace(a: Addresses) -> None:
    """Party's namespace with its loopback, a clients link and a chain link."""
    _ip("netns", "add", a.netns)
    _ip("-n", a.netns, "link", "set", "lo", "up")
    links = ((a.client_link, CLIENT_BRIDGE, a.client_ip), (a.chain_link, CHAIN_BRIDGE, a.chain_ip))
    for link, bridge, ip in links:
        inner = f"{link}n"
        _ip("link", "add", link, "type", "veth", "peer", "name", inner, "netns", a.netns)
        _ip("link", "set", link, "master", bridge, "up")
        _ip("-n", a.netns, "addr", "add", f"{ip}/24", "dev", inner)
        _ip("-n", a.netns, "link", "set", inner, "up")


def set_chain_link(a: Addresses, up: bool) -> None:
    """Take the host end of the party's chain link down (cut) or up (restore).

    On restore, the party's neighbour entries on that link are flushed: while cut, its
    lookups of the chain's address failed, and the kernel would keep answering "no
    route to host" from that failed entry for a while after the link is back.
    """
    _ip("link", "set", a.chain_link, "up" if up else "down")
    if up:
        _ip("-n", a.netns, "neigh", "flush", "dev", f"{a.chain_link}n")
        deadline = time.monotonic() + 5
        while _operstate(a.chain_link) != "up" and time.monotonic() < deadline:
            time.sleep(0.05)


def chain_link_up(a: Addresses) -> bool | None:
    """Whether the party's chain link is up on the host side (None if it does not exist)."""
    try:
        return bool(int(Path(f"/sys/class/net/{a.chain_link}/flags").read_text(), 16) & 1)
    except (OSError, ValueError):
        return None


def _operstate(link: str) -> str:
    try:
        return Path(f"/sys/class/net/{link}/operstate").read_text().strip()
    except OSError:
        return "absent"


def remove(namespaces: list[str], links: list[str], bridges: bool) -> list[str]:
    """Delete what a testnet made (veths go with their namespace); return what would not go."""
    left = []
    for link in links:
        if exists(link) and not _ip("link", "del", link, check=False):
            left.append(link)
    for ns in namespaces:
        if exists(ns, netns=True) and not _ip("netns", "del", ns, check=False):
            left.append(ns)
    for bridge in (CLIENT_BRIDGE, CHAIN_BRIDGE) if bridges else ():
        if exists(bridge) and not _ip("link", "del", bridge, check=False):
            left.append(bridge)
    return left
