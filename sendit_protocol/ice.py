"""What ICE tells a person (docs/PROTOCOL.md 3.5): the route a connection took, and why
one did not open. Pure decisions over facts each side collects from its own stack
(aiortc or the browser); web/js/protocol/ice.js is the twin, and both are held to the
``ice`` vectors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Collection, Iterable

from .errors import ErrorId

CANDIDATE_TYPES = frozenset({"host", "srflx", "prflx", "relay"})


class Route(StrEnum):
    LAN = "lan"
    NAT = "nat"
    RELAY = "relay"

    @property
    def shown(self) -> str:
        return ROUTE_WORDS[self]


ROUTE_WORDS = {
    Route.LAN: "direct (same network)",
    Route.NAT: "direct (through NAT)",
    Route.RELAY: "relayed via TURN",
}


def route(local: str, remote: str, remote_signalled: str | None = None) -> Route:
    """The route of a selected pair whose candidates are of types ``local`` and
    ``remote``; ``remote_signalled`` is the type of a candidate the peer signalled with
    the remote candidate's address and port, if any (it names a ``prflx`` remote)."""
    if remote == "prflx" and remote_signalled is not None:
        remote = remote_signalled
    if "relay" in (local, remote):
        return Route.RELAY
    if local == remote == "host":
        return Route.LAN
    return Route.NAT


@dataclass(frozen=True)
class Offered:
    """A candidate the peer signalled: its type and where it said it is."""

    type: str
    host: str
    port: int


def signalled_type(host: str, port: int, signalled: Iterable[Offered]) -> str | None:
    """The type a ``prflx`` remote at ``host``:``port`` counts as (3.5): that of the
    signalled candidate at that address and port; else ``host`` for a host candidate
    under an mDNS name with that port (a browser hides its address so, and a stack that
    cannot resolve the name meets the browser only from its checks); else None."""
    offered = list(signalled)
    exact = next((c.type for c in offered if (c.host, c.port) == (host, port)), None)
    if exact is not None:
        return exact
    hidden = any(c.type == "host" and c.port == port and c.host.lower().endswith(".local") for c in offered)
    return "host" if hidden else None


class Policy(StrEnum):
    ALL = "all"
    RELAY = "relay"


class TurnError(StrEnum):
    REFUSED = "refused"
    UNREACHABLE = "unreachable"


#: The STUN error codes of an Allocate answer that mean the relay will not have us.
TURN_REFUSALS = frozenset({401, 403, 437, 441, 486})


@dataclass(frozen=True)
class Seen:
    """What one side saw of a connection that did not open."""

    policy: Policy
    stun: bool
    turn: bool
    local: frozenset[str]
    remote: frozenset[str]
    turn_error: TurnError | None = None


def server_kinds(ice_servers: Iterable[dict[str, Any]]) -> tuple[bool, bool]:
    """Whether the server's ICE list has a STUN URL, and a TURN URL."""
    schemes = set()
    for server in ice_servers:
        urls = server.get("urls", [])
        for url in [urls] if isinstance(urls, str) else urls:
            schemes.add(str(url).split(":", 1)[0].lower())
    return bool(schemes & {"stun", "stuns"}), bool(schemes & {"turn", "turns"})


FAILURE_WORDS = {
    ErrorId.RELAY_UNAVAILABLE: "You asked to hide your address (relay only), but this server offers no TURN relay.",
    ErrorId.TURN_REFUSED: "The TURN relay refused the credentials this server gave out (they may have expired, "
    "or the server's TURN secret does not match the relay's).",
    ErrorId.TURN_UNREACHABLE: "The TURN relay did not answer.",
    ErrorId.NO_LOCAL_CANDIDATES: "This computer found no network address to offer.",
    ErrorId.NO_REMOTE_CANDIDATES: "The other side offered no network address to connect to.",
    ErrorId.NO_STUN: "This server gives out no STUN or TURN server, so only computers on the same network "
    "can connect, and these two could not reach each other.",
    ErrorId.NEEDS_TURN: "No direct path crosses the NATs between you, and this server has no TURN relay "
    "to fall back on.",
    ErrorId.NO_PATH: "Could not reach the other side (no network path found).",
}


def diagnose(seen: Seen) -> ErrorId:
    """Why the connection did not open: the first row of 3.5's table that holds."""
    if seen.policy is Policy.RELAY and not seen.turn:
        return ErrorId.RELAY_UNAVAILABLE
    if seen.turn_error is TurnError.REFUSED:
        return ErrorId.TURN_REFUSED
    if seen.turn_error is TurnError.UNREACHABLE and "relay" not in seen.local:
        return ErrorId.TURN_UNREACHABLE
    if not seen.local:
        return ErrorId.NO_LOCAL_CANDIDATES
    if not seen.remote:
        return ErrorId.NO_REMOTE_CANDIDATES
    if not seen.stun and not seen.turn:
        return ErrorId.NO_STUN
    if not seen.turn:
        return ErrorId.NEEDS_TURN
    return ErrorId.NO_PATH


def kinds(types: Collection[str]) -> frozenset[str]:
    """The candidate types among ``types`` that 3.5 counts."""
    return frozenset(t for t in types if t in CANDIDATE_TYPES)
