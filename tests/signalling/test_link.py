"""peer/signalling/link.py: what open_link sets up, over real aiortc connections through a real server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiortc import RTCPeerConnection

from helpers.server import RunningServer
from peer.errors import ConnectionFailed, ProtocolViolation
from peer.signalling.client import SignallingClient
from peer.signalling.link import CHANNEL_LABEL, RECEIVE_BUFFER, Link, LinkSetup, ice_configuration, open_link


def receive_buffers(link: Link) -> list[int]:
    connection = link.pc.sctp.transport.transport.iceGatherer._connection
    sockets = [protocol.transport.get_extra_info("socket") for protocol in connection._protocols]
    return [sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) for sock in sockets]


async def test_the_receivers_sockets_get_the_large_receive_buffer_and_the_senders_do_not(
    links: tuple[Link, Link],
) -> None:
    # Linux caps the request at net.core.rmem_max and reports twice what it grants.
    granted = 2 * min(RECEIVE_BUFFER, int(Path("/proc/sys/net/core/rmem_max").read_text()))
    sender, receiver = links
    assert receive_buffers(receiver) and set(receive_buffers(receiver)) == {granted}
    assert receive_buffers(sender) and max(receive_buffers(sender)) < granted


@contextlib.asynccontextmanager
async def paired(server: RunningServer) -> AsyncIterator[tuple[SignallingClient, SignallingClient, dict, dict]]:
    """A sender and a receiver paired through the server, each with its acknowledgement."""
    sender, receiver = SignallingClient(), SignallingClient()
    await sender.connect(server.url)
    await receiver.connect(server.url)
    try:
        created = await sender.request("create")
        joined = await receiver.request("join", {"code": created["code"]})
        yield sender, receiver, created, joined
    finally:
        await sender.close()
        await receiver.close()


async def test_a_signal_aiortc_cannot_apply_fails_the_link_at_once(server: RunningServer) -> None:
    async with paired(server) as (sender, receiver, _, joined):
        # An answer to an offer nobody made.
        await sender.request("signal", {"type": "answer", "sdp": "v=0\r\n"})
        # Well before OPEN_TIMEOUT, and not as the timeout's NO_PATH.
        with pytest.raises(ConnectionFailed, match="^connection setup failed: "):
            await open_link(receiver, joined["ice_servers"], "receiver", ["127.0.0.1"])


async def _offer_channel(sender: SignallingClient, ice_servers: list, **channel: Any) -> LinkSetup:
    """A sender that opens a channel of its own making (aiortc will open any)."""
    setup = LinkSetup(sender, RTCPeerConnection(ice_configuration(ice_servers)), "sender", ["127.0.0.1"])
    setup.start_applying_signals()
    setup.watch(setup.pc.createDataChannel(channel.pop("label", CHANNEL_LABEL), **channel))
    await setup.describe(await setup.pc.createOffer())
    return setup


@pytest.mark.parametrize(
    "channel, problem",
    [
        ({"label": "other"}, "the data channel is labelled 'other', not 'sendit'"),
        ({"ordered": False}, "the data channel is unordered"),
        ({"maxRetransmits": 0}, "the data channel is unreliable"),
        ({"maxPacketLifeTime": 500}, "the data channel is unreliable"),
    ],
)
async def test_a_receiver_refuses_any_channel_but_the_one_ordered_reliable_sendit_channel(
    server: RunningServer, channel: dict[str, Any], problem: str
) -> None:
    async with paired(server) as (sender, receiver, created, joined):
        setup = await _offer_channel(sender, created["ice_servers"], **channel)
        with pytest.raises(ProtocolViolation, match=f"^protocol error: {problem}$"):
            await open_link(receiver, joined["ice_servers"], "receiver", ["127.0.0.1"])
        await setup.abandon()


async def test_a_second_channel_is_a_fault_of_the_open_link(links: tuple[Link, Link]) -> None:
    sender, receiver = links
    faults: asyncio.Queue[str] = asyncio.Queue()
    receiver.on_fault(faults.put_nowait)
    sender.pc.createDataChannel(CHANNEL_LABEL, ordered=True)
    assert await asyncio.wait_for(faults.get(), 10) == "the other side opened a second data channel"
