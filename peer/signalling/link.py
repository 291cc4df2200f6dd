"""The WebRTC half of signalling: an aiortc connection set up through the server.

The same steps as web/js/signalling/link.js (docs/PROTOCOL.md 2.3 and 3): every signal
goes through the handshake (sendit_protocol.handshake), which confirms that both sides
hold the same code and seals the descriptions and candidates, so the server can neither
read nor change them. The sender creates the channel and the offer, the receiver
answers. aiortc does not trickle (its description carries every local candidate), but
takes the trickled candidates of a browser.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceCandidate,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from sendit_protocol.errors import ErrorId, ProtocolError
from sendit_protocol.handshake import Handshake
from sendit_protocol.handshake import State as HandshakeState
from sendit_protocol.ice import FAILURE_WORDS, Policy, Route, Seen, diagnose, server_kinds
from sendit_protocol.messages import clip

from ..channel import Inbox
from ..errors import ConnectionFailed, GaveUpToo, PeerError, ProtocolViolation, Untrusted, untrusted
from .allocation import TurnAnswer, watching
from .candidates import Candidates, ice_connection, nominated, offered, offered_in, pair_named, pair_route
from .client import ServerRefused, SignallingClient
from .localip import offering

log = logging.getLogger(__name__)

CHANNEL_LABEL = "sendit"
OPEN_TIMEOUT = 30.0
#: How long the route waits for the peer's signals to name a peer reflexive remote (3.5).
ROUTE_WAIT = 10.0
# On the receiving side, a fast sender's bursts overflow the kernel's default UDP receive
# buffer (about 200 KB) while Python is still busy with earlier packets, and each drop
# costs SCTP a retransmission and a smaller window. 4 MiB is what Linux grants an
# unprivileged process by default (net.core.rmem_max); it quietly caps a larger request.
# The sending side keeps the default: its socket mostly receives acknowledgements, one
# per packet from aiortc, and those the kernel drops when the sender is busy cost
# nothing (each one covers the ones before), while handling every one of them cost a
# Python sender a third of its speed (bench/throughput.py).
RECEIVE_BUFFER = 4 * 1024 * 1024


@dataclass
class Link:
    """An open peer-to-peer data channel and the connection that carries it.

    Its messages are kept in :attr:`inbox` from the moment the channel opens. A channel
    the peer should not have opened (docs/PROTOCOL.md 3: there is only one) is a fault
    of the link, reported to whoever listens with :meth:`on_fault`.
    """

    pc: RTCPeerConnection
    channel: RTCDataChannel
    #: How the connection goes (docs/PROTOCOL.md 3.5), from the pair ICE selected: known
    #: once the peer's signals name that pair's remote candidate, at most ROUTE_WAIT on.
    routing: asyncio.Future[Route | None]
    inbox: Inbox = field(init=False)
    fault: PeerError | None = field(init=False, default=None)
    _fault_handler: Callable[[PeerError], None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.inbox = Inbox(self.channel)

    def on_fault(self, handler: Callable[[PeerError], None]) -> None:
        """Call ``handler(error)`` for a fault, now if one happened already."""
        self._fault_handler = handler
        if self.fault is not None:
            handler(self.fault)

    def refuse(self, error: PeerError) -> None:
        """A fault once open: another channel (ProtocolViolation), or a signal that broke
        the handshake (Untrusted)."""
        if self.fault is None:
            self.fault = error
            if self._fault_handler is not None:
                self._fault_handler(error)


def enlarge_receive_buffers(pc: RTCPeerConnection) -> None:
    """Give each of the connection's UDP sockets a RECEIVE_BUFFER (after ICE gathering).

    aiortc hands out no socket, so this reaches into aioice's connection, which holds
    one datagram endpoint per local address (tests/signalling/test_link.py notices if
    that ever changes).
    """
    connection = ice_connection(pc)
    if connection is None:
        return  # an offer without a data channel: nothing will be received
    for protocol in connection._protocols:
        sock = protocol.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)


def ice_configuration(servers: Sequence[dict[str, Any]], policy: Policy = Policy.ALL) -> RTCConfiguration:
    """Exactly the server's ICE list: an empty list must not fall back to aiortc's public STUN.
    With the relay policy, only relayed candidates are gathered and offered: the peer
    learns the relay's address, never ours."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers
        ],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if policy is Policy.RELAY else RTCIceTransportPolicy.ALL,
    )


def failed(error_id: ErrorId) -> ConnectionFailed:
    """The error of a connection that did not open for the reason ``error_id``, in 3.5's words."""
    return ConnectionFailed(FAILURE_WORDS[error_id], error_id=error_id)


def beside(own: ConnectionFailed, reason: Any, role: Role) -> GaveUpToo:
    """This side's own reason for giving up, with the peer's words, if it gave any,
    beside it (3.5): the person hears what each side saw."""
    peer = "receiver" if role == "sender" else "sender"
    said = f" The {peer} says: {clip(reason, 200)}" if isinstance(reason, str) and reason else ""
    return GaveUpToo(f"{own}{said}", error_id=own.error_id)


def unavailable(ice_servers: Sequence[dict[str, Any]], policy: Policy) -> ConnectionFailed | None:
    """Why a connection with ``policy`` cannot open on these servers, known before any
    candidate is gathered (relay only, and no relay): None if it may."""
    stun, turn = server_kinds(ice_servers)
    seen = Seen(policy=policy, stun=stun, turn=turn, local=frozenset(), remote=frozenset())
    error_id = diagnose(seen)
    return failed(error_id) if error_id is ErrorId.RELAY_UNAVAILABLE else None


Role = Literal["sender", "receiver"]
#: The server's refusals of a signal that say the other member ended the pair.
PAIR_OVER = frozenset({ErrorId.NOT_PAIRED, ErrorId.PEER_NOT_CONNECTED})


async def open_link(
    signalling: SignallingClient,
    ice_servers: Sequence[dict[str, Any]],
    handshake: Handshake,
    local_ips: Sequence[str] | None = None,
    joined: str | None = None,
    policy: Policy = Policy.ALL,
) -> Link:
    """Connect to the paired peer; returns once the channel is open. A sender passes
    the receiver's PAKE message, from ``peer_joined``, as ``joined``."""
    pc = RTCPeerConnection(ice_configuration(ice_servers, policy))
    setup = LinkSetup(signalling, pc, handshake, local_ips, ice_servers, policy)
    setup.start_applying_signals()
    try:
        if joined is not None:
            await setup.offer(joined)
        link = await setup.until_open()
    except ProtocolError as error:
        await setup.abandon()
        raise untrusted_by(error, handshake.role) from None
    except BaseException:
        await setup.abandon()
        raise
    setup.keep_applying_until_closed()
    return link


def untrusted_by(error: ProtocolError, role: Role) -> Untrusted:
    """This side's error for a handshake that failed with ``error``."""
    return untrusted(error.error_id, role) or Untrusted()


@dataclass
class LinkSetup:
    """One connection on its way to an open channel, step by step (docs/PROTOCOL.md 2.3).

    The remote side's signals are queued from the start and applied in order by one
    task, so a candidate never overtakes the description before it.
    """

    signalling: SignallingClient
    pc: RTCPeerConnection
    handshake: Handshake
    local_ips: Sequence[str] | None = None
    ice_servers: Sequence[dict[str, Any]] = ()
    policy: Policy = Policy.ALL
    opened: asyncio.Future[Link] = field(init=False)
    signals: asyncio.Queue[dict[str, Any]] = field(init=False, default_factory=asyncio.Queue)
    applying: asyncio.Task[None] | None = field(init=False, default=None)
    channels: int = field(init=False, default=0)
    link: Link | None = field(init=False, default=None)
    #: What 3.5 diagnoses a failure from: the candidates offered, the relay's answer.
    candidates: Candidates = field(init=False, default_factory=Candidates)
    turn: TurnAnswer = field(init=False, default_factory=TurnAnswer)
    #: The local description is being set (aiortc gathers then), and the peer's 3.5
    #: cancel if it came meanwhile.
    gathering: bool = field(init=False, default=False)
    #: Set whenever the peer signals a candidate (or its last), for settled_route.
    remote_news: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    gave_up: dict[str, Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.role: Role = self.handshake.role
        self.opened = asyncio.get_running_loop().create_future()
        self.signalling.on("signal", self.signals.put_nowait)
        self.signalling.on("cancelled", self.on_cancelled)
        self.pc.on("connectionstatechange", self.on_connection_state)
        self.pc.on("datachannel", self.on_channel)

    async def offer(self, joined: str) -> None:
        """The sender's first steps: its PAKE message and confirmation, then its channel
        and its (sealed) offer."""
        for signal in self.handshake.peer_joined(joined):
            await self.send(signal)
        self.watch(self.pc.createDataChannel(CHANNEL_LABEL, ordered=True))
        await self.describe(await self.pc.createOffer())

    async def send(self, signal: dict[str, str]) -> None:
        """A signal the server refuses because the pair is over ends nothing here: the
        peer ended it, and why (its ``cancelled``, its ``peer_left``) comes as an event,
        which the refusal may overtake (docs/PROTOCOL.md 2.2)."""
        try:
            await self.signalling.request("signal", signal)
        except ServerRefused as refused:
            if refused.error_id not in PAIR_OVER:
                raise

    async def describe(self, description: RTCSessionDescription) -> None:
        """Set the local description and send it (it carries every local candidate)."""
        self.gathering = True
        try:
            with offering(self.local_ips), watching(self.turn):
                await self.pc.setLocalDescription(description)
        finally:
            self.gathering = False
        if self.role == "receiver":
            enlarge_receive_buffers(self.pc)
        local = self.pc.localDescription
        self.candidates.local = offered_in(local.sdp)
        if self.gave_up is not None:
            self.give_up_too(self.gave_up)
        if self.handshake.state is HandshakeState.FAILED:
            return  # while gathering, the peer's signals broke the handshake: opened says how
        await self.send(self.handshake.seal(local.type, {"sdp": local.sdp}))
        if not self.candidates.local and not self.opened.done():
            # aiortc starts no connectivity checks without a local candidate: the link
            # will never open, and waiting would only hide why. The peer has our
            # (empty) description, so it finds out at once too.
            self.opened.set_exception(self.no_connection())

    def start_applying_signals(self) -> None:
        self.applying = asyncio.ensure_future(self.apply_signals())
        self.applying.add_done_callback(self.on_applying_ended)

    async def apply_signals(self) -> None:
        while True:
            await self.apply(await self.signals.get())

    async def apply(self, signal: dict[str, Any]) -> None:
        """Take one relayed signal through the handshake; apply what it opens: a
        candidate, or a description (answered if an offer). The handshake opens the
        description first (sealed number 0), so no candidate comes before it."""
        replies, inner = self.handshake.receive(signal)
        for reply in replies:
            await self.send(reply)
        if inner is None:
            return
        if inner["type"] == "candidate":
            candidate = parse_candidate(inner["candidate"])
            # Kept before it is applied: aioice holds an mDNS candidate while it tries to
            # resolve the name, and the route may be read meanwhile.
            if candidate is None:
                self.candidates.remote_done = True
            else:
                self.candidates.remote.append(offered(candidate))
            self.remote_news.set()
            if candidate is not None:
                await self.pc.addIceCandidate(candidate)
            return
        sdp, ended_empty = inner["sdp"], False
        if inner["type"] == "offer" and not offered_in(sdp):
            # aioice gathers nothing for a peer that ended its candidates without one:
            # the end waits until this side has gathered, so that it can tell a peer
            # that offered nothing from having nothing itself (3.5).
            sdp, ended_empty = without_end_of_candidates(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=inner["type"]))
        self.candidates.remote += offered_in(sdp)
        self.candidates.remote_done = ended_empty or "a=end-of-candidates" in sdp
        self.remote_news.set()
        if inner["type"] == "offer":
            await self.describe(await self.pc.createAnswer())
            if ended_empty:
                await self.pc.addIceCandidate(None)

    def watch(self, channel: RTCDataChannel) -> None:
        """Open the link once ``channel`` is open (it may be already)."""
        if channel.readyState == "open":
            self.on_open(channel)
        else:
            channel.once("open", functools.partial(self.on_open, channel))

    def on_open(self, channel: RTCDataChannel) -> None:
        # Synchronously, before the first message can be dispatched to nobody; and only
        # for the first channel to open, since a Link keeps every message it is given.
        if self.link is None and not self.opened.done():
            routing = asyncio.ensure_future(self.settled_route())
            self.link = Link(pc=self.pc, channel=channel, routing=routing)
            self.opened.set_result(self.link)

    async def settled_route(self) -> Route | None:
        """The selected pair's route once the peer's signals name its remote candidate
        (3.5): one known only from its checks waits for them, until the peer's last or
        ROUTE_WAIT, without holding up the transfer."""
        pair = nominated(self.pc)
        if pair is None:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ROUTE_WAIT
        while not (self.candidates.remote_done or pair_named(pair, self.candidates)):
            self.remote_news.clear()
            try:
                await asyncio.wait_for(self.remote_news.wait(), deadline - loop.time())
            except asyncio.TimeoutError:
                break
        return pair_route(pair, self.candidates)

    def on_channel(self, channel: RTCDataChannel) -> None:
        """The receiver takes the sender's one channel; any other is the peer's fault."""
        self.channels += 1
        problem = channel_problem(channel, expected=self.role == "receiver" and self.channels == 1)
        if problem is None:
            self.watch(channel)
        else:
            self.refuse(ProtocolViolation(f"protocol error: {problem}", told=problem))

    def on_connection_state(self) -> None:
        if self.pc.connectionState == "failed" and not self.opened.done():
            self.opened.set_exception(self.no_connection())

    def on_applying_ended(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is None or self.link is not None:
            # Once open, only the channel decides (docs/PROTOCOL.md 4.2): the keys came
            # sealed, so a late signal that breaks its seal, or a candidate aiortc cannot
            # take, changes nothing; ending the transfer for it would hand the server a
            # way to cut it.
            if error is not None:
                log.debug("a signal after the channel opened was dropped: %s", error)
            return
        if isinstance(error, ProtocolError):
            self.refuse(untrusted_by(error, self.role))
        else:
            self.fail(f"connection setup failed: {error}")

    def fail(self, message: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionFailed(message))

    def on_cancelled(self, data: Any) -> None:
        """The peer gave up connecting for a reason of 3.5: so does this side, with its
        own diagnosis of what it saw, never the peer's."""
        fields = data if isinstance(data, dict) else {}
        error_id = fields.get("error_id")
        if isinstance(error_id, str) and error_id in FAILURE_WORDS:
            if self.gathering:
                # What it saw includes its own addresses: the diagnosis waits for them.
                self.gave_up = fields
            else:
                self.give_up_too(fields)

    def give_up_too(self, peer: dict[str, Any]) -> None:
        if not self.opened.done():
            self.opened.set_exception(beside(self.no_connection(), peer.get("reason"), self.role))

    def no_connection(self) -> ConnectionFailed:
        """ICE found no pair (it failed, or gave up in time): why, from what it saw."""
        if self.pc.remoteDescription is None and self.pc.localDescription is None:
            # A receiver the offer never reached: it gathered nothing because it had
            # nothing to answer, so its own empty list says nothing of its addresses (3.5).
            return failed(ErrorId.NO_REMOTE_CANDIDATES)
        return failed(diagnose(self.candidates.seen(self.policy, self.ice_servers, self.turn.refused)))

    def refuse(self, error: PeerError) -> None:
        """The link will not open, or once open has a fault."""
        if self.link is not None:
            self.link.refuse(error)
        elif not self.opened.done():
            self.opened.set_exception(error)

    async def until_open(self) -> Link:
        try:
            return await asyncio.wait_for(self.opened, OPEN_TIMEOUT)
        except asyncio.TimeoutError:
            raise self.no_connection() from None

    async def abandon(self) -> None:
        """Stop applying signals and close the connection: the link will not open."""
        if self.applying is not None:
            self.applying.cancel()
        await self.pc.close()

    def keep_applying_until_closed(self) -> None:
        # Late candidates still arrive once the channel is open; they are applied until
        # the connection is closed.
        self.pc.on("connectionstatechange", self.on_state_after_open)

    def on_state_after_open(self) -> None:
        if self.pc.connectionState == "closed" and self.applying is not None:
            self.applying.cancel()


def without_end_of_candidates(sdp: str) -> tuple[str, bool]:
    """``sdp`` without its end-of-candidates lines, and whether it had one."""
    lines = sdp.splitlines(keepends=True)
    kept = [line for line in lines if line.rstrip("\r\n") != "a=end-of-candidates"]
    return "".join(kept), len(kept) != len(lines)


def channel_problem(channel: RTCDataChannel, expected: bool) -> str | None:
    """What is wrong with a channel the peer opened, if anything (docs/PROTOCOL.md 3)."""
    if not expected:
        return "the other side opened a second data channel"
    if channel.label != CHANNEL_LABEL:
        return f"the data channel is labelled {clip(channel.label, 40)!r}, not {CHANNEL_LABEL!r}"
    if not channel.ordered:
        return "the data channel is unordered"
    if channel.maxRetransmits is not None or channel.maxPacketLifeTime is not None:
        return "the data channel is unreliable"
    return None


def parse_candidate(candidate: dict[str, Any] | None) -> RTCIceCandidate | None:
    """A browser-style candidate as aiortc takes it; None for the end-of-candidates
    marker, which needs nothing from aiortc."""
    if not candidate or not candidate.get("candidate"):
        return None
    text = candidate["candidate"]
    parsed = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    parsed.sdpMid = candidate.get("sdpMid")
    parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
    return parsed
