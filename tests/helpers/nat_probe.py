"""A tiny UDP echo, run as a script inside lab namespaces, to see what a NAT does before
any case trusts it (tests/lab/test_lab.py).

``serve IP IP PORT``: answers a datagram on either address with the address and port it
came from, as JSON; before each answer a third socket (the second address, PORT + 1), a
stranger the client never wrote to, sends it a datagram too. ``ask IP IP PORT``: from one
socket, writes to both servers and prints what each saw, and whether the stranger got
through, as one JSON line.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys

STRANGER = b"stranger"
#: A guard for a lost datagram, never a synchronisation: answers take microseconds.
ANSWER_TIMEOUT = 5.0


def serve(first: str, second: str, port: int) -> None:
    sockets = []
    for address in (first, second):
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.bind((address, port))
        sockets.append(server)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind((second, port + 1))
    chooser = selectors.DefaultSelector()
    for server in sockets:
        chooser.register(server, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in chooser.select():
            server = key.fileobj
            assert isinstance(server, socket.socket)
            _, source = server.recvfrom(2048)
            # Sent before the answer on the same path: if the NAT let it in, the client
            # reads it before the answer it waits for.
            stranger.sendto(STRANGER, source)
            server.sendto(json.dumps(list(source)).encode(), source)


def ask(first: str, second: str, port: int) -> None:
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("0.0.0.0", 0))
    client.settimeout(ANSWER_TIMEOUT)
    seen = []
    stranger = False
    for address in (first, second):
        client.sendto(b"?", (address, port))
        while True:
            data, source = client.recvfrom(2048)
            if data == STRANGER:
                stranger = True
                continue
            assert source == (address, port), source
            seen.append(json.loads(data))
            break
    print(json.dumps({"local_port": client.getsockname()[1], "seen": seen, "stranger": stranger}), flush=True)


if __name__ == "__main__":
    command, first, second, port = sys.argv[1:]
    {"serve": serve, "ask": ask}[command](first, second, int(port))
