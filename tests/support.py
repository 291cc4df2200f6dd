"""Test harness: a real server on a free loopback port and real socket.io clients."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import defaultdict
from typing import Any, AsyncIterator

import socketio
from aiohttp import web

from signal_server.app import create_app
from signal_server.config import ServerConfig

EVENT_TIMEOUT = 10.0


@dataclasses.dataclass
class RunningServer:
    url: str
    app: web.Application
    config: ServerConfig


@contextlib.asynccontextmanager
async def running_server(**overrides: Any) -> AsyncIterator[RunningServer]:
    """The whole application (web UI and signalling) on 127.0.0.1, a free port."""
    config = ServerConfig(host="127.0.0.1", port=0, **overrides)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", app=app, config=config)
    finally:
        await runner.cleanup()


class Client:
    """A python-socketio client that records every server event for the test to await."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self._events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.sio.on("*", self._record)

    async def _record(self, event: str, data: Any = None) -> None:
        self._events[event].put_nowait(data)

    async def connect(self, url: str) -> "Client":
        await self.sio.connect(url, transports=["websocket"], wait_timeout=EVENT_TIMEOUT)
        return self

    async def call(self, event: str, payload: Any = None) -> Any:
        """Emit and return the server's acknowledgement."""
        if payload is None:
            return await self.sio.call(event, timeout=EVENT_TIMEOUT)
        return await self.sio.call(event, payload, timeout=EVENT_TIMEOUT)

    async def next(self, event: str, timeout: float = EVENT_TIMEOUT) -> Any:
        """The next ``event`` the server sent (waits for it)."""
        return await asyncio.wait_for(self._events[event].get(), timeout)

    def pending(self, event: str) -> int:
        """How many ``event``s arrived and were not yet taken with :meth:`next`."""
        return self._events[event].qsize()

    async def close(self) -> None:
        await self.sio.disconnect()
