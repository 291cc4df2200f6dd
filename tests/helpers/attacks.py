"""The floods of issue 13, each run by an attacker process of its own against a server.

The attacker runs apart (``python -m tests.helpers.attacks FLOOD URL``), so that what a
test or the bench measures meanwhile (a legit pairing's latency, the server's RSS) is
not slowed by the attacker sharing its event loop. It prints one JSON line when its
flood is under way and one, its tally, when the flood has spent its budget (bytes or
seconds) or the process is told to stop (SIGTERM).

Floods (what was found, issue 13):

- ``attachments``: an event announcing 9,999,999,999 binary attachments, then 255 KiB
  binary frames, on one connection after another;
- ``stalled``: a pair whose receiver never reads, while its sender relays 60 KB offers;
- ``reserved``: the reserved event ``connect`` with a 200 KB fake address, then wrong
  slots guessed on the same socket;
- ``malformed``: ``42[]`` frames back to back, as fast as the wire takes them;
- ``origins``: WebSocket upgrades from pages of other sites;
- ``idle``: ``count`` open sockets from one address, answering pings, doing nothing
  (past the connection cap, each refusal is tallied);
- ``bare``: ``count`` Engine.IO sessions at a time that never join the namespace, so no
  cap on connections counts them, each held until the server ends it;
- ``codes``: ``count`` sockets from one address, each creating a slot and holding it;
- ``guesses``: wrong slots guessed back to back on one socket, through the backoff;
- ``pool-fill``: one-byte uploads to the pool, one after another, up to ``count``;
- ``pool-block``: ``count`` uploads at a time that send their part headers and then
  nothing, each sent again as soon as it is answered;
- ``none``: nothing, for the same measurement without an attack.

The floods that build up a state (held sockets, codes, a quota reached) say they are
under way once it is built, so that what is measured meanwhile meets it in full.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp

from .raw import RawSocket
from .server import CREATE, join_payload

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
ATTACHMENTS = "459999999999-" + '["create",{"_placeholder":true,"num":0}]'
ATTACHMENT = b"\xa5" * (255 * 1024)
#: A 60 KB sealed offer, as the signal carries it.
STALLED_DATA = "A" * 60_000
#: A 200 KB address of the attacker's choosing, as the issue's run used.
FAKE_ADDRESS = "192.0.2." + "1" * 200_000
GUESSES_PER_SOCKET = 3
MALFORMED = "42[]"
#: Frames per connection of the malformed flood: 640 KB on the wire.
MALFORMED_PER_SOCKET = 64 * 1024
HOSTILE_ORIGINS = (
    "https://evil.example",
    "null",
    "http://127.0.0.1.evil.example",
    "http://evil.example/http://127.0.0.1",
    "file://",
)
IDLE_CONCURRENCY = 32
#: Longest an Engine.IO session of the ``bare`` flood waits for the server to end it.
BARE_LINGER = 10.0
ONE_BYTE = b"x"
#: The body the ``pool-block`` uploads announce, of which they send the part headers only.
STALL_BOUNDARY = "sendit-stall"
STALL_LENGTH = 1000 * 1000
STALL_PART = (
    f"--{STALL_BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
    "Content-Type: application/octet-stream\r\n\r\n"
)
#: Where the attacker connects from: loopback, but not the 127.0.0.1 of the legit
#: clients, so that what the server counts per address keeps the two apart.
ATTACKER_ADDRESS = "127.0.0.2"


@dataclass
class Tally:
    """What one flood did, and what the server made of it."""

    flood: str
    #: Bytes the attacker wrote (frames' payloads, or frames on the wire where it writes them).
    bytes_sent: int = 0
    connections: int = 0
    #: Connections the server ended or refused.
    refused: int = 0
    #: What the server granted: upgrades from a hostile origin (the ``origins`` flood
    #: wants 0), codes created, uploads taken (201).
    accepted: int = 0
    #: The error ids the server answered with, and how often.
    refusals: dict[str, int] = field(default_factory=dict)
    #: The wait the server asked for at the start of each run of refusals: the join
    #: acknowledgement's ``retry_after``, the pool's Retry-After (0: none given).
    retry_after: list[int] = field(default_factory=list)
    #: HTTP statuses of the pool floods' answers, and how often.
    statuses: dict[str, int] = field(default_factory=dict)
    #: Seconds the slowest refusal of an upload took to arrive.
    slowest_refusal: float = 0.0
    #: Seconds the longest-lived session that never joined the namespace lasted.
    longest_unjoined: float = 0.0
    #: Wrong slots the server looked at (answered ``code-used``).
    guesses_answered: int = 0
    #: Pairs whose non-reading receiver the server dropped.
    dropped: int = 0
    #: Idle sockets open at once.
    held: int = 0
    seconds: float = 0.0

    def refused_with(self, error_id: str) -> None:
        self.refusals[error_id] = self.refusals.get(error_id, 0) + 1

    def answered(self, status: int) -> None:
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1


@dataclass
class Budget:
    """When a flood stops: after ``bytes`` (0: no limit) or ``seconds``, whichever first."""

    seconds: float
    bytes: int = 0
    count: int = 0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def spent(self, tally: Tally) -> bool:
        return time.monotonic() >= self.deadline or bool(self.bytes and tally.bytes_sent >= self.bytes)


CLOSED = (ConnectionError, aiohttp.ClientError, AssertionError, RuntimeError)


@contextlib.asynccontextmanager
async def used_slot(url: str) -> AsyncIterator[dict[str, Any]]:
    """A join of a slot the attacker created and joined itself, held for the block:
    every guess of it is a failed join (``code-used``), whatever slots legit clients
    hold meanwhile, where a slot made up might be one of theirs."""
    sender = await RawSocket.open(url, source=ATTACKER_ADDRESS)
    try:
        receiver = await RawSocket.open(url, source=ATTACKER_ADDRESS)
        try:
            slot = (await sender.call("create", CREATE))["slot"]
            assert (await receiver.call("join", join_payload(slot)))["ok"]
            yield join_payload(slot)
        finally:
            await receiver.close()
    finally:
        await sender.close()


@contextlib.asynccontextmanager
async def _connection(url: str, tally: Tally) -> AsyncIterator[RawSocket]:
    """One attacking connection; the server ending it is counted as a refusal."""
    raw = await RawSocket.open(url, source=ATTACKER_ADDRESS)
    tally.connections += 1
    try:
        yield raw
    except CLOSED:
        tally.refused += 1
    finally:
        await raw.close()


async def _attachments(url: str, tally: Tally, budget: Budget) -> None:
    while not budget.spent(tally):
        async with _connection(url, tally) as raw:
            await raw.send(ATTACHMENTS)
            tally.bytes_sent += len(ATTACHMENTS)
            while not budget.spent(tally) and not raw.ws.closed:
                await raw.send(ATTACHMENT)
                tally.bytes_sent += len(ATTACHMENT)


async def _stalled(url: str, tally: Tally, budget: Budget) -> None:
    while not budget.spent(tally):
        sender, receiver = (
            await RawSocket.open(url, source=ATTACKER_ADDRESS),
            await RawSocket.open(url, source=ATTACKER_ADDRESS),
        )
        tally.connections += 2
        try:
            created = await sender.call("create", CREATE)
            assert (await receiver.call("join", join_payload(created["slot"])))["ok"]
            receiver.stop_reading()
            while not budget.spent(tally):
                ack = await sender.call("signal", {"type": "offer", "data": STALLED_DATA})
                tally.bytes_sent += len(STALLED_DATA)
                if not ack["ok"]:  # the receiver is gone: "peer not connected"
                    tally.dropped += 1
                    break
        finally:
            await sender.close()
            await receiver.close()


async def _reserved(url: str, tally: Tally, budget: Budget) -> None:
    frame = "42" + json.dumps(["connect", {"REMOTE_ADDR": FAKE_ADDRESS}])
    while not budget.spent(tally):
        async with _connection(url, tally) as raw:
            await raw.send(frame)
            tally.bytes_sent += len(frame)
            for _ in range(GUESSES_PER_SOCKET):
                # Any answer is one too many: the socket should be gone.
                await raw.call("join", join_payload("1"))
                tally.guesses_answered += 1


async def _malformed(url: str, tally: Tally, budget: Budget) -> None:
    on_the_wire = len(MALFORMED) + 6  # a two-byte header and the four-byte mask
    while not budget.spent(tally):
        async with _connection(url, tally) as raw:
            raw.write_frames([MALFORMED] * MALFORMED_PER_SOCKET)
            tally.bytes_sent += MALFORMED_PER_SOCKET * on_the_wire
            if await raw.closed_by_server(timeout=max(0.1, budget.deadline - time.monotonic())):
                tally.refused += 1


async def _origins(url: str, tally: Tally, budget: Budget) -> None:
    while not budget.spent(tally):
        origin = HOSTILE_ORIGINS[tally.connections % len(HOSTILE_ORIGINS)]
        tally.connections += 1
        try:
            raw = await RawSocket.open(url, origin=origin, source=ATTACKER_ADDRESS)
        except aiohttp.WSServerHandshakeError:
            tally.refused += 1
        else:
            tally.accepted += 1
            await raw.close()


async def _join_namespace(raw: RawSocket) -> str | None:
    """Join the namespace on a fresh session: None if joined, else the server's refusal."""
    await raw.send("40")
    answer = await raw.receive()
    assert isinstance(answer, str), answer
    if answer.startswith("44"):  # CONNECT_ERROR
        return str(json.loads(answer[2:])["error_id"])
    assert answer.startswith("40{"), answer
    return None


async def _nothing(_raw: RawSocket, _tally: Tally) -> None:
    pass


async def _create(raw: RawSocket, tally: Tally) -> None:
    ack = await raw.call("create", CREATE)
    if ack["ok"]:
        tally.accepted += 1
    else:
        tally.refused_with(ack["error_id"])


async def _hold(
    url: str,
    tally: Tally,
    budget: Budget,
    ready: Callable[[], None],
    then: Callable[[RawSocket, Tally], Awaitable[None]],
) -> None:
    """Open ``budget.count`` sockets and do ``then`` on each that the server lets join,
    then hold them (answering pings) for the rest of the budget."""
    opening = asyncio.Semaphore(IDLE_CONCURRENCY)
    sockets: list[RawSocket] = []
    joined = 0
    settled = 0
    all_settled = asyncio.Event()

    def settle() -> None:
        nonlocal settled
        settled += 1
        if settled == budget.count:
            all_settled.set()

    async def hold() -> None:
        nonlocal joined
        async with opening:
            tally.connections += 1
            try:
                raw = await RawSocket.open(url, join_namespace=False, source=ATTACKER_ADDRESS)
                sockets.append(raw)
                refusal = await _join_namespace(raw)
                if refusal is None:
                    await then(raw, tally)
            except (*CLOSED, TimeoutError):
                tally.refused += 1
                settle()
                return
            if refusal is not None:
                tally.refused += 1
                tally.refused_with(refusal)
                settle()
                await raw.close()  # its session would otherwise linger until --join-within
                return
        joined += 1
        tally.held = max(tally.held, joined)
        settle()
        while await raw.receive(timeout=budget.seconds) is not None:  # answers the pings
            pass

    holders = [asyncio.create_task(hold()) for _ in range(budget.count)]
    try:
        # On a loaded machine a short budget can end before every socket settles: the
        # flood is under way all the same, and the one waiting on it must hear so.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_settled.wait(), max(0.0, budget.deadline - time.monotonic()))
        ready()
        await asyncio.sleep(max(0.0, budget.deadline - time.monotonic()))
    finally:
        for holder in holders:
            holder.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
        await asyncio.gather(*(raw.close() for raw in sockets), return_exceptions=True)


async def _idle(url: str, tally: Tally, budget: Budget, ready: Callable[[], None]) -> None:
    await _hold(url, tally, budget, ready, _nothing)


async def _codes(url: str, tally: Tally, budget: Budget, ready: Callable[[], None]) -> None:
    await _hold(url, tally, budget, ready, _create)


async def _bare(url: str, tally: Tally, budget: Budget) -> None:
    """Waves of ``budget.count`` sessions that never join, each wave held until the
    server has ended every one of them (or ``BARE_LINGER`` has passed)."""
    opening = asyncio.Semaphore(IDLE_CONCURRENCY)

    async def linger() -> None:
        async with opening:
            tally.connections += 1
            raw = await RawSocket.open(url, join_namespace=False, source=ATTACKER_ADDRESS)
        opened = time.monotonic()
        try:
            if await raw.closed_by_server(timeout=BARE_LINGER):
                tally.dropped += 1
            tally.longest_unjoined = max(tally.longest_unjoined, time.monotonic() - opened)
        finally:
            await raw.close()

    while not budget.spent(tally):
        await asyncio.gather(*(linger() for _ in range(budget.count)))


async def _guesses(url: str, tally: Tally, budget: Budget, ready: Callable[[], None]) -> None:
    """Wrong slots back to back; under way once the server makes the address wait."""
    async with used_slot(url) as guess, _connection(url, tally) as raw:
        refusing = False
        while not budget.spent(tally):
            ack = await raw.call("join", guess)
            if ack.get("error_id") == "code-used":
                tally.guesses_answered += 1
                refusing = False
                continue
            tally.refused_with(ack["error_id"])
            if not refusing:
                refusing = True
                tally.retry_after.append(ack.get("retry_after", 0))
                ready()


def _pool_refusal(tally: Tally, refusing: bool, error_id: str, retry_after: str | None) -> None:
    tally.refused_with(error_id)
    if not refusing:
        tally.retry_after.append(int(retry_after or 0))


async def _pool_fill(url: str, tally: Tally, budget: Budget, ready: Callable[[], None]) -> None:
    """One-byte uploads one after another; under way once the first is refused."""
    connector = aiohttp.TCPConnector(local_addr=(ATTACKER_ADDRESS, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        refusing = False
        for _ in range(budget.count):
            if budget.spent(tally):
                break
            form = aiohttp.FormData()
            form.add_field("file", ONE_BYTE, filename="a.txt", content_type="application/octet-stream")
            async with http.post(url + "/api/upload", data=form) as response:
                answer = await response.json()
            tally.bytes_sent += len(ONE_BYTE)
            tally.answered(response.status)
            if response.status == 201:
                tally.accepted += 1
                refusing = False
                continue
            _pool_refusal(tally, refusing, answer["error_id"], response.headers.get("Retry-After"))
            refusing = True
            ready()


async def _stalled_upload(url: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """An upload that sends its headers and its file part's headers, then nothing; the
    status, headers and JSON of the server's answer."""
    address = urllib.parse.urlsplit(url)
    assert address.hostname is not None and address.port is not None
    reader, writer = await asyncio.open_connection(address.hostname, address.port, local_addr=(ATTACKER_ADDRESS, 0))
    try:
        writer.write(
            (
                f"POST /api/upload HTTP/1.1\r\nHost: {address.netloc}\r\n"
                f"Content-Type: multipart/form-data; boundary={STALL_BOUNDARY}\r\n"
                f"Content-Length: {STALL_LENGTH}\r\nConnection: close\r\n\r\n{STALL_PART}"
            ).encode()
        )
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines if line)
        body = await reader.readexactly(int(headers["Content-Length"]))
        return int(status_line.split(" ")[1]), headers, json.loads(body)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _pool_block(url: str, tally: Tally, budget: Budget, ready: Callable[[], None]) -> None:
    """``budget.count`` stalled uploads at a time, each sent again once answered (the
    ones the server takes are cut off by its stall timeout); under way once one is
    refused."""

    async def stall() -> None:
        refusing = False
        while not budget.spent(tally):
            tally.connections += 1
            began = time.monotonic()
            status, headers, answer = await _stalled_upload(url)
            tally.answered(status)
            if status == 429:
                tally.slowest_refusal = max(tally.slowest_refusal, time.monotonic() - began)
                _pool_refusal(tally, refusing, answer["error_id"], headers.get("Retry-After"))
                refusing = True
                ready()
            else:
                refusing = False

    await asyncio.gather(*(stall() for _ in range(budget.count)))


async def _none(_url: str, _tally: Tally, budget: Budget) -> None:
    await asyncio.sleep(budget.seconds)


Flood = Callable[[str, Tally, Budget], Awaitable[None]]
FLOODS: dict[str, Flood] = {
    "attachments": _attachments,
    "stalled": _stalled,
    "reserved": _reserved,
    "malformed": _malformed,
    "origins": _origins,
    "bare": _bare,
    "none": _none,
}
#: Floods that say themselves when they are under way, by calling their last argument.
StagedFlood = Callable[[str, Tally, Budget, Callable[[], None]], Awaitable[None]]
STAGED: dict[str, StagedFlood] = {
    "idle": _idle,
    "codes": _codes,
    "guesses": _guesses,
    "pool-fill": _pool_fill,
    "pool-block": _pool_block,
}
NAMES = (*FLOODS, *STAGED)


def _say(document: dict[str, Any]) -> None:
    print(json.dumps(document), flush=True)


async def _attack(name: str, url: str, budget: Budget) -> None:
    tally = Tally(name)
    began = time.monotonic()
    loop = asyncio.get_running_loop()
    flood = asyncio.current_task()
    assert flood is not None
    loop.add_signal_handler(signal.SIGTERM, flood.cancel)
    said = False

    def ready() -> None:
        nonlocal said
        if not said:
            said = True
            _say({"ready": True})

    try:
        if name in STAGED:
            await STAGED[name](url, tally, budget, ready)
        else:
            ready()
            await FLOODS[name](url, tally, budget)
    except asyncio.CancelledError:
        pass
    finally:
        tally.seconds = round(time.monotonic() - began, 3)
        _say(asdict(tally))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.attacks")
    parser.add_argument("flood", choices=NAMES)
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--bytes", type=int, default=0)
    parser.add_argument(
        "--count",
        type=int,
        default=0,
        help="sockets (idle, bare, codes), uploads (pool-fill) or uploads at a time (pool-block)",
    )
    args = parser.parse_args(argv)
    asyncio.run(_attack(args.flood, args.url, Budget(args.seconds, args.bytes, args.count)))


class Attacker:
    """A running attacker process; :attr:`tally` once it has finished."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.tally: dict[str, Any] = {}
        self._finished = asyncio.create_task(self._read_tally())

    @property
    def running(self) -> bool:
        return not self._finished.done()

    async def _read_tally(self) -> None:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        self.tally = json.loads(line) if line else {}

    async def finish(self, timeout: float) -> dict[str, Any]:
        """Wait for the flood to spend its budget; its tally."""
        await asyncio.wait_for(asyncio.shield(self._finished), timeout)
        await self.process.wait()
        return self.tally

    async def stop(self) -> dict[str, Any]:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
        return await self.finish(timeout=30)


@contextlib.asynccontextmanager
async def attacking(flood: str, url: str, *, seconds: float, bytes: int = 0, count: int = 0) -> AsyncIterator[Attacker]:
    """The ``flood`` under way against ``url`` (ready when it yields); stopped on exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.helpers.attacks",
        flood,
        url,
        f"--seconds={seconds}",
        f"--bytes={bytes}",
        f"--count={count}",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readline(), 60)
        assert json.loads(ready) == {"ready": True}, ready
        attacker = Attacker(process)
        try:
            yield attacker
        finally:
            await attacker.stop()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


if __name__ == "__main__":
    main()
