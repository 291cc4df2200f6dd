"""A real server on a free loopback port (in this process or as a process of its own), and
real socket.io clients."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import re
import shutil
import socket
import ssl
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import socketio
from aiohttp import web

from signal_server.app import create_app
from signal_server.config import ServerConfig
from signal_server.signalling.events import RelayHook

from .config import defaults

EVENT_TIMEOUT = 10.0
#: A receiver's PAKE message as ``join`` carries it (a side byte and 32 bytes): the
#: server relays it without looking inside, so any 33 bytes do.
PAKE = base64.b64encode(b"B" + bytes(range(32))).decode()
#: What a protocol 2 sender's ``create`` carries.
CREATE = {"version": 2}


def join_payload(slot: str, pake: str = PAKE) -> dict[str, Any]:
    """What a protocol 2 receiver's ``join`` of ``slot`` carries."""
    return {"version": 2, "slot": slot, "pake": pake}


@dataclasses.dataclass
class RunningServer:
    url: str
    app: web.Application
    config: ServerConfig


@contextlib.asynccontextmanager
async def running_server(
    *, relay_hook: RelayHook | None = None, ssl_context: ssl.SSLContext | None = None, **overrides: Any
) -> AsyncIterator[RunningServer]:
    """The whole application (web UI, signalling and pool) on 127.0.0.1, a free port;
    ``overrides`` are settings, ``relay_hook`` the test's hand on the relay. With
    ``ssl_context`` (see :class:`helpers.certs.Authority`) it serves HTTPS and WSS."""
    scratch = None
    if "pool_dir" not in overrides:
        # Never the real data directory: each server gets a pool of its own.
        scratch = overrides["pool_dir"] = Path(tempfile.mkdtemp(prefix="sendit-pool-"))
    # Defaults as if no flag or variable were given: the environment does not reach in.
    config = defaults(host="127.0.0.1", port=0, **overrides)
    app = create_app(config, relay_hook=relay_hook)
    # A test that runs a server of its own leaves it with its pages still connected:
    # their sockets are cut at once, not waited on for aiohttp's default minute.
    runner = web.AppRunner(app, access_log=None, lingering_time=config.refusal_linger, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "http" if ssl_context is None else "https"
    try:
        yield RunningServer(url=f"{scheme}://127.0.0.1:{port}", app=app, config=config)
    finally:
        await runner.cleanup()
        if scratch is not None:
            shutil.rmtree(scratch)


class Client:
    """A python-socketio client that records every server event for the test to await."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        """``ssl_context`` is what an https:// server's certificate is verified with
        (by default the system's CAs)."""
        extra = {} if ssl_context is None else {"ssl": ssl_context}
        self.sio = socketio.AsyncClient(reconnection=False, websocket_extra_options=extra)
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

    async def create(self) -> Any:
        """``create`` as a protocol 2 sender sends it; the acknowledgement."""
        return await self.call("create", CREATE)

    async def join(self, slot: str, pake: str = PAKE) -> Any:
        """``join`` as a protocol 2 receiver sends it; the acknowledgement."""
        return await self.call("join", join_payload(slot, pake))

    async def next(self, event: str, timeout: float = EVENT_TIMEOUT) -> Any:
        """The next ``event`` the server sent (waits for it)."""
        return await asyncio.wait_for(self._events[event].get(), timeout)

    def pending(self, event: str) -> int:
        """How many ``event``s arrived and were not yet taken with :meth:`next`."""
        return self._events[event].qsize()

    async def close(self) -> None:
        await self.sio.disconnect()


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = EVENT_TIMEOUT) -> None:
    """Poll a real condition (a file on disk, a process state) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class ServerProcess:
    url: str
    process: asyncio.subprocess.Process
    #: The lines the server has written to stderr (its log) since it was ready.
    log: list[str] = dataclasses.field(default_factory=list)


@contextlib.asynccontextmanager
async def server_process(*args: str, module: str = "signal_server") -> AsyncIterator[ServerProcess]:
    """``python -m signal_server`` (or another ``module`` that announces its address the
    same way) on a free loopback port, ready when it yields; ``url`` is https:// when
    ``args`` give it a certificate."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *args, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    line = await asyncio.wait_for(process.stderr.readline(), 30)
    ready = re.search(rf"(https?://127\.0\.0\.1:{port})/".encode(), line)
    assert ready is not None, line

    server = ServerProcess(url=ready.group(1).decode(), process=process)

    async def drain() -> None:
        # A full stderr pipe would stop the server in the middle of a log line.
        while line := await process.stderr.readline():
            server.log.append(line.decode(errors="replace"))

    drainer = asyncio.create_task(drain())
    try:
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        await drainer
