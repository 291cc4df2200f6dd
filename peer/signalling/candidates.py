"""The facts of docs/PROTOCOL.md 3.5 as aiortc and aioice hold them: the candidates each
side offered, and the pair ICE selected. The decisions on them (the route, why a
connection failed) are sendit_protocol.ice's; this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from aioice import Connection
from aioice.ice import CandidatePair
from aiortc import RTCIceCandidate, RTCPeerConnection
from aiortc.sdp import SessionDescription

from sendit_protocol.ice import Offered, Policy, Route, Seen, TurnError, kinds, route, server_kinds, signalled_type


def offered(candidate: RTCIceCandidate) -> Offered:
    return Offered(type=candidate.type, host=candidate.ip, port=candidate.port)


def offered_in(sdp: str) -> list[Offered]:
    """The candidates a description carries (aiortc puts every one of its own there)."""
    return [offered(c) for media in SessionDescription.parse(sdp).media for c in media.ice_candidates]


@dataclass
class Candidates:
    """The candidates of one connection: gathered here, and signalled by the peer
    (in its description, or trickled after it)."""

    local: list[Offered] = field(default_factory=list)
    remote: list[Offered] = field(default_factory=list)
    #: The peer has signalled its last candidate (its end marker, or its description's).
    remote_done: bool = False

    def signalled_at(self, host: str, port: int) -> str | None:
        """The type a ``prflx`` remote at ``host``:``port`` counts as (3.5), if any."""
        return signalled_type(host, port, self.remote)

    def seen(self, policy: Policy, ice_servers: Sequence[dict[str, Any]], refused: bool) -> Seen:
        """The facts of 3.5, once this side has gathered; ``refused``: the relay refused
        our Allocate."""
        stun, turn = server_kinds(ice_servers)
        local = kinds([c.type for c in self.local])
        # As on the page: a relay that gave no candidate and did not refuse either gave
        # none in time (no answer, a network error, a nonce still stale when tried again).
        unreachable = turn and "relay" not in local
        return Seen(
            policy=policy,
            stun=stun,
            turn=turn,
            local=local,
            remote=kinds([c.type for c in self.remote]),
            turn_error=TurnError.REFUSED if refused else TurnError.UNREACHABLE if unreachable else None,
        )


def ice_connection(pc: RTCPeerConnection) -> Connection | None:
    """aioice's connection under ``pc``'s data channel (aiortc bundles it all on one)."""
    if pc.sctp is None:
        return None
    connection: Connection = pc.sctp.transport.transport.iceGatherer._connection
    return connection


def nominated(pc: RTCPeerConnection) -> CandidatePair | None:
    """The pair ICE selected (None before there is one, and again once the connection is
    closed: aioice forgets it then, so whoever reads it later keeps it).

    aioice keeps its selected pair per component in ``_nominated`` (it has no public
    name for it)."""
    connection = ice_connection(pc)
    return None if connection is None else next(iter(connection._nominated.values()), None)


def pair_route(pair: CandidatePair, candidates: Candidates) -> Route:
    """The route of ``pair``. A remote candidate aioice learnt from a check is ``prflx``
    until the peer signals it: aioice 0.13 then retypes it itself (RFC 8445 7.3.1.3),
    older ones keep ``prflx``, so it is matched against what the peer signalled as 3.5 says."""
    remote = pair.remote_candidate
    return route(pair.local_candidate.type, remote.type, candidates.signalled_at(remote.host, remote.port))


def pair_named(pair: CandidatePair, candidates: Candidates) -> bool:
    """Whether ``pair``'s route is decided: its local candidate is relayed, or its remote is
    not peer reflexive, or a signalled candidate says what that remote is (3.5)."""
    remote = pair.remote_candidate
    return (
        pair.local_candidate.type == "relay"
        or remote.type != "prflx"
        or candidates.signalled_at(remote.host, remote.port) is not None
    )
