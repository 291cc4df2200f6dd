"""The socket.io server SendIt runs, and what it refuses before any handler sees a packet.

The signalling protocol (docs/PROTOCOL.md 2) has only text events with one object each,
acknowledged by the server. Anything else a client sends is refused here, at the first
frame that shows it, and the client is disconnected:

- binary frames, and packets announcing binary attachments: python-socketio would
  otherwise keep every attachment a client announces, without limit, until it has them
  all;
- acknowledgements: the server never asks a client for one;
- events whose name is not a string, or is one of the names python-socketio reserves
  for its own calls (``connect`` would run our connect handler with the client's payload
  as its environ, and so let the client choose the address the join limit counts);
- frames that do not parse, which would otherwise cost a traceback in the log each
  (Engine.IO decodes a frame outside its error handling: an empty one, or one of no
  packet type, would end the connection with a traceback).

A dropped client's frames that the server has already read are not handled either.

What the server queues for one client is bounded too: a client that stops reading while
its peer keeps signalling is dropped, instead of the server holding the signals for it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import engineio
import socketio
from engineio.async_drivers import aiohttp as engineio_aiohttp
from socketio import packet

from ..errorlog import SparseLog, shown

log = logging.getLogger(__name__)

#: Event names python-socketio dispatches for itself; a client must not send them.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "message"})
#: The Engine.IO 4 packets a client sends over a WebSocket-only transport: close (1),
#: pong (3) and message (4). Open, ping, upgrade and noop (0, 2, 5, 6) are the
#: server's or the polling upgrade's, and engine.io answers some of them past the
#: bound on what waits for a client.
ENGINE_PACKET_TYPES = "134"
#: What one queued packet costs beyond its text: the Packet object and the queue's slot.
PACKET_OVERHEAD = 128


#: The settings ours and bench/bare_relay.py's plain server share, so that the two
#: differ only by our code.
SOCKETIO_SETTINGS: dict[str, Any] = {
    "async_mode": "aiohttp",
    # One task per event would let a client's trickled ICE candidate overtake its
    # offer; handling events in arrival order keeps each client's signals in order.
    "async_handlers": False,
    "transports": ["websocket"],
    "max_http_buffer_size": 256 * 1024,
}


@dataclass(frozen=True)
class TransportLimits:
    """What one client may send and be owed."""

    #: Bytes of packets waiting to go out to one client (each counted with
    #: PACKET_OVERHEAD); past it, the client is dropped. A pairing owes its client a few
    #: kilobytes (one description, some candidates); four of the largest messages fit.
    max_queued: int = 1024 * 1024
    #: Seconds a connection may stay without joining the socket.io namespace: the caps
    #: per address count joined connections, so one that never joins would otherwise
    #: hold a socket (and a file descriptor) for as long as it answers pings.
    join_within: float = 10.0


class GuardedWebSocket(engineio_aiohttp.WebSocket):
    """Engine.IO's WebSocket, handing on only the frames Engine.IO can decode; at any
    other, and at the client's own close packet, the connection is cut."""

    async def wait(self) -> str | bytes | None:
        data = await super().wait()
        reason = _engine_refusal(data)
        if reason is not None:
            self.server.refused(reason, data)
        # engine.io forgets a session at its close packet but leaves the WebSocket open,
        # answering nothing more; so it is cut here, as any refused one is.
        if reason is not None or (isinstance(data, str) and data.startswith("1")):
            _cut(self.environ.get("aiohttp.request"))
            return None
        return data


def _cut(request: Any) -> None:
    """End a client's connection at once. A clean close would queue one more packet and
    wait for it to be written, which a client that does not read never lets happen; cut,
    the connection's own handler ends it as a lost connection, and the disconnect
    handlers run as for any other."""
    if request is not None and request.transport is not None:
        request.transport.abort()


class CountedQueue(asyncio.Queue[Any]):
    """A client's outgoing packets, with the bytes they hold kept as they come and go,
    so checking the bound costs nothing however many packets wait."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def _put(self, item: Any) -> None:
        self.bytes += _size(item)
        super()._put(item)

    def _get(self) -> Any:
        item = super()._get()
        self.bytes -= _size(item)
        return item


class BoundedEngineServer(engineio.AsyncServer):
    """Engine.IO with a bound on what waits to be written to each client, and only
    frames it can decode."""

    max_queued = TransportLimits.max_queued

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A copy: the driver's table is shared by every server of the process.
        self._async: dict[str, Any] = {**self._async, "websocket": GuardedWebSocket}

    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue[Any]:
        return CountedQueue()

    def overflowed(self, sid: str) -> None:
        """Called instead of queueing a packet that would pass the bound."""

    def refused(self, reason: str, data: str | bytes) -> None:
        """Called for a frame Engine.IO cannot decode, before the connection ends."""

    async def send_packet(self, sid: str, pkt: Any) -> None:
        socket = self.sockets.get(sid)
        if socket is not None and socket.queue.bytes + _size(pkt) > self.max_queued:
            self.overflowed(sid)
            return
        await super().send_packet(sid, pkt)


def _size(pkt: Any) -> int:
    data = getattr(pkt, "data", None)
    return PACKET_OVERHEAD + (len(data) if isinstance(data, (str, bytes)) else 0)


class OriginPolicy:
    """Which web pages may open a socket: the server's own (whatever name the browser
    reached it by) and the configured origins. A page of another site could otherwise
    drive its visitors' browsers to create and join codes. Clients that are not browsers
    send no Origin and are not asked."""

    def __init__(self, allowed: frozenset[str] = frozenset(), trusted_proxies: frozenset[str] = frozenset()) -> None:
        self.allowed = allowed
        self.trusted_proxies = trusted_proxies

    def __call__(self, origin: str | None, environ: dict[str, Any]) -> bool:
        if "*" in self.allowed or origin in self.allowed:
            return True
        return origin in self._own(environ)

    def _own(self, environ: dict[str, Any]) -> set[str]:
        """The server's own origins as this request names them: its Host, and behind a
        trusted proxy (which may pass its upstream's name as Host) the host the proxy
        says the browser asked for."""
        hosts = {environ.get("HTTP_HOST", "")}
        request = environ.get("aiohttp.request")
        if request is not None and request.remote in self.trusted_proxies:
            hosts.add(environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip())
        return {f"{scheme}://{host}" for host in hosts if host for scheme in ("http", "https")}


class GuardedServer(socketio.AsyncServer):
    """python-socketio's server, taking only what docs/PROTOCOL.md 2 defines."""

    def __init__(self, limits: TransportLimits = TransportLimits(), origins: OriginPolicy | None = None) -> None:
        super().__init__(**SOCKETIO_SETTINGS, cors_allowed_origins=origins or OriginPolicy())
        self.refusals = SparseLog(log)
        self.join_within = limits.join_within
        self.eio.max_queued = limits.max_queued
        self.eio.overflowed = self._overflowed
        self.eio.refused = self._refused_frame
        #: Clients dropped whose connection has not ended yet.
        self._dropped: set[str] = set()

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return BoundedEngineServer

    def _overflowed(self, eio_sid: str) -> None:
        self.refusals.warning("dropped %s: it left more than %d bytes unread", eio_sid, self.eio.max_queued)
        self._drop(eio_sid)

    def _refused_frame(self, reason: str, data: str | bytes) -> None:
        self.refusals.warning("refused %s, disconnected: %s", reason, shown(data))

    def _drop(self, eio_sid: str) -> None:
        """Cut the client's connection (see :func:`_cut`), and handle nothing more of it."""
        if eio_sid in self.environ:  # not yet disconnected, which will forget it
            self._dropped.add(eio_sid)
        _cut(self.environ.get(eio_sid, {}).get("aiohttp.request"))

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> None:
        await super()._handle_eio_connect(eio_sid, environ)
        asyncio.get_running_loop().call_later(self.join_within, self._unless_joined, eio_sid)

    def _unless_joined(self, eio_sid: str) -> None:
        if eio_sid in self.environ and self.manager.sid_from_eio_sid(eio_sid, "/") is None:
            self.refusals.warning("dropped %s: it did not join within %g s", eio_sid, self.join_within)
            self._drop(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._dropped.discard(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_eio_message(self, eio_sid: str, data: object) -> None:
        if eio_sid in self._dropped:
            return
        reason = _refusal(data)
        pkt = None
        if reason is None:
            try:
                pkt = self.packet_class(encoded_packet=data)
            except Exception:  # a malformed frame; what python-socketio raises varies
                reason = "a malformed packet"
            else:
                reason = _event_refusal(pkt)
        if reason is not None or pkt is None:
            # What Engine.IO decoded from JSON is shown by its repr.
            text = data if isinstance(data, (str, bytes)) else repr(data)
            self.refusals.warning("refused %s from %s, disconnected: %s", reason, eio_sid, shown(text))
            self._drop(eio_sid)
            return
        await self._dispatch(eio_sid, pkt)

    async def _dispatch(self, eio_sid: str, pkt: Any) -> None:
        if pkt.packet_type == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif pkt.packet_type == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
            # The protocol has one namespace: a client that leaves it is done. Left open,
            # the connection would be counted by no cap and timed by no join_within.
            self._drop(eio_sid)
        else:
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)


def _engine_refusal(data: str | bytes | None) -> str | None:
    """What Engine.IO could not decode in a frame, if anything. A base64 frame ("b...")
    is a binary message, which the protocol has none of."""
    if not isinstance(data, str):
        return None
    if not data:
        return "an empty frame"
    if data[0] == "b":
        return "a base64 binary frame"
    if data[0] not in ENGINE_PACKET_TYPES:
        # Engine.IO decodes any digit, then fails on 7-9 with a traceback in the log
        # for every frame, and keeps the connection open for more.
        return "a frame of no Engine.IO packet type"
    return None


def _refusal(data: object) -> str | None:
    """What is wrong with a frame before it is parsed, if anything."""
    if isinstance(data, bytes):
        return "a binary frame"
    if not isinstance(data, str):
        # Engine.IO decodes a message whose text is JSON ("4null", "4{}"): no packet.
        return "a message that is not a packet"
    if data[:1] in (str(packet.BINARY_EVENT), str(packet.BINARY_ACK)):
        return "a packet with binary attachments"
    return None


def _event_refusal(pkt: Any) -> str | None:
    """What is wrong with a parsed packet, if anything."""
    if pkt.packet_type in (packet.CONNECT, packet.DISCONNECT):
        return None
    if pkt.packet_type != packet.EVENT:
        return f"a packet of type {pkt.packet_type}"
    data = pkt.data
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        return "an event without a name"
    if data[0] in RESERVED_EVENTS:
        return f"the reserved event name {data[0]!r}"
    return None
