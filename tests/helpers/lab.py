"""A small Internet of network namespaces, made inside the test's own private namespace:
an "internet" segment (198.51.100.0/24) holding the SendIt server and a real coturn, and
two homes (192.0.2.0/24 and 203.0.113.0/24), each a LAN of hosts behind a router
namespace that does NAT with nftables. Only documentation ranges are used, so nothing in
the lab can collide with, or reach, a real network.

Plain objects with no pytest in them (tests/lab/conftest.py makes fixtures of them):
:func:`build` makes the lab, :meth:`Lab.set_nat` chooses what the routers do,
:func:`turnserver` and :func:`sendit_server` run the internet's services, and a
:class:`Host` runs commands (the ``sendit`` CLI, Chromium) on its LAN.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import re
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, AsyncIterator

from signal_server.signalling.ice import IceServers, TurnRest

from .coturn import Coturn, coturn
from .server import ServerProcess, server_process

#: Where the internet's services listen, and a second internet address (NAT checks).
SERVER_IP = "198.51.100.2"
OTHER_IP = "198.51.100.3"
#: A gateway on the internet that answers nothing: the way to addresses nobody routes.
NOWHERE_IP = "198.51.100.254"
NOWHERE_MAC = "02:00:00:00:00:fe"
TURN_PORT = 3478
#: A guard on every command that builds the lab.
COMMAND_TIMEOUT = 10.0
NAT_PROBE = Path(__file__).with_name("nat_probe.py")
CHROMIUM = Path(os.environ.get("SENDIT_CHROMIUM", "/usr/lib/chromium/chromium"))


class NatKind(StrEnum):
    #: nft's plain ``masquerade``: a flow keeps its source port where it can, so one
    #: socket has one mapping whoever it talks to; only replies are let in.
    ENDPOINT_INDEPENDENT = "endpoint-independent"
    #: ``masquerade random``: a new port per flow ("symmetric", address-and-port
    #: dependent mapping), so the port a STUN server saw is of no use to the peer.
    SYMMETRIC = "symmetric"


class LabError(Exception):
    """A command that builds or runs the lab failed; the message has its output."""


@dataclasses.dataclass
class Namespace:
    """A network namespace, kept alive by a holder process that ends when the test does
    (it reads a pipe only this process writes to)."""

    name: str
    holder: subprocess.Popen[bytes]

    @classmethod
    def create(cls, name: str) -> "Namespace":
        holder = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", "echo ready && exec cat >/dev/null"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert holder.stdout is not None
        # The line is written after unshare(2): from then on the holder is in the new namespace.
        if holder.stdout.readline() != b"ready\n":
            raise LabError(f"namespace {name}: unshare --net did not start")
        namespace = cls(name, holder)
        namespace.run("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        namespace.ip("link set lo up")
        return namespace

    @property
    def pid(self) -> int:
        return self.holder.pid

    @property
    def enter(self) -> list[str]:
        """The prefix that runs a command inside this namespace."""
        return ["nsenter", "-t", str(self.pid), "-n"]

    def run(self, *argv: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*self.enter, *argv], input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
        if done.returncode != 0:
            raise LabError(f"{self.name}: {' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def ip(self, *lines: str) -> None:
        self.run("ip", "-batch", "-", stdin="\n".join(lines) + "\n")

    def nft(self, ruleset: str) -> None:
        self.run("nft", "-f", "-", stdin=ruleset)

    def close(self) -> None:
        if self.holder.stdin is not None:
            self.holder.stdin.close()
        self.holder.wait(COMMAND_TIMEOUT)
        if self.holder.stdout is not None:
            self.holder.stdout.close()


def link(a: Namespace, a_name: str, b: Namespace, b_name: str) -> None:
    """A veth pair: ``a_name`` in ``a``, ``b_name`` in ``b``."""
    a.ip(f"link add {a_name} type veth peer name {b_name} netns {b.pid}")


def route_nowhere(namespace: Namespace, device: str, *prefixes: str) -> None:
    """Route ``prefixes`` to a gateway that answers nothing, as the real Internet drops
    packets for private addresses. (A missing route would make senders see
    ``ENETUNREACH``, and coturn closes a whole allocation over one such send.)"""
    namespace.ip(
        f"neigh add {NOWHERE_IP} lladdr {NOWHERE_MAC} dev {device} nud permanent",
        *(f"route add {prefix} via {NOWHERE_IP}" for prefix in prefixes),
    )


def router_rules(kind: NatKind) -> str:
    """nftables for a home router: NAT of what leaves by ``wan``; from ``wan`` only what
    answers a flow from inside, forwarded or to the router itself."""
    masquerade = "masquerade random" if kind is NatKind.SYMMETRIC else "masquerade"
    return f"""
flush ruleset
table ip nat {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" {masquerade}
  }}
}}
table inet filter {{
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    # Out to the internet; and from host to host on the LAN, which br_netfilter (when
    # the machine has it loaded) shows to this hook as lan to lan.
    iifname "lan" accept
  }}
  chain input {{
    type filter hook input priority filter; policy accept;
    # A stray datagram to the router, left unconfirmed in conntrack, cannot then take
    # the mapping a host's own flow to the same peer needs.
    iifname "wan" ct state != established,related drop
  }}
}}
"""


@dataclasses.dataclass
class Host:
    """A computer on a home LAN."""

    name: str
    namespace: Namespace
    address: str

    @property
    def enter(self) -> list[str]:
        return self.namespace.enter

    @property
    def local_ip(self) -> list[str]:
        """The CLI's flags that offer this host's LAN address (aioice's own pick would
        do too here, but the suite always names it)."""
        return ["--local-ip", self.address]


@dataclasses.dataclass
class Home:
    name: str
    router: Namespace
    wan_address: str
    lan: ipaddress.IPv4Network
    hosts: list[Host]
    nat: NatKind | None = None

    def set_nat(self, kind: NatKind) -> None:
        if kind is not self.nat:
            self.router.nft(router_rules(kind))
            self.nat = kind


@dataclasses.dataclass
class Lab:
    internet: Namespace
    homes: list[Home]

    @property
    def namespaces(self) -> list[Namespace]:
        return [self.internet] + [ns for home in self.homes for ns in [home.router] + [h.namespace for h in home.hosts]]

    def set_nat(self, kind: NatKind) -> None:
        for home in self.homes:
            home.set_nat(kind)

    def close(self) -> None:
        for namespace in reversed(self.namespaces):
            namespace.close()


#: name, LAN, the router's internet address, and how many hosts.
HOMES = (("a", "192.0.2.0/24", "198.51.100.10", 2), ("b", "203.0.113.0/24", "198.51.100.20", 1))


def build() -> Lab:
    """The internet and its two homes, with endpoint-independent NATs to start with."""
    internet = Namespace.create("internet")
    lab = Lab(internet, [])
    try:
        internet.ip(
            "link add internet type bridge",
            "link set internet up",
            f"addr add {SERVER_IP}/24 dev internet",
            f"addr add {OTHER_IP}/24 dev internet",
        )
        route_nowhere(internet, "internet", *(lan for _, lan, _, _ in HOMES))
        for name, lan, wan_address, count in HOMES:
            lab.homes.append(build_home(internet, name, ipaddress.IPv4Network(lan), wan_address, count))
        lab.set_nat(NatKind.ENDPOINT_INDEPENDENT)
    except BaseException:
        lab.close()
        raise
    return lab


def build_home(internet: Namespace, name: str, lan: ipaddress.IPv4Network, wan_address: str, count: int) -> Home:
    router = Namespace.create(f"router-{name}")
    home = Home(name, router, wan_address, lan, [])
    link(internet, f"to-{name}", router, "wan")
    internet.ip(f"link set to-{name} master internet up")
    gateway = lan[1]
    router.ip(
        f"addr add {wan_address}/24 dev wan",
        "link set wan up",
        "link add lan type bridge",
        f"addr add {gateway}/{lan.prefixlen} dev lan",
        "link set lan up",
    )
    route_nowhere(router, "wan", "default")
    router.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    for index in range(count):
        namespace = Namespace.create(f"host-{name}{index + 1}")
        address = str(lan[10 + index])
        link(router, f"host{index + 1}", namespace, "eth0")
        router.ip(f"link set host{index + 1} master lan up")
        namespace.ip(
            f"addr add {address}/{lan.prefixlen} dev eth0", "link set eth0 up", f"route add default via {gateway}"
        )
        home.hosts.append(Host(f"{name}{index + 1}", namespace, address))
    return home


@dataclasses.dataclass(frozen=True)
class Mapping:
    """What two internet servers saw of one host's socket (see nat_probe.py)."""

    local_port: int
    seen: tuple[tuple[str, int], tuple[str, int]]
    stranger_got_in: bool


def probe_nat(lab: Lab, host: Host, port: int) -> Mapping:
    """Write from one socket of ``host`` to two internet addresses; what each saw."""
    serve = [*lab.internet.enter, sys.executable, str(NAT_PROBE), "serve", SERVER_IP, OTHER_IP, str(port)]
    with subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as server:
        try:
            assert server.stdout is not None
            if server.stdout.readline() != b"ready\n":
                raise LabError(f"nat_probe serve did not start: {server.communicate()[1]!r}")
            answer = json.loads(
                host.namespace.run(sys.executable, str(NAT_PROBE), "ask", SERVER_IP, OTHER_IP, str(port))
            )
        finally:
            server.terminate()
    first, second = (tuple(seen) for seen in answer["seen"])
    return Mapping(answer["local_port"], (first, second), answer["stranger"])  # type: ignore[arg-type]


# ---- services on the internet ------------------------------------------------------


#: coturn's periodic count of what one allocation got from its peers and sent them.
PEER_USAGE = re.compile(r"peer usage: realm=<[^>]*>, username=<([^>]*)>, rp=\d+, rb=(\d+), sp=\d+, sb=(\d+)")
NEW_SESSION = re.compile(r"session \d+: new, realm=<[^>]*>, username=<([^>]*)>")
REFUSED = re.compile(r"user <([^>]*)>: incoming packet message processed, error 401")


@dataclasses.dataclass(frozen=True)
class Turn:
    """A coturn on the internet, and what its log tells of the lab's cases."""

    relay: Coturn

    @property
    def url(self) -> str:
        return self.relay.url

    @property
    def secret(self) -> str:
        """What ``--turn-secret`` must be for a server's credentials to be accepted."""
        return self.relay.secret

    @property
    def stun_url(self) -> str:
        """coturn answers STUN on the same port."""
        return f"stun:{SERVER_IP}:{TURN_PORT}"

    def credentials(self, lifetime: float) -> dict[str, Any]:
        """An ICE server entry with TURN REST credentials as the SendIt server issues
        them, valid ``lifetime`` seconds from now (negative: expired)."""
        issuer = IceServers(turn=TurnRest((self.url,), self.secret, allowance=lifetime), code_ttl=0)
        [entry] = issuer.for_join()
        return entry

    def mark(self) -> int:
        """Where coturn's log is now, for :meth:`relayed_since` and :meth:`refused_since`."""
        return len(self.relay.log)

    def relayed(self, username: str) -> int:
        """Bytes coturn has relayed between the allocations of ``username`` and their
        peers so far, by its usage lines. A byte crosses one allocation when only one
        side is relayed, and two (counted twice) when both are."""
        usage = PEER_USAGE.findall("".join(self.relay.log))
        return sum(int(got) + int(sent) for user, got, sent in usage if user == username)

    def relayed_since(self, mark: int) -> int:
        """Bytes relayed for the users whose allocations coturn made since ``mark``."""
        users = set(NEW_SESSION.findall("".join(self.relay.log[mark:])))
        return sum(self.relayed(user) for user in users)

    def refused_since(self, mark: int) -> set[str]:
        """The users whose credentials coturn refused since ``mark`` (a 401 after they
        authenticated; the first request of every allocation gets one without a user)."""
        return set(REFUSED.findall("".join(self.relay.log[mark:]))) - {""}


@contextlib.asynccontextmanager
async def turnserver(lab: Lab, directory: Path) -> AsyncIterator[Turn]:
    """coturn's ``turnserver`` (helpers/coturn.py: its own config file, never the
    system's service) on the internet's address; it also answers STUN."""
    async with coturn(directory, host=SERVER_IP, port=TURN_PORT, run=lab.internet.enter) as relay:
        yield Turn(relay)


#: Ports for the lab's SendIt servers: a fresh one per server, so no case meets the
#: conntrack entries or the lingering sockets of another.
_ports = iter(range(20_000, 30_000))


@contextlib.asynccontextmanager
async def sendit_server(lab: Lab, directory: Path, *args: str) -> AsyncIterator[ServerProcess]:
    """A real SendIt server process on the internet's address, a fresh port, its pool
    in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    async with server_process(
        "--pool-dir", str(directory / "pool"), *args, host=SERVER_IP, port=next(_ports), run=lab.internet.enter
    ) as server:
        yield server


def trusting_home(directory: Path, ca_file: Path) -> Path:
    """A home directory whose NSS database (what Chromium on Linux trusts besides its
    own roots) holds ``ca_file`` as a CA for websites: a CA as a person installs it."""
    database = directory / ".pki" / "nssdb"
    database.mkdir(parents=True)
    for argv in (
        ["certutil", "-N", "-d", f"sql:{database}", "--empty-password"],
        ["certutil", "-A", "-d", f"sql:{database}", "-n", "SendIt lab CA", "-t", "C,,", "-i", str(ca_file)],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        if done.returncode != 0:
            raise LabError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return directory


def chromium_in(host: Host, directory: Path, home: Path) -> Path:
    """An executable that runs Chromium on ``host``'s network, with ``home`` as its home
    directory. Playwright drives the browser over a pipe, so all the browser's own
    traffic is the host's."""
    wrapper = directory / f"chromium-{host.name}"
    command = " ".join([*host.enter, str(CHROMIUM)])
    wrapper.write_text(f'#!/bin/sh\nHOME={home} exec {command} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper
