"""peer/connection.py: what open_link sets up, over real aiortc connections through a real server."""

from __future__ import annotations

import socket
from pathlib import Path

from peer.connection import RECEIVE_BUFFER, Link


def receive_buffers(link: Link) -> list[int]:
    connection = link.pc.sctp.transport.transport.iceGatherer._connection
    sockets = [protocol.transport.get_extra_info("socket") for protocol in connection._protocols]
    return [sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) for sock in sockets]


async def test_every_socket_of_a_link_gets_the_large_receive_buffer(links: tuple[Link, Link]) -> None:
    # Linux caps the request at net.core.rmem_max and reports twice what it grants.
    granted = 2 * min(RECEIVE_BUFFER, int(Path("/proc/sys/net/core/rmem_max").read_text()))
    default = 2 * int(Path("/proc/sys/net/core/rmem_default").read_text())
    assert granted > default, "this machine cannot grant more than the default buffer"
    for link in links:
        buffers = receive_buffers(link)
        assert buffers and all(size == granted for size in buffers), buffers
