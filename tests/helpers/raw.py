"""Engine.IO and Socket.IO frames written by hand over a plain WebSocket: what an attacker
sends, which no socket.io client library would."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Sequence

import aiohttp

from .server import EVENT_TIMEOUT

SOCKET_PATH = "/socket.io/?EIO=4&transport=websocket"


class RawSocket:
    """One WebSocket to the server's socket.io endpoint, with the frames of a session."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws
        self._acks = 0
        self.stalled = False

    @classmethod
    async def open(
        cls, url: str, *, origin: str | None = None, join_namespace: bool = True, source: str | None = None
    ) -> RawSocket:
        """Connect, take the Engine.IO handshake and (by default) join the namespace.

        ``source``: the local address to connect from, e.g. another of loopback's
        127.0.0.0/8, so that the server counts the socket under an address of its own."""
        connector = aiohttp.TCPConnector(local_addr=(source, 0)) if source is not None else None
        http = aiohttp.ClientSession(connector=connector)
        headers = {"Origin": origin} if origin is not None else {}
        try:
            timeout = aiohttp.ClientWSTimeout(ws_receive=EVENT_TIMEOUT, ws_close=EVENT_TIMEOUT)
            ws = await http.ws_connect(url + SOCKET_PATH, headers=headers, timeout=timeout)
        except BaseException:
            await http.close()
            raise
        raw = cls(http, ws)
        try:
            opening = await raw.receive()
            assert isinstance(opening, str) and opening.startswith("0{"), opening
            if join_namespace:
                await raw.send("40")
                joined = await raw.receive()
                assert isinstance(joined, str) and joined.startswith("40{"), joined
        except BaseException:
            await raw.close()
            raise
        return raw

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def receive(self, timeout: float = EVENT_TIMEOUT) -> str | bytes | None:
        """The next data frame, answering pings on the way; None once the socket is closed."""
        while True:
            message = await self.ws.receive(timeout=timeout)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return None
            if message.type == aiohttp.WSMsgType.ERROR:
                return None
            if message.data == "2":  # an Engine.IO ping
                await self.send("3")
                continue
            return message.data  # type: ignore[no-any-return]

    async def call(self, event: str, payload: Any = None) -> Any:
        """A socket.io event with an acknowledgement id; returns the acknowledgement."""
        self._acks += 1
        ack_id = self._acks
        await self.send(f"42{ack_id}" + json.dumps([event, {} if payload is None else payload]))
        while True:
            frame = await self.receive()
            assert frame is not None, f"closed while waiting for the acknowledgement of {event}"
            if isinstance(frame, str) and frame.startswith(f"43{ack_id}["):
                return json.loads(frame[len(f"43{ack_id}") :])[0]

    async def closed_by_server(self, timeout: float = EVENT_TIMEOUT) -> bool:
        """Whether the server ends the connection (reading and dropping what comes first)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.receive(timeout=timeout) is not None:
                    pass
        except TimeoutError:
            return False
        return True

    def write_frames(self, frames: Sequence[str]) -> None:
        """Text ``frames`` in one write, encoded here: the server reads them all at once,
        as it would from a client that writes faster than the server handles them; and
        aiohttp costs microseconds a frame, which would make the attacker, not the
        server, the bottleneck of a flood. The mask is zero, which a server must accept."""
        self._transport().write(b"".join(_masked_text_frame(frame) for frame in frames))

    def stop_reading(self) -> None:
        """Leave everything the server sends unread in the kernel: a client that stalls."""
        self._transport().pause_reading()
        self.stalled = True

    def _transport(self) -> asyncio.Transport:
        connection = self.ws._conn
        assert connection is not None and connection.transport is not None
        return connection.transport  # type: ignore[return-value]

    async def close(self) -> None:
        if self.stalled and not self.ws.closed:
            self._transport().abort()  # a closing handshake would wait on unread frames
        else:
            await self.ws.close()
        await self.http.close()


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    if len(payload) < 126:
        length = bytes([0x80 | len(payload)])
    else:
        assert len(payload) < 1 << 16, "two-byte lengths at most"
        length = bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    return b"\x81" + length + b"\0\0\0\0" + payload
