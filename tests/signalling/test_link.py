"""peer/signalling/link.py: what open_link sets up, over real aiortc connections through a real server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from helpers.server import RunningServer
from peer.errors import ConnectionFailed
from peer.signalling.client import SignallingClient
from peer.signalling.link import RECEIVE_BUFFER, Link, open_link


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


async def test_a_signal_aiortc_cannot_apply_fails_the_link_at_once(server: RunningServer) -> None:
    sender, receiver = SignallingClient(), SignallingClient()
    await sender.connect(server.url)
    await receiver.connect(server.url)
    try:
        created = await sender.request("create")
        joined = await receiver.request("join", {"code": created["code"]})
        # An answer to an offer nobody made.
        await sender.request("signal", {"type": "answer", "sdp": "v=0\r\n"})
        # Well before OPEN_TIMEOUT, and not as the timeout's NO_PATH.
        with pytest.raises(ConnectionFailed, match="^connection setup failed: "):
            await open_link(receiver, joined["ice_servers"], "receiver", ["127.0.0.1"])
    finally:
        await sender.close()
        await receiver.close()
