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
#: A reconnection's attempt (docs/PROTOCOL.md 4.6) is given less: one begun while the
#: path was still down keeps failing its checks, where a fresh one opens within seconds.
REOPEN_TIMEOUT = 10.0
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
    #: Told when the open connection fails (ICE gave up on its path): the channel will not
    #: carry anything more, even before aiortc closes it.
    on_failed: Callable[[], None] = field(init=False, default=lambda: None)

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
    return await Pairing(signalling, ice_servers, handshake, local_ips, policy).open(joined)


def untrusted_by(error: ProtocolError, role: Role) -> Untrusted:
    """This side's error for a handshake that failed with ``error``."""
    return untrusted(error.error_id, role) or Untrusted()


class Pairing:
    """The pair's sealed signals, for one connection after another (docs/PROTOCOL.md 3.4,
    Attempts, and 4.6): the first is :meth:`open`; mid-transfer the sender makes the next
    with :meth:`reconnect`, and the receiver answers it when ``may_reconnect`` says so,
    handing its setup to ``on_reconnect``. Every connection is an attempt, numbered in its
    sealed description; a signal of another attempt than the current one is dropped.

    The peer's signals are queued from the start and go through the one handshake in
    order (its seal counter never restarts), applied by one task for the whole pair, so a
    candidate never overtakes the description before it, whichever connection it is for.
    """

    def __init__(
        self,
        signalling: SignallingClient,
        ice_servers: Sequence[dict[str, Any]],
        handshake: Handshake,
        local_ips: Sequence[str] | None = None,
        policy: Policy = Policy.ALL,
    ) -> None:
        self.signalling = signalling
        self.ice_servers = ice_servers
        self.handshake = handshake
        self.local_ips = local_ips
        self.policy = policy
        self.role: Role = handshake.role
        self.setup: LinkSetup | None = None
        #: The highest attempt made (sender) or answered (receiver).
        self.attempt = -1
        #: Receiver: whether a new offer is answered now, and who is handed its setup.
        self.may_reconnect: Callable[[], bool] = lambda: False
        self.on_reconnect: Callable[[LinkSetup], None] = lambda setup: None
        #: Told when the handshake breaks with no connection opening to refuse: no
        #: later connection can be trusted.
        self.on_broken: Callable[[PeerError], None] = lambda error: None
        self.broken: Untrusted | None = None
        self.signals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.signalling.on("signal", self.signals.put_nowait)
        self.applying: asyncio.Task[None] | None = None

    async def begin(self, attempt: int) -> LinkSetup:
        """A new connection for ``attempt``; the current one is closed."""
        if self.setup is not None:
            await self.setup.abandon()
        self.attempt = attempt
        pc = RTCPeerConnection(ice_configuration(self.ice_servers, self.policy))
        self.setup = LinkSetup(self, pc, attempt)
        if self.applying is None:
            self.applying = asyncio.ensure_future(self.apply_signals())
        return self.setup

    async def open(self, joined: str | None = None) -> Link:
        """The first connection (attempt 0); the sender starts it with ``joined``."""
        setup = await self.begin(0)
        try:
            if joined is not None:
                await setup.offer(joined)
            return await setup.until_open()
        except ProtocolError as error:
            await self.close()
            raise untrusted_by(error, self.role) from None
        except BaseException:
            await self.close()
            raise

    async def reconnect(self) -> Link:
        """Sender: the next connection, the current one closed; raises ConnectionFailed
        if it did not open (within OPEN_TIMEOUT, or ICE failed)."""
        if self.broken is not None:
            raise self.broken
        setup = await self.begin(self.attempt + 1)
        try:
            await setup.offer()
            return await setup.until_open()
        except BaseException:
            await setup.abandon()
            raise

    async def close(self) -> None:
        """Stop applying signals and close the current connection."""
        if self.applying is not None:
            self.applying.cancel()
        if self.setup is not None:
            await self.setup.abandon()

    async def apply_signals(self) -> None:
        while True:
            signal = await self.signals.get()
            try:
                replies, inner = self.handshake.receive(signal)
            except ProtocolError as error:
                self.refuse(untrusted_by(error, self.role))
                return  # the handshake opens nothing after it
            assert self.setup is not None
            for reply in replies:
                await self.setup.send(reply)
            if inner is not None:
                await self.route(inner)

    async def route(self, inner: dict[str, Any]) -> None:
        """An opened signal goes to the connection of its attempt."""
        attempt = inner.get("attempt", 0)
        if inner["type"] == "offer" and attempt > self.attempt:
            # A new connection from the sender, mid-transfer: it says the old one is lost.
            if not self.may_reconnect():
                log.debug("an offer of attempt %d was dropped: no reconnection now", attempt)
                return
            self.on_reconnect(await self.begin(attempt))
        elif attempt != self.attempt:
            log.debug("a %s of attempt %d was dropped: attempt %d is current", inner["type"], attempt, self.attempt)
            return
        assert self.setup is not None
        setup = self.setup
        try:
            await setup.apply(inner)
        except Exception as error:
            # Once open, only the channel decides (docs/PROTOCOL.md 4.2): a late candidate
            # aiortc cannot take changes nothing.
            if setup.link is None:
                setup.fail(f"connection setup failed: {error}")
            else:
                log.debug("a signal after the channel opened was dropped: %s", error)

    def refuse(self, error: Untrusted) -> None:
        """The handshake broke: the connection opening fails with it; an open one goes on
        (the keys came sealed, so ending the transfer for it would hand the server a way
        to cut it), but no later one can be trusted."""
        self.broken = error
        if self.setup is not None and self.setup.link is None and not self.setup.opened.done():
            self.setup.refuse(error)
        else:
            log.debug("a signal after the channel opened broke the handshake: %s", error)
            self.on_broken(error)


@dataclass
class LinkSetup:
    """One connection (an attempt of the pair's) on its way to an open channel, step by
    step (docs/PROTOCOL.md 2.3): what the pair's signals open for it is :meth:`apply`'d."""

    pairing: Pairing
    pc: RTCPeerConnection
    attempt: int = 0
    opened: asyncio.Future[Link] = field(init=False)
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
        pairing = self.pairing
        self.signalling, self.handshake, self.role = pairing.signalling, pairing.handshake, pairing.role
        self.local_ips, self.ice_servers, self.policy = pairing.local_ips, pairing.ice_servers, pairing.policy
        self.opened = asyncio.get_running_loop().create_future()
        # A 3.5 cancel is news only for the first connection: during a reconnection the
        # peer's cancel ends the transfer (the session hears it).
        if self.attempt == 0:
            self.signalling.on("cancelled", self.on_cancelled)
        self.pc.on("connectionstatechange", self.on_connection_state)
        self.pc.on("datachannel", self.on_channel)

    async def offer(self, joined: str | None = None) -> None:
        """The sender's steps: on the first connection its PAKE message and confirmation
        first (from the receiver's ``joined``); then its channel and its (sealed) offer."""
        if joined is not None:
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
        fields: dict[str, Any] = {"sdp": local.sdp, **({"attempt": self.attempt} if self.attempt else {})}
        await self.send(self.handshake.seal(local.type, fields))
        if not self.candidates.local and not self.opened.done():
            # aiortc starts no connectivity checks without a local candidate: the link
            # will never open, and waiting would only hide why. The peer has our
            # (empty) description, so it finds out at once too.
            self.opened.set_exception(self.no_connection())

    async def apply(self, inner: dict[str, Any]) -> None:
        """Apply what the handshake opened for this connection: a candidate, or a
        description (answered if an offer). The handshake opens the description first
        (sealed number 0, or the attempt's), so no candidate comes before it."""
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
        if self.pc.connectionState != "failed":
            return
        if self.link is not None:
            self.link.on_failed()
        elif not self.opened.done():
            self.opened.set_exception(self.no_connection())

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
            return await asyncio.wait_for(self.opened, REOPEN_TIMEOUT if self.attempt else OPEN_TIMEOUT)
        except asyncio.TimeoutError:
            raise self.no_connection() from None

    async def abandon(self) -> None:
        """Close the connection: a link not yet open will not open."""
        self.fail("the connection was replaced")
        # Shielded: aiortc's close, cut short, leaves a connection that never closes (a
        # later close waits for the first forever).
        await asyncio.shield(self.pc.close())


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
