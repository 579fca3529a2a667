"""``cairn testnet``: a network on one machine, as separate parties (issue 12, part 3).

One process per party — N nodes (``cairn up``) and M validators (``cairn validator
run``) — each with its own wallet, data dir and port, and, where the machine allows
it (root with ``ip netns``), its own network namespace and address
(:mod:`cairn.node._netns`: a clients link and a separate chain link, so that a
party can be cut off from the chain while its clients still reach it). The chain
is an Anvil that cairn starts, or an existing chain (``chain=URL``, funded by the
caller's key). The contracts are deployed once, by the funder, and every party
works with that one deployment; each party is funded, registered and staked.

``up`` returns once every party is healthy (a node answers ``/healthz``; a
validator sits in the juror pool) and leaves them running, detached (own session,
log in ``<party dir>/party.log``). What it started is recorded in
``<data dir>/testnet/state.json`` (atomically; 0600: it holds the wallets'
passphrase), with each process's pid *and* its kernel start time, so that
``down``, ``kill`` and ``restart`` never signal a pid the kernel has since reused.
The network profile ``testnet`` (:class:`cairn.chain.Network`) is saved in the
data dir, so ``--network testnet`` pins it.

>>> net = Testnet.up(Path("/tmp/tn"), nodes=2, validators=1)   # doctest: +SKIP
>>> net.cut(net.parties[0]); net.restore(net.parties[0])      # doctest: +SKIP
>>> net.down()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cairn._atomic import atomic_write_bytes
from cairn.chain import Chain, DisputeParams, Network, Role, connect, save_network
from cairn.chain.client import ETHER
from cairn.chain.devnet import free_port, rpc_answers
from cairn.config import DataDir
from cairn.errors import CairnError, ConfigError, NodeError
from cairn.identity import Signer, WalletStore
from cairn.node import _netns

__all__ = ["ETHER", "NETWORK_NAME", "Party", "Testnet", "find_anvil"]

NETWORK_NAME = "testnet"
NODE_PORT = 8000  # every node's port when each has its own address
_STATE = "state.json"
_GRACE_S = 10.0  # SIGTERM, then SIGKILL after this
_ROLES = ("node", "validator")  # each party's wallet is named after its role
Step = Callable[[str], None]


@dataclass
class Party:
    """One process of the testnet: a node or a validator."""

    name: str  # node-0, validator-1
    role: str  # "node" | "validator"
    index: int  # its namespace's number
    address: str  # its wallet's address (what the chain knows it by)
    data_dir: Path
    host: str  # the address it lives at (its namespace's clients address, or loopback)
    endpoint: str | None  # a node's gateway URL; None for a validator
    netns: str | None = None
    argv: list[str] = field(default_factory=list)
    pid: int | None = None
    started: int | None = None  # the kernel's start time of ``pid`` (/proc/PID/stat)

    @property
    def log(self) -> Path:
        return self.data_dir / "party.log"

    @property
    def alive(self) -> bool:
        return _ours(self.pid, self.started)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "data_dir": str(self.data_dir)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Party:
        return cls(**{**data, "data_dir": Path(data["data_dir"])})


# -- processes -----------------------------------------------------------------------


def _start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/PID/stat), None if gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else int(fields[19])


def _ours(pid: int | None, started: int | None) -> bool:
    """Whether ``pid`` is still the process we started (not exited, not a reused pid)."""
    if pid is None or started is None or pid <= 1:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child and has exited
    return _start_time(pid) == started


def _spawn(argv: list[str], log: Path, netns: str | None, env: dict[str, str]) -> tuple[int, int]:
    """Start ``argv`` detached (own session, output to ``log``); return its pid and start time."""
    cmd = ["ip", "netns", "exec", netns, *argv] if netns else argv
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,
            start_new_session=True,
        )
    started = _start_time(proc.pid)
    if started is None:
        raise NodeError(f"{argv[0]} exited at once; see {log}")
    return proc.pid, started


def _signal(pid: int | None, started: int | None, sig: int) -> bool:
    """Signal the process group of a process we started; False if it is not running."""
    if pid is None or not _ours(pid, started):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    return True


def _stop(pid: int | None, started: int | None, grace_s: float = _GRACE_S) -> bool:
    """SIGTERM (and SIGCONT, should it be stopped), then SIGKILL after ``grace_s``."""
    if not _signal(pid, started, signal.SIGTERM):
        return False
    _signal(pid, started, signal.SIGCONT)
    deadline = time.monotonic() + grace_s
    while _ours(pid, started) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal(pid, started, signal.SIGKILL)
    while _ours(pid, started):
        time.sleep(0.05)
    return True


def _env(passphrase: str) -> dict[str, str]:
    """A party's environment: ours without any CAIRN_* setting (flags say it all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    return {**env, "CAIRN_PASSPHRASE": passphrase, "PYTHONUNBUFFERED": "1"}


def _tail(log: Path, lines: int = 3) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def find_anvil(start: Path | None = None) -> Path:
    """``node_modules/.bin/anvil`` (npm ``@foundry-rs/anvil``) in ``start`` or above it, or
    above this package (a checkout), else ``anvil`` on the PATH."""
    bases = [start.resolve(), *start.resolve().parents] if start is not None else []
    for base in [*bases, *Path(__file__).resolve().parents]:
        exe = base / "node_modules" / ".bin" / "anvil"
        if exe.exists():
            return exe
    found = shutil.which("anvil")
    if found is None:
        raise ConfigError("anvil not found: run `npm ci` (npm @foundry-rs/anvil) or pass --anvil")
    return Path(found)


def _healthy_node(endpoint: str) -> bool:
    try:
        with httpx.Client(trust_env=False, timeout=2) as http:
            reply = http.get(f"{endpoint}/healthz")
        return reply.status_code == 200 and reply.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One ``up``/``down``/``restart`` at a time per data dir."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"another `cairn testnet` command is working on {root}") from None
        yield


# -- the testnet ---------------------------------------------------------------------


class Testnet:
    """A running testnet, as recorded in ``<data dir>/testnet/state.json``.

    Start one with :meth:`up`, find one with :meth:`load` / :meth:`find`.
    """

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, data_dir: Path, state: dict[str, Any]) -> None:
        self.data_dir = DataDir(data_dir)
        self.root = self.data_dir.root / "testnet"
        self._state = state
        self.parties = [Party.from_json(p) for p in state.get("parties", [])]

    # -- reading ------------------------------------------------------------------

    @property
    def isolated(self) -> bool:
        """Whether every party has its own network namespace (else: loopback ports)."""
        return bool(self._state["isolated"])

    @property
    def chain_url(self) -> str | None:
        return self._state.get("chain")

    @property
    def network(self) -> Network:
        """The ``testnet`` profile: the chain and the contracts every party uses."""
        if not self._state.get("network"):
            raise NodeError("this testnet has no contracts yet")
        return Network.from_json(self._state["network"], NETWORK_NAME)

    @property
    def nodes(self) -> list[Party]:
        return [p for p in self.parties if p.role == "node"]

    @property
    def validators(self) -> list[Party]:
        return [p for p in self.parties if p.role == "validator"]

    def party(self, which: Party | str) -> Party:
        """A party by name (``node-0``) or as listed in :attr:`parties`."""
        name = which.name if isinstance(which, Party) else which
        for p in self.parties:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.parties)
        raise ConfigError(f"no party {name!r} in this testnet (parties: {known})")

    @classmethod
    def find(cls, data_dir: Path) -> Testnet | None:
        """The testnet recorded in ``data_dir``, or None."""
        path = data_dir / "testnet" / _STATE
        if not path.exists():
            return None
        st = path.stat()
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise ConfigError(f"{path} is not owned by you or is writable by others: not used")
        try:
            state = json.loads(path.read_text())
            net = cls(data_dir, state)
            _ = net.isolated
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is not a testnet state file: {exc}") from None
        return net

    @classmethod
    def load(cls, data_dir: Path) -> Testnet:
        """The testnet recorded in ``data_dir``; ConfigError if there is none."""
        net = cls.find(data_dir)
        if net is None:
            raise ConfigError(f"no testnet in {data_dir} (start one: `cairn testnet up`)")
        return net

    def running(self) -> list[str]:
        """Names of the processes this testnet started that still run."""
        names = [p.name for p in self.parties if p.alive]
        anvil = self._state.get("anvil") or {}
        return names + (["anvil"] if _ours(anvil.get("pid"), anvil.get("started")) else [])

    def chain(self) -> Chain:
        """A connection to the testnet's chain, with its one deployment."""
        return connect(self.network.rpc, DataDir(self.root), expect_chain_id=self.network.chain_id)

    # -- up -------------------------------------------------------------------------

    @classmethod
    def up(
        cls,
        data_dir: Path,
        nodes: int = 2,
        validators: int = 1,
        chain: str | None = None,
        *,
        funder: Signer | None = None,
        anvil: Path | None = None,
        isolate: bool | None = None,
        reset: bool = False,
        fund_wei: int = 10 * ETHER,
        batch_seconds: float = 2.0,
        models: tuple[str, ...] = (),
        timeout_s: float = 300.0,
        step: Step = lambda _m: None,
    ) -> Testnet:
        """Start ``nodes`` nodes and ``validators`` validators; return once all are healthy.

        ``chain`` is an RPC URL (else cairn starts Anvil, ``anvil`` or :func:`find_anvil`);
        ``funder`` pays for the deployment and the parties (default: a dev chain's first
        account). ``isolate``: True requires namespaces, False uses loopback, None uses
        namespaces where the machine allows. ``reset`` deletes a stopped testnet's data
        dirs first (else they are refused). On failure everything started is stopped.
        """
        if nodes < 1 or validators < 0 or nodes + validators > _netns.MAX_PARTIES:
            raise ConfigError(
                f"a testnet needs 1 or more nodes and 0 or more validators, "
                f"{_netns.MAX_PARTIES} parties at most"
            )
        root = DataDir(data_dir).root / "testnet"
        with _locked(root):
            _refuse_existing(data_dir, root, reset)
            why = _why_not_isolated(isolate, chain)
            if why is not None:
                step(f"parties share loopback, each on its own port ({why}); no cut/restore")
            net = cls(data_dir, _fresh_state(why is None))
            try:
                net._launch(
                    nodes,
                    validators,
                    chain,
                    funder,
                    anvil,
                    fund_wei,
                    step,
                    timeout_s,
                    batch_seconds=batch_seconds,
                    models=models,
                )
            except BaseException:
                step("stopping what was started")
                net._teardown()
                raise
            return net

    def _launch(
        self,
        nodes: int,
        validators: int,
        url: str | None,
        funder: Signer | None,
        anvil: Path | None,
        fund_wei: int,
        step: Step,
        timeout_s: float,
        **node_opts: Any,
    ) -> None:
        self._save()
        if self.isolated:
            self._make_links(nodes + validators, step)
        if url is None:
            url = self._start_anvil(anvil or find_anvil(Path.cwd()), step)
        self._state["chain"] = url
        c = connect(url, DataDir(self.root))
        try:
            funder = funder or next(iter(c.dev_keys()), None)
            if funder is None:
                raise ConfigError(f"{url} is not a dev chain: pass a funder key or wallet")
            step(f"deploying the contracts to {url}")
            c.deploy(funder, disputes=DisputeParams())
            network = Network.from_deployment(NETWORK_NAME, c.deployment, url)
            self._state["network"] = network.to_json()
            save_network(self.data_dir, network)
            roles = ["node"] * nodes + ["validator"] * validators
            counts = {"node": 0, "validator": 0}
            for index, role in enumerate(roles):
                self.parties.append(self._make_party(role, counts[role], index, node_opts))
                counts[role] += 1
                self._fund(c, funder, self.parties[-1], fund_wei, step)
                self._save()
            # node-0 registers the models; the others then find them registered
            first = [self.nodes[0], *self.validators]
            self._start(first, step)
            self._wait(c, first, timeout_s, step)
            self._start(self.nodes[1:], step)
            self._wait(c, self.nodes[1:], timeout_s, step)
        finally:
            c.close()

    def _make_links(self, count: int, step: Step) -> None:
        found = [a.netns for a in map(_netns.addresses, range(count))]
        found += [_netns.CLIENT_BRIDGE, _netns.CHAIN_BRIDGE]
        taken = [n for n in found if _netns.exists(n) or _netns.exists(n, netns=True)]
        if taken:
            raise ConfigError(
                f"{taken[0]} already exists (a testnet of another data dir? stop it with "
                f"`cairn --data-dir THAT testnet down`, or delete it with `ip`)"
            )
        step(
            f"creating {count} network namespaces and the bridges {_netns.CLIENT_BRIDGE}, "
            f"{_netns.CHAIN_BRIDGE}"
        )
        self._state["bridges"] = True
        self._save()
        _netns.create_bridges()
        for index in range(count):
            a = _netns.addresses(index)
            self._state["namespaces"].append(a.netns)
            self._state["links"] += [a.client_link, a.chain_link]
            self._save()
            _netns.create_namespace(a)

    def _start_anvil(self, exe: Path, step: Step) -> str:
        host = _netns.host_addresses()[1] if self.isolated else "127.0.0.1"
        port = free_port(host)
        step(f"starting Anvil on {host}:{port}")
        argv = [
            str(exe),
            "--host",
            host,
            "--port",
            str(port),
            "--block-time",
            "1",
            "--mixed-mining",
            "--silent",
        ]
        pid, started = _spawn(argv, self.root / "anvil.log", None, dict(os.environ))
        self._state["anvil"] = {"pid": pid, "started": started, "argv": argv}
        self._save()
        url = f"http://{host}:{port}"
        deadline = time.monotonic() + 60
        while not rpc_answers(url):
            if not _ours(pid, started) or time.monotonic() > deadline:
                raise NodeError(f"anvil did not start: {_tail(self.root / 'anvil.log')}")
            time.sleep(0.1)
        return url

    def _make_party(self, role: str, i: int, index: int, opts: dict[str, Any]) -> Party:
        """A party's data dir, wallet, copy of the deployment record and profile, and argv."""
        name = f"{role}-{i}"
        dd = DataDir(self.root / name).ensure()
        address = WalletStore(dd.keystore).create(role, self._state["passphrase"]).address
        record = DataDir(self.root).chain / "deployments.json"
        atomic_write_bytes(dd.chain / "deployments.json", record.read_bytes())
        save_network(dd, self.network)
        netns = _netns.addresses(index).netns if self.isolated else None
        host = _netns.addresses(index).client_ip if self.isolated else "127.0.0.1"
        cairn = [sys.executable, "-m", "cairn", "--data-dir", str(dd.root)]
        if role == "node":
            port = NODE_PORT if self.isolated else free_port(host)
            argv = [
                *cairn,
                "up",
                "--chain",
                self.network.rpc,
                "--host",
                host,
                "--port",
                str(port),
                "--batch-seconds",
                str(opts["batch_seconds"]),
            ]
            argv += [a for m in opts["models"] for a in ("--model", m)]
            return Party(
                name, role, index, address, dd.root, host, f"http://{host}:{port}", netns, argv
            )
        argv = [
            *cairn,
            "validator",
            "run",
            "--network",
            NETWORK_NAME,
            "--wallet",
            role,
            "--interval",
            "1",
        ]
        return Party(name, role, index, address, dd.root, host, None, netns, argv)

    @staticmethod
    def _fund(c: Chain, funder: Signer, p: Party, wei: int, step: Step) -> None:
        have = c.balance(p.address)
        if have < wei:
            step(f"funding {p.name} {p.address} with {(wei - have) / ETHER:g} ETH")
            c.transfer(funder, p.address, wei - have)

    def _start(self, parties: list[Party], step: Step) -> None:
        for p in parties:
            step(f"starting {p.name} ({p.address}) at {p.endpoint or p.host}")
            p.pid, p.started = _spawn(p.argv, p.log, p.netns, _env(self._state["passphrase"]))
            self._save()

    def _wait(self, c: Chain, parties: list[Party], timeout_s: float, step: Step) -> None:
        """Until every party is healthy: a node answers /healthz, a validator is in the pool."""
        pending = list(parties)
        deadline = time.monotonic() + timeout_s
        while pending:
            for p in list(pending):
                if not p.alive:
                    raise NodeError(f"{p.name} exited: {_tail(p.log)} (log: {p.log})")
                healthy = _healthy_node(p.endpoint) if p.endpoint else c.disputes.in_pool(p.address)
                if healthy:
                    step(f"{p.name} is up")
                    pending.remove(p)
            if pending and time.monotonic() > deadline:
                raise NodeError(
                    f"{pending[0].name} not healthy after {timeout_s:.0f} s: "
                    f"{_tail(pending[0].log)} (log: {pending[0].log})"
                )
            time.sleep(0.3 if pending else 0)

    # -- state ----------------------------------------------------------------------

    def _save(self) -> None:
        self._state["parties"] = [p.to_json() for p in self.parties]
        text = json.dumps(self._state, indent=1, sort_keys=True) + "\n"
        atomic_write_bytes(self.root / _STATE, text.encode(), mode=0o600)

    # -- down -----------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop every process this testnet started (SIGTERM, then SIGKILL), remove its
        namespaces and bridges, forget it; the data dirs stay. Return what was stopped."""
        with _locked(self.root):
            return self._teardown()

    def _teardown(self) -> list[str]:
        stopped = [p.name for p in reversed(self.parties) if _stop(p.pid, p.started)]
        anvil = self._state.get("anvil") or {}
        if _stop(anvil.get("pid"), anvil.get("started")):
            stopped.append("anvil")
        left = _netns.remove(
            [n for n in self._state.get("namespaces", []) if _netns.OURS.match(n)],
            [x for x in self._state.get("links", []) if _netns.OURS.match(x)],
            bool(self._state.get("bridges")),
        )
        with contextlib.suppress(FileNotFoundError):
            (self.root / _STATE).unlink()
        if left:
            raise NodeError(f"stopped {len(stopped)} processes but could not remove {left}")
        return stopped

    # -- faults -----------------------------------------------------------------------

    def kill(self, party: Party | str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a party (SIGKILL, SIGSTOP, SIGCONT, ...); a SIGKILL is waited for."""
        p = self.party(party)
        if not _signal(p.pid, p.started, sig):
            raise NodeError(f"{p.name} is not running")
        while sig == signal.SIGKILL and p.alive:
            time.sleep(0.05)

    def restart(self, party: Party | str, timeout_s: float = 300.0) -> None:
        """Stop a party if it still runs, start it again as before and wait until healthy."""
        p = self.party(party)
        _stop(p.pid, p.started)
        self._start([p], lambda _m: None)
        c = self.chain()
        try:
            self._wait(c, [p], timeout_s, lambda _m: None)
        finally:
            c.close()

    def cut(self, party: Party | str) -> None:
        """Cut a party off from the chain; its clients' link stays up."""
        _netns.set_chain_link(self._addresses(party), up=False)

    def restore(self, party: Party | str) -> None:
        """Reconnect a party cut with :meth:`cut` to the chain."""
        _netns.set_chain_link(self._addresses(party), up=True)

    def _addresses(self, party: Party | str) -> _netns.Addresses:
        p = self.party(party)
        if not self.isolated:
            raise ConfigError("this testnet runs on loopback: a party's link cannot be cut")
        return _netns.addresses(p.index)

    # -- status ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Every party (role, address, endpoint, pid, alive, stake from the chain, ...),
        anchored batches, reputation and disputes."""
        anvil = self._state.get("anvil") or {}
        out: dict[str, Any] = {
            "network": NETWORK_NAME,
            "chain": self.chain_url,
            "isolated": self.isolated,
            "contracts": self._state.get("network"),
            "anvil": {
                "pid": anvil.get("pid"),
                "alive": _ours(anvil.get("pid"), anvil.get("started")),
            }
            if anvil
            else None,
            "parties": [self._describe(p) for p in self.parties],
            "disputes": None,
            "chain_error": None,
        }
        try:
            c = self.chain()
        except CairnError as exc:
            out["chain_error"] = str(exc)
            return out
        try:
            out["disputes"] = c.disputes.count()
            for row in out["parties"]:
                row.update(_onchain(c, row))
        except CairnError as exc:
            out["chain_error"] = str(exc)
        finally:
            c.close()
        return out

    def _describe(self, p: Party) -> dict[str, Any]:
        link = _netns.chain_link_up(_netns.addresses(p.index)) if self.isolated else None
        return {
            "name": p.name,
            "role": p.role,
            "address": p.address,
            "endpoint": p.endpoint,
            "host": p.host,
            "pid": p.pid,
            "alive": p.alive,
            "netns": p.netns,
            "chain_link": None if link is None else ("up" if link else "down"),
            "data_dir": str(p.data_dir),
            "stake": None,
        }


def _onchain(c: Chain, row: dict[str, Any]) -> dict[str, Any]:
    """What the chain says of one party."""
    from cairn.verification import reputation

    address = row["address"]
    got: dict[str, Any] = {"stake": c.staking.participant(address).stake}
    if row["role"] == "validator":
        got["staked"] = c.staking.is_staked(address, Role.VALIDATOR)
        got["in_pool"] = c.disputes.in_pool(address)
        return got
    rep = reputation(c, address)
    got |= {
        "staked": rep.staked,
        "anchored_batches": len(c.anchor.anchors(address)),
        "receipts": rep.receipts,
        "reputation": rep.score,
        "jailed": rep.jailed,
        "disputes_lost": rep.disputes_lost,
    }
    return got


def _fresh_state(isolated: bool) -> dict[str, Any]:
    return {
        "version": 1,
        "isolated": isolated,
        "passphrase": secrets.token_hex(16),  # the parties' wallets; the file is 0600
        "chain": None,
        "anvil": None,
        "network": None,
        "parties": [],
        "namespaces": [],
        "links": [],
        "bridges": False,
    }


def _why_not_isolated(isolate: bool | None, chain: str | None) -> str | None:
    """None if parties get namespaces; else why they share loopback."""
    if isolate is False:
        return "asked for loopback"
    why = _netns.available()
    if why is None and chain is not None:
        why = "an existing chain is reached on the host's network"
    if why is not None and isolate:
        raise ConfigError(f"cannot give parties their own namespaces: {why}")
    return why


def _refuse_existing(data_dir: Path, root: Path, reset: bool) -> None:
    """A running testnet is refused; a stopped one's data dirs need ``reset``."""
    net = Testnet.find(data_dir)
    if net is not None:
        alive = net.running()
        raise ConfigError(
            f"a testnet is already running from {data_dir} ({len(alive)} processes alive): "
            "`cairn testnet down` first"
            if alive
            else f"a testnet's state is still in {root} (its processes are gone): "
            "`cairn testnet down` cleans it up"
        )
    old = [p for p in root.glob("*-*") if p.is_dir() and p.name.split("-")[0] in _ROLES]
    if old and not reset:
        names = ", ".join(sorted(o.name for o in old))
        raise ConfigError(
            f"{root} holds a stopped testnet's data dirs ({names}): "
            "pass --reset to delete them and start afresh"
        )
    for stale in [*old, root / "chain", root / "networks"]:
        shutil.rmtree(stale, ignore_errors=True)
