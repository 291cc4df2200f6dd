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
  codes guessed on the same socket;
- ``malformed``: ``42[]`` frames back to back, as fast as the wire takes them;
- ``origins``: WebSocket upgrades from pages of other sites;
- ``idle``: ``count`` open sockets from one address, answering pings, doing nothing;
- ``none``: nothing, for the same measurement without an attack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp

from .raw import RawSocket

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
ATTACHMENTS = "459999999999-" + '["create",{"_placeholder":true,"num":0}]'
ATTACHMENT = b"\xa5" * (255 * 1024)
STALLED_SDP = "a" * 60_000
#: A 200 KB address of the attacker's choosing, as the issue's run used.
FAKE_ADDRESS = "192.0.2." + "1" * 200_000
WRONG_CODE = {"code": "AAAAA-AAAAA"}
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
    #: Upgrades the server accepted from a hostile origin; the ``origins`` flood wants 0.
    accepted: int = 0
    #: Wrong codes the server looked at (``code not found or expired``).
    guesses_answered: int = 0
    #: Pairs whose non-reading receiver the server dropped.
    dropped: int = 0
    #: Idle sockets open at once.
    held: int = 0
    seconds: float = 0.0


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
            created = await sender.call("create")
            assert (await receiver.call("join", {"code": created["code"]}))["ok"]
            receiver.stop_reading()
            while not budget.spent(tally):
                ack = await sender.call("signal", {"type": "offer", "sdp": STALLED_SDP})
                tally.bytes_sent += len(STALLED_SDP)
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
                ack = await raw.call("join", WRONG_CODE)
                tally.guesses_answered += ack.get("error") == "code not found or expired"


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


async def _idle(url: str, tally: Tally, budget: Budget, ready: Callable[[], None] = lambda: None) -> None:
    """Open ``budget.count`` sockets, then hold them for the rest of the budget."""
    opening = asyncio.Semaphore(IDLE_CONCURRENCY)
    sockets: list[RawSocket] = []
    settled = 0
    all_settled = asyncio.Event()

    def settle() -> None:
        nonlocal settled
        settled += 1
        if settled == budget.count:
            all_settled.set()

    async def hold() -> None:
        async with opening:
            tally.connections += 1
            try:
                raw = await RawSocket.open(url, source=ATTACKER_ADDRESS)
            except (*CLOSED, TimeoutError):
                tally.refused += 1
                settle()
                return
        sockets.append(raw)
        tally.held = max(tally.held, len(sockets))
        settle()
        while await raw.receive(timeout=budget.seconds) is not None:  # answers the pings
            pass

    holders = [asyncio.create_task(hold()) for _ in range(budget.count)]
    try:
        await asyncio.wait_for(all_settled.wait(), max(0.0, budget.deadline - time.monotonic()))
        ready()
        await asyncio.sleep(max(0.0, budget.deadline - time.monotonic()))
    finally:
        for holder in holders:
            holder.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
        await asyncio.gather(*(raw.close() for raw in sockets), return_exceptions=True)


async def _none(_url: str, _tally: Tally, budget: Budget) -> None:
    await asyncio.sleep(budget.seconds)


Flood = Callable[[str, Tally, Budget], Awaitable[None]]
FLOODS: dict[str, Flood] = {
    "attachments": _attachments,
    "stalled": _stalled,
    "reserved": _reserved,
    "malformed": _malformed,
    "origins": _origins,
    "none": _none,
}
NAMES = (*FLOODS, "idle")


def _say(document: dict[str, Any]) -> None:
    print(json.dumps(document), flush=True)


async def _attack(name: str, url: str, budget: Budget) -> None:
    tally = Tally(name)
    began = time.monotonic()
    loop = asyncio.get_running_loop()
    flood = asyncio.current_task()
    assert flood is not None
    loop.add_signal_handler(signal.SIGTERM, flood.cancel)
    try:
        if name == "idle":
            await _idle(url, tally, budget, ready=lambda: _say({"ready": True}))
        else:
            _say({"ready": True})
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
    parser.add_argument("--count", type=int, default=0, help="idle sockets to hold")
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
