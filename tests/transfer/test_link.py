"""peer/signalling/link.py: what open_link sets up, over real aiortc connections through a real server."""

from __future__ import annotations

import socket
from pathlib import Path

from peer.signalling.link import RECEIVE_BUFFER, Link


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
