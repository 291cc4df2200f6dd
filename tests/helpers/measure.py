"""What an attack is judged by: the server's RSS while it runs, a legit pairing's (or pool
exchange's) latency meanwhile, and what the server wrote to its log."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import aiohttp
import psutil

from .attacks import attacking
from .pool import pool_download, pool_upload
from .server import Client, ServerProcess, wait_until

MiB = 1024 * 1024
ANSWER = {"type": "answer", "data": "djA9"}
LEGIT_FILE = b"a file of a legit user\n" * 1000
#: Something a legit client does, timed: its seconds, given the server's URL.
Legit = Callable[[str], Awaitable[float]]


async def legit_pairing(url: str) -> float:
    """Seconds from connecting a sender and a receiver until the receiver's answer has
    reached the sender: connect, create, join, peer_joined, one signal relayed."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    sender, receiver = Client(), Client()
    try:
        await sender.connect(url)
        await receiver.connect(url)
        created = await sender.create()
        assert created["ok"], created
        joined = await receiver.join(created["slot"])
        assert joined["ok"], joined
        await sender.next("peer_joined")
        assert (await receiver.call("signal", ANSWER))["ok"]
        assert await sender.next("signal") == ANSWER
        return loop.time() - began
    finally:
        await sender.close()
        await receiver.close()


async def legit_exchange(url: str) -> float:
    """Seconds to give a file to the pool and take one (someone else's) with its token;
    the pool must hold a file from someone else already."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with aiohttp.ClientSession() as http:
        status, answer = await pool_upload(http, url, LEGIT_FILE, name="legit.txt")
        assert status == 201, answer
        status, headers, body = await pool_download(http, url, answer["token"])
        assert status == 200 and body and len(body) == int(headers["Content-Length"]), (status, body[:200])
    return loop.time() - began


async def pairings_while(
    running: Callable[[], bool], url: str, least: int = 3, legit: Legit = legit_pairing, most: int | None = None
) -> list[float]:
    """``legit`` one after another while ``running()`` holds, at least ``least`` times
    and (a legit client within a quota of its own) at most ``most``."""
    latencies: list[float] = []
    while (running() or len(latencies) < least) and (most is None or len(latencies) < most):
        latencies.append(await legit(url))
    return latencies


class RssWatch:
    """The RSS of a process, sampled every ``interval`` seconds while in the ``async with``:
    a flood's peak is what it costs, even if the server gives the memory back later."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.start = self.peak = 0
        self._task: asyncio.Task[None] | None = None

    def _sample(self) -> None:
        self.peak = max(self.peak, self.process.memory_info().rss)

    async def _watch(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(self.interval)

    @property
    def growth(self) -> int:
        return self.peak - self.start

    async def __aenter__(self) -> "RssWatch":
        self.start = self.peak = self.process.memory_info().rss
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._sample()


async def log_since(server: ServerProcess, mark: int) -> list[str]:
    """The server's log lines from line ``mark`` on, once all it wrote is read: the line
    of a slot created last, by a client of our own, has arrived."""
    marker = await Client().connect(server.url)
    try:
        assert (await marker.create())["ok"]
        written = f"slot created for {marker.sio.get_sid()} "
    finally:
        await marker.close()
    await wait_until(lambda: any(written in line for line in server.log[mark:]), "the log to catch up")
    return server.log[mark:]


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """Records that are a server error: any with a traceback, or at ERROR and above."""
    return [
        f"{r.name}: {r.getMessage()}" + (f" ({r.exc_info[1]!r})" if r.exc_info else "")
        for r in records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


@dataclass
class Siege:
    """What one flood did, and what it cost the server and a legit pairing meanwhile."""

    tally: dict[str, Any]
    rss_growth: int
    #: Seconds each legit pairing (or what ``besiege`` was given) took while the flood ran, in order.
    latencies: list[float]
    #: The server's log lines while the flood ran.
    log: list[str]


async def besiege(
    server: ServerProcess,
    flood: str,
    *,
    seconds: float,
    bytes: int = 0,
    count: int = 0,
    legit: Legit = legit_pairing,
    most: int | None = None,
) -> Siege:
    """Run ``flood`` (helpers.attacks) against ``server`` to the end of its budget, with
    ``legit`` (pairings unless told) one after another all the while, ``most`` times at
    most, and the server's RSS sampled."""
    mark = len(server.log)
    async with RssWatch(server.process.pid) as rss:
        async with attacking(flood, server.url, seconds=seconds, bytes=bytes, count=count) as attack:
            latencies = await pairings_while(lambda: attack.running, server.url, legit=legit, most=most)
            tally = await attack.finish(timeout=seconds + 30)
    return Siege(tally, rss.growth, latencies, await log_since(server, mark))
