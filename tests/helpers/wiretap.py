"""A WebSocket relay between clients and a server that keeps every text frame it passes
on: what went over the wire (a PAKE message, a sealed signal), for a test to look for
where it must never be (the server's log). It changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import AsyncIterator

import aiohttp
from aiohttp import web


@dataclass
class Wiretap:
    url: str
    #: Every text frame, either way, in the order passed on.
    frames: list[str] = field(default_factory=list)


WebSocket = aiohttp.ClientWebSocketResponse | web.WebSocketResponse


async def _pipe(source: WebSocket, target: WebSocket, tap: Wiretap) -> None:
    async for message in source:
        if message.type is not aiohttp.WSMsgType.TEXT:
            break  # socket.io over WebSocket is text frames only, in this suite
        tap.frames.append(message.data)
        await target.send_str(message.data)


@contextlib.asynccontextmanager
async def wiretap(upstream: str) -> AsyncIterator[Wiretap]:
    """A relay on a free loopback port to the server at ``upstream`` (``http://host:port``)."""
    async with aiohttp.ClientSession() as session:
        tap = Wiretap(url="")

        async def relay(request: web.Request) -> web.WebSocketResponse:
            client = web.WebSocketResponse()
            await client.prepare(request)
            async with session.ws_connect(upstream + request.path_qs) as server:
                pipes = [asyncio.ensure_future(_pipe(a, b, tap)) for a, b in ((client, server), (server, client))]
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
                for pipe in pipes:
                    pipe.cancel()
                await client.close()
            return client

        app = web.Application()
        app.router.add_get("/socket.io/", relay)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        tap.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield tap
        finally:
            await runner.cleanup()
