"""Resume and reconnection, measured on the wire: ``sendit send`` → ``sendit receive``.

Resume: a ``resume_size`` file is sent, and the sender killed once the receiver has
about 60 % of it; the same file is then sent again (a new sender, a new code) to the
same receiving folder, which resumes from what it kept. The bytes on the wire are every
UDP packet in the bench's private namespace (both directions, headers included, counted
by an nftables counter) during that second run; the baseline is the same count for the
whole file sent to an empty folder, just before, and the ratio (the share of the file
sent again) must be at most 0.45. Headers, acknowledgements and retransmissions put
about 16 % more on the wire than the file holds, so a ratio of whole transfers keeps
them out of the share.

Blip: the same file sent whole, and at about 30 % every UDP packet in the namespace
dropped (nftables) until both peers report ``reconnecting``, then let through again:
the transfer must finish without a restart, the file exact. The heal is the time from
lifting the drop until the receiver's bytes move again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from tests.helpers.browser import new_context, open_offer, start_sending
from tests.helpers.peers import Sendit, start
from tests.helpers.server import server_process

from .browser_disk import ANSWER_PICKERS, PICKED, chromium, save_and_hash, sha256_of
from .config import MB, MIB, BenchConfig
from .files import random_file
from .results import Result
from .wire import Blip, udp_counted

BREAK_AT = 0.6
BLIP_AT = 0.3
RESENT_LIMIT = 0.45
#: Guards, never synchronisations.
TRANSFER_TIMEOUT = 900.0
#: Long enough for both sides to notice a dead path (consent checks, SCTP timeouts).
NOTICE_TIMEOUT = 120.0
#: RECONNECT_GRACE of the protocol, and some: a peer still waiting past it has failed.
GRACE_TIMEOUT = 90.0

Event = dict[str, Any]


@dataclass
class Peer:
    """A ``sendit --json`` process whose events are read as they come, each with the
    monotonic time it was read (both pipes are drained, so it never blocks on them)."""

    sendit: Sendit
    events: list[tuple[float, Event]] = field(default_factory=list)
    stderr: bytearray = field(default_factory=bytearray)
    ended: bool = False

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()
        self._tasks = [asyncio.ensure_future(self._read_events()), asyncio.ensure_future(self._read_stderr())]

    @classmethod
    async def start(cls, *args: str, server: str) -> "Peer":
        return cls(await start(*args, "--json", server=server))

    async def _read_events(self) -> None:
        stream = self.sendit.process.stdout
        assert stream is not None
        while line := await stream.readline():
            if line.startswith(b"{"):
                self.events.append((time.monotonic(), json.loads(line)))
                self._changed.set()
        self.ended = True
        self._changed.set()

    async def _read_stderr(self) -> None:
        stream = self.sendit.process.stderr
        assert stream is not None
        while chunk := await stream.read(65536):
            self.stderr += chunk

    async def until(
        self, wanted: Callable[[Event], bool], timeout: float, after: float = 0.0
    ) -> tuple[float, Event] | None:
        """The first event read after ``after`` that is ``wanted``; None when the process
        ended without one, or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for at, event in self.events[seen:]:
                if at >= after and wanted(event):
                    return at, event
            seen = len(self.events)
            if self.ended:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(deadline - time.monotonic(), 0))
            except asyncio.TimeoutError:
                return None

    def named(self, name: str) -> list[Event]:
        return [event for _, event in self.events if event["event"] == name]

    async def exit(self, timeout: float) -> int:
        code = await asyncio.wait_for(self.sendit.process.wait(), timeout)
        await asyncio.gather(*self._tasks)
        return code

    async def kill(self) -> None:
        if self.sendit.process.returncode is None:
            self.sendit.signal(signal.SIGKILL)
        await self.exit(30)


def progress_past(share: float, size: int) -> Callable[[Event], bool]:
    return lambda event: event["event"] == "progress" and event["bytes"] >= share * size


async def pair(server: str, source: Path, target: Path) -> tuple[Peer, Peer]:
    sender = await Peer.start("send", str(source), server=server)
    code = await sender.until(lambda event: event["event"] == "code", 30)
    assert code is not None, sender.stderr.decode()[-2000:]
    receiver = await Peer.start("receive", "--yes", "-o", str(target), code[1]["code"], server=server)
    return sender, receiver


async def ended(*peers: Peer) -> list[int]:
    """Both exit codes (a peer that hangs is killed and counted as failed)."""
    codes = []
    for peer in peers:
        try:
            codes.append(await peer.exit(TRANSFER_TIMEOUT))
        except asyncio.TimeoutError:
            await peer.kill()
            codes.append(-1)
    return codes


@dataclass
class Resumed:
    size: int
    #: UDP bytes of the whole file sent to an empty folder (the baseline).
    whole_wire: int
    #: Receiver's bytes when the sender was killed; what it kept (file names in its folder).
    broken_at: int
    kept: list[str]
    #: UDP bytes of the first run until the break, and of the whole second run.
    first_wire: int
    wire: int
    exit_codes: list[int]
    exact: bool
    #: The second sender's and receiver's own counts (their last progress and done events).
    said: dict[str, Any]


async def resume(server: str, source: Path, digest: str, target: Path) -> Resumed:
    size = source.stat().st_size
    whole = target.with_name(target.name + "-whole")
    whole.mkdir()
    target.mkdir()
    async with udp_counted() as counter:
        sender, receiver = await pair(server, source, whole)
        codes = await ended(sender, receiver)
        assert codes == [0, 0], f"the whole transfer failed: exits {codes}, {receiver.stderr.decode()[-2000:]}"
        shutil.rmtree(whole)
        whole_wire = await counter.bytes()
        sender, receiver = await pair(server, source, target)
        try:
            reached = await receiver.until(progress_past(BREAK_AT, size), TRANSFER_TIMEOUT)
            assert reached is not None, f"the first run ended before {BREAK_AT:.0%}: {receiver.events[-3:]}"
            await sender.kill()
            broken_at = reached[1]["bytes"]
            first_wire = await counter.bytes() - whole_wire
        finally:
            await sender.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await receiver.exit(GRACE_TIMEOUT)
            await receiver.kill()
        kept = sorted(path.name for path in target.iterdir())
        second_start = await counter.bytes()
        sender, receiver = await pair(server, source, target)
        codes = await ended(sender, receiver)
        wire = await counter.bytes() - second_start
    received = target / source.name
    exact = received.is_file() and await asyncio.to_thread(sha256_of, received) == digest
    said = {
        side: {name: peer.named(name)[-1] for name in ("progress", "done") if peer.named(name)}
        for side, peer in (("sender", sender), ("receiver", receiver))
    }
    return Resumed(size, whole_wire, broken_at, kept, first_wire, wire, codes, exact, said)


@dataclass
class Blipped:
    exit_codes: list[int]
    exact: bool
    #: Seconds: from the drop until both said reconnecting, and from the lift until the
    #: receiver's bytes moved again (None where it never happened).
    noticed: float | None
    healed: float | None
    #: Every event of both sides but progress, with seconds since the drop (for pages:
    #: what they said at the end), for the JSON.
    said: dict[str, list[Any]]


async def blip(server: str, source: Path, digest: str, target: Path) -> Blipped:
    size = source.stat().st_size
    target.mkdir()
    sender, receiver = await pair(server, source, target)
    cut = Blip()
    noticed = healed = None
    dropped = time.monotonic()
    try:
        reached = await receiver.until(progress_past(BLIP_AT, size), TRANSFER_TIMEOUT)
        assert reached is not None, f"the transfer ended before {BLIP_AT:.0%}: {receiver.events[-3:]}"
        await cut.start()
        dropped = time.monotonic()
        notices = [
            await peer.until(lambda event: event["event"] == "reconnecting", NOTICE_TIMEOUT, dropped)
            for peer in (sender, receiver)
        ]
        if all(notices):
            noticed = max(at for at, _ in notices if at) - dropped
        await cut.lift()
        lifted = time.monotonic()
        held = max(event["bytes"] for _, event in receiver.events if event["event"] == "progress")
        moved = await receiver.until(
            lambda event: event["event"] == "progress" and event["bytes"] > held, TRANSFER_TIMEOUT, lifted
        )
        if moved is not None:
            healed = moved[0] - lifted
        codes = await ended(sender, receiver)
    finally:
        await cut.ensure_lifted()
        await sender.kill()
        await receiver.kill()
    received = target / source.name
    exact = received.is_file() and await asyncio.to_thread(sha256_of, received) == digest
    said = {
        side: [{**event, "at": round(at - dropped, 2)} for at, event in peer.events if event["event"] != "progress"]
        for side, peer in (("sender", sender), ("receiver", receiver))
    }
    return Blipped(codes, exact, noticed, healed, said)


#: The receiving page's total progress has passed ``share`` of the whole.
PAGE_PROGRESS_PAST = """(share) => {
  const bar = document.getElementById("receive-total");
  return bar.max > 1 && bar.value >= share * bar.max;
}"""
#: A page says it is reconnecting (the words the brief gives it: the page has no other sign).
PAGE_RECONNECTING = """(id) => document.getElementById(id).textContent.includes("reconnecting")"""
PAGE_MOVED = """(held) => document.getElementById("receive-total").value > held"""
PAGE_ENDED = """() => !document.getElementById("receive-again").hidden"""


async def page_blip(server: str, source: Path, digest: str) -> Blipped:
    """The blip between two pages (the receiver's pickers' seam answered as in
    browser_disk.py), timed in the same way as between two ``sendit`` processes."""
    noticed = healed = None
    cut = Blip()
    async with async_playwright() as playwright, chromium(playwright, "blip") as (browser, _root):
        sending, receiving = await new_context(browser), await new_context(browser)
        try:
            sender, code = await start_sending(sending, server, [source])
            receiver = await open_offer(receiving, server, code)
            await receiver.evaluate(ANSWER_PICKERS, PICKED)
            await receiver.click("#accept")
            wait = TRANSFER_TIMEOUT * 1000
            await receiver.wait_for_function(PAGE_PROGRESS_PAST, arg=BLIP_AT, timeout=wait)
            await cut.start()
            dropped = time.monotonic()
            try:
                for page, status in ((sender, "send-status"), (receiver, "receive-status")):
                    await page.wait_for_function(PAGE_RECONNECTING, arg=status, timeout=NOTICE_TIMEOUT * 1000)
                noticed = time.monotonic() - dropped
            except PlaywrightTimeout:
                pass
            await cut.lift()
            lifted = time.monotonic()
            held = await receiver.evaluate("document.getElementById('receive-total').value")
            with contextlib.suppress(PlaywrightTimeout):
                await receiver.wait_for_function(PAGE_MOVED, arg=held, timeout=GRACE_TIMEOUT * 1000)
                healed = time.monotonic() - lifted
            await receiver.wait_for_function(PAGE_ENDED, timeout=wait)
            kind = await receiver.evaluate("document.getElementById('receive-status').dataset.kind")
            saved = (await save_and_hash(receiver, source.name))[0] if kind == "ok" else ""
            said = {
                "sender": [await sender.locator("#send-status").text_content() or ""],
                "receiver": [await receiver.locator("#receive-status").text_content() or ""],
            }
        finally:
            await cut.ensure_lifted()
            await sending.close()
            await receiving.close()
    return Blipped([0 if kind == "ok" else 1], saved == digest, noticed, healed, said)


def _mib(size: int) -> str:
    return f"{size / MIB:,.0f} MiB"


async def run(config: BenchConfig) -> list[Result]:
    size = config.resume_size
    source = random_file(config.scratch / "resumed.bin", size)
    digest = await asyncio.to_thread(sha256_of, source)
    async with server_process() as server:
        resumed = await resume(server.url, source, digest, config.scratch / "resume-received")
        config.say(
            f"resume {_mib(size)}: broken at {resumed.broken_at / size:.0%}, kept {resumed.kept}; "
            f"the resumed run put {resumed.wire / MB:.1f} MB on the wire, "
            f"the whole file {resumed.whole_wire / MB:.1f} MB ({resumed.wire / resumed.whole_wire:.2f}×), "
            f"exits {resumed.exit_codes}, {'exact' if resumed.exact else 'NOT exact'}"
        )
        blips = {
            "sendit → sendit": await blip(server.url, source, digest, config.scratch / "blip-received"),
            "Chromium → Chromium": await page_blip(server.url, source, digest),
        }
        for pair, blipped in blips.items():
            config.say(
                f"blip {pair} {_mib(size)}: both reconnecting {blipped.noticed and round(blipped.noticed, 1)} s "
                f"after the drop, bytes moving {blipped.healed and round(blipped.healed, 1)} s after the lift, "
                f"exits {blipped.exit_codes}, {'exact' if blipped.exact else 'NOT exact'}"
            )
    source.unlink()
    finished = resumed.exit_codes == [0, 0] and resumed.exact
    return [
        Result(
            section="resume",
            name=f"sendit → sendit {_mib(size)} broken at {BREAK_AT:.0%}: wire bytes resumed (baseline: sent whole)",
            unit="MB",
            ours=round(resumed.wire / MB, 1),
            baseline=round(resumed.whole_wire / MB, 1),
            target=f"≤ {RESENT_LIMIT}×, exact",
            met=finished and resumed.wire <= RESENT_LIMIT * resumed.whole_wire,
            detail={
                "whole_wire_bytes": resumed.whole_wire,
                "file_bytes": size,
                "broken_at_bytes": resumed.broken_at,
                "kept": resumed.kept,
                "first_run_wire_bytes_to_break": resumed.first_wire,
                "wire_bytes": resumed.wire,
                "exit_codes": resumed.exit_codes,
                "exact": resumed.exact,
                "said": resumed.said,
            },
        ),
        *(
            Result(
                section="resume",
                name=f"{pair} {_mib(size)}, UDP dropped until both reconnect: heal after the lift",
                unit="s",
                ours=None if blipped.healed is None else round(blipped.healed, 1),
                target="finishes without a restart, exact",
                met=all(code == 0 for code in blipped.exit_codes) and blipped.exact and blipped.noticed is not None,
                detail={
                    "noticed_seconds": blipped.noticed,
                    "healed_seconds": blipped.healed,
                    "exit_codes": blipped.exit_codes,
                    "exact": blipped.exact,
                    "said": blipped.said,
                },
            )
            for pair, blipped in blips.items()
        ),
    ]
