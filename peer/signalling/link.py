"""The WebRTC half of signalling: an aiortc connection set up through the server.

The same steps as web/js/signalling/link.js (docs/PROTOCOL.md 2.3): the sender creates the
channel and the offer, the receiver answers, and remote candidates wait until the
description they belong to is set. aiortc does not trickle: its description already
carries every local candidate.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

from aiortc import RTCConfiguration, RTCDataChannel, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from ..errors import ConnectionFailed
from .client import SignallingClient
from .localip import offering

CHANNEL_LABEL = "sendit"
OPEN_TIMEOUT = 30.0
NO_PATH = "could not reach the other side (no network path found)"
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

    aiortc hands out a message the moment it arrives, with nobody listening yet if the
    channel has only just opened; so messages are kept from the start until
    :meth:`hand_over` passes them on.
    """

    pc: RTCPeerConnection
    channel: RTCDataChannel
    early: list[bytes | str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.channel.on("message", self.early.append)

    def hand_over(self, handler: Callable[[bytes | str], None]) -> None:
        """From now on ``handler`` gets every message, starting with those kept so far."""
        self.channel.remove_listener("message", self.early.append)
        for data in self.early:
            handler(data)
        self.early.clear()
        self.channel.on("message", handler)


def enlarge_receive_buffers(pc: RTCPeerConnection) -> None:
    """Give each of the connection's UDP sockets a RECEIVE_BUFFER (after ICE gathering).

    aiortc hands out no socket, so this reaches into aioice's connection, which holds
    one datagram endpoint per local address (tests/test_connection.py notices if that
    ever changes).
    """
    if pc.sctp is None:
        return  # an offer without a data channel: nothing will be received
    connection = pc.sctp.transport.transport.iceGatherer._connection
    for protocol in connection._protocols:
        sock = protocol.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)


def ice_configuration(servers: Sequence[dict[str, Any]]) -> RTCConfiguration:
    """Exactly the server's ICE list: an empty list must not fall back to aiortc's public STUN."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers
        ]
    )


async def open_link(
    signalling: SignallingClient,
    ice_servers: Sequence[dict[str, Any]],
    role: Literal["sender", "receiver"],
    local_ips: Sequence[str] | None = None,
) -> Link:
    """Connect to the paired peer; returns once the channel is open."""
    pc = RTCPeerConnection(ice_configuration(ice_servers))
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[Link] = loop.create_future()
    signals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    signalling.on("signal", signals.put_nowait)

    def fail(message: str) -> None:
        if not opened.done():
            opened.set_exception(ConnectionFailed(message))

    def watch(channel: RTCDataChannel) -> None:
        def ready() -> None:
            # Synchronously, before the first message can be dispatched to nobody.
            if not opened.done():
                opened.set_result(Link(pc=pc, channel=channel))

        if channel.readyState == "open":
            ready()
        else:
            channel.once("open", ready)

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "failed":
            fail(NO_PATH)

    @pc.on("datachannel")
    def on_channel(channel: RTCDataChannel) -> None:
        if channel.label == CHANNEL_LABEL:
            watch(channel)

    async def describe(description: RTCSessionDescription) -> None:
        with offering(local_ips):
            await pc.setLocalDescription(description)
        if role == "receiver":
            enlarge_receive_buffers(pc)
        local = pc.localDescription
        await signalling.request("signal", {"type": local.type, "sdp": local.sdp})

    async def handle_signals() -> None:
        queued: list[dict[str, Any] | None] = []
        while True:
            signal = await signals.get()
            if signal.get("type") == "candidate":
                if pc.remoteDescription is None:
                    queued.append(signal.get("candidate"))
                else:
                    await add_candidate(pc, signal.get("candidate"))
                continue
            await pc.setRemoteDescription(RTCSessionDescription(sdp=signal["sdp"], type=signal["type"]))
            for candidate in queued:
                await add_candidate(pc, candidate)
            queued.clear()
            if signal["type"] == "offer":
                await describe(await pc.createAnswer())

    handler = asyncio.ensure_future(handle_signals())
    handler.add_done_callback(
        lambda task: (
            task.cancelled() or task.exception() is None or fail(f"connection setup failed: {task.exception()}")
        )
    )
    try:
        if role == "sender":
            watch(pc.createDataChannel(CHANNEL_LABEL, ordered=True))
            await describe(await pc.createOffer())
        link = await asyncio.wait_for(opened, OPEN_TIMEOUT)
    except BaseException as error:
        handler.cancel()
        await pc.close()
        if isinstance(error, asyncio.TimeoutError):
            raise ConnectionFailed(NO_PATH) from None
        raise
    # Late candidates still arrive once the channel is open; the handler keeps applying
    # them until the connection is closed.
    pc.on("connectionstatechange", lambda: pc.connectionState == "closed" and handler.cancel())
    return link


async def add_candidate(pc: RTCPeerConnection, candidate: dict[str, Any] | None) -> None:
    """Apply a browser-style candidate; the end-of-candidates marker needs nothing from aiortc."""
    if not candidate or not candidate.get("candidate"):
        return
    text = candidate["candidate"]
    parsed = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    parsed.sdpMid = candidate.get("sdpMid")
    parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
    await pc.addIceCandidate(parsed)
