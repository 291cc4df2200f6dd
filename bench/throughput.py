"""Throughput of every pair of peers, each beside a bare pump of the same stacks.

Every transfer, ours or bare, sends ``warmup`` bytes and then the timed bytes over one
connection, and the receiver times only the latter (a new connection runs at about half
speed for its first seconds). Ours is the real thing: ``sendit`` processes and the
SendIt page, through a real server, with two files (the warm-up, then the timed one),
timed from the receiver's verification of the first file to that of the second. The
baseline is a bare pump (bench/pump.py for aiortc, bench/web/pump.js for Chromium) with
no protocol, no hashing, no progress and no UI, its descriptions passed by hand.
Runs of ours and of the baseline alternate, so drift in the machine hits both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import web
from playwright.async_api import async_playwright

from tests.helpers.browser import launch_chromium, new_context, open_offer, start_sending
from tests.helpers.peers import start
from tests.helpers.server import free_port, server_process

from .config import MB, BenchConfig
from .files import concatenated, random_file
from .results import Result, median

ROOT = Path(__file__).resolve().parent.parent
PUMP_PAGE = Path(__file__).resolve().parent / "web"
TRANSFER_TIMEOUT = 600.0
BASELINE_TARGET = 0.9
# Python to Python must beat aiortc's example pattern by this much (issue 6).
PYTHON_TARGET = 1.3
PAIRS = (("chromium", "chromium"), ("python", "python"), ("python", "chromium"), ("chromium", "python"))
NAMES = {"python": "Python", "chromium": "Chromium"}

# Timestamps, in the page, of each file's Save link appearing: the file is verified.
MARK_VERIFIED = """() => {
  const list = document.getElementById("receive-files");
  const marks = (window.benchMarks = []);
  new MutationObserver(() => {
    const count = list.querySelectorAll("a.save").length;
    while (marks.length < count) marks.push(performance.now());
  }).observe(list, { childList: true, subtree: true });
}"""


@dataclass
class Timed:
    """Bytes received in ``seconds`` (after the warm-up)."""

    bytes: int
    seconds: float

    @property
    def rate(self) -> float:
        """MB/s."""
        return self.bytes / self.seconds / MB


@dataclass
class Setting:
    """What one transfer needs: the server, the browser and the files."""

    server: str
    browser: Any
    pump_url: str
    warm: Path
    data: Path
    joined: Path
    scratch: Path


# --- ours -----------------------------------------------------------------------------


async def ours(setting: Setting, sender: str, receiver: str) -> Timed:
    """One SendIt transfer of the warm-up file and the timed file."""
    files = [setting.warm, setting.data]
    async with contextlib.AsyncExitStack() as stack:
        if sender == "python":
            process = await start("send", *map(str, files), "--json", server=setting.server)
            stack.push_async_callback(_ended, process.process)
            code = await process.code()
        else:
            context = await new_context(setting.browser)
            stack.push_async_callback(context.close)
            _page, code = await start_sending(context, setting.server, files)
        if receiver == "python":
            target = setting.scratch / "received"
            target.mkdir()
            stack.callback(shutil.rmtree, target)
            process = await start("receive", "--yes", "--json", "-o", str(target), code, server=setting.server)
            stack.push_async_callback(_ended, process.process)
            offer = await process.event("offer")
            assert [f["name"] for f in offer["files"]] == [f.name for f in files], offer
            await process.event("file-done", TRANSFER_TIMEOUT)
            began = time.perf_counter()
            await process.event("file-done", TRANSFER_TIMEOUT)
            return Timed(setting.data.stat().st_size, time.perf_counter() - began)
        context = await new_context(setting.browser)
        stack.push_async_callback(context.close)
        page = await open_offer(context, setting.server, code)
        await page.evaluate(MARK_VERIFIED)
        await page.click("#accept")
        await page.wait_for_function("() => window.benchMarks.length === 2", timeout=TRANSFER_TIMEOUT * 1000)
        first, second = await page.evaluate("window.benchMarks")
        return Timed(setting.data.stat().st_size, (second - first) / 1000)


async def _ended(process: asyncio.subprocess.Process) -> None:
    """Let a peer finish on its own for a moment, then make sure it is gone."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), 10)
    if process.returncode is None:
        process.kill()
        await process.wait()


# --- the bare pump --------------------------------------------------------------------


class PythonPump:
    """One end of bench/pump.py, a process of its own."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, role: str, path: Path, warmup: int = 0) -> "PythonPump":
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.pump",
            role,
            str(path),
            "--warmup",
            str(warmup),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        return cls(process)

    async def line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), TRANSFER_TIMEOUT)
        if not line:
            raise RuntimeError(f"the bare pump ended early (exit {await self.process.wait()})")
        return json.loads(line)

    def tell(self, description: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(description).encode() + b"\n")

    async def offer(self) -> dict[str, Any]:
        return await self.line()

    async def answer(self, offer: dict[str, Any]) -> dict[str, Any]:
        self.tell(offer)
        return await self.line()

    async def accept(self, answer: dict[str, Any]) -> None:
        self.tell(answer)

    async def received(self) -> Timed:
        outcome = await self.line()
        return Timed(outcome["bytes"], outcome["seconds"])

    async def close(self) -> None:
        await _ended(self.process)


class PagePump:
    """One end of bench/web/pump.js, in a browser context of its own."""

    def __init__(self, context: Any, page: Any) -> None:
        self.context = context
        self.page = page

    @classmethod
    async def open(cls, setting: Setting) -> "PagePump":
        context = await new_context(setting.browser)
        page = await context.new_page()
        await page.goto(setting.pump_url)
        return cls(context, page)

    async def call(self, function: str, *args: Any) -> Any:
        return await self.page.evaluate(
            "([name, args]) => import('./pump.js').then((pump) => pump[name](...args))", [function, list(args)]
        )

    async def offer(self) -> dict[str, Any]:
        return await self.call("offer")

    async def answer(self, offer: dict[str, Any], warmup: int) -> dict[str, Any]:
        return await self.call("answer", offer, warmup)

    async def accept(self, answer: dict[str, Any]) -> None:
        await self.call("accept", answer)

    async def received(self) -> Timed:
        outcome = await asyncio.wait_for(self.call("received"), TRANSFER_TIMEOUT)
        return Timed(outcome["bytes"], outcome["seconds"])

    async def close(self) -> None:
        await self.context.close()


async def bare(setting: Setting, sender: str, receiver: str) -> Timed:
    """One bare pump transfer of the same bytes: the warm-up and the timed part, joined."""
    warmup = setting.warm.stat().st_size
    ends: list[PythonPump | PagePump] = []
    try:
        if sender == "python":
            source: PythonPump | PagePump = await PythonPump.start("send", setting.joined)
        else:
            source = await PagePump.open(setting)
            await source.page.set_input_files("#file", str(setting.joined))
        ends.append(source)
        offer = await source.offer()
        if receiver == "python":
            sink: PythonPump | PagePump = await PythonPump.start("receive", setting.scratch / "pumped", warmup)
            ends.append(sink)
            answer = await sink.answer(offer)
        else:
            sink = await PagePump.open(setting)
            ends.append(sink)
            answer = await sink.answer(offer, warmup)
        await source.accept(answer)
        if isinstance(source, PagePump):
            sending = asyncio.ensure_future(source.call("send"))
            timed = await sink.received()
            await sending
        else:
            timed = await sink.received()
        # Timing starts at the message that crosses the warm-up: up to 64 KiB late.
        assert timed.bytes >= setting.data.stat().st_size - 65_536, timed
        return timed
    finally:
        for end in reversed(ends):
            await end.close()
        (setting.scratch / "pumped").unlink(missing_ok=True)


# --- the run --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def pump_site() -> AsyncIterator[str]:
    """bench/web/ on a free loopback port: the bare page needs an origin of its own."""
    app = web.Application()
    app.router.add_static("/", PUMP_PAGE)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/pump.html"
    finally:
        await runner.cleanup()


def make_files(config: BenchConfig) -> tuple[Path, Path, Path]:
    """The warm-up file, the timed file, and both joined (what the bare pump sends)."""
    warm = random_file(config.scratch / "warm-up.bin", config.warmup)
    data = random_file(config.scratch / "timed.bin", config.transfer_size)
    return warm, data, concatenated(config.scratch / "joined.bin", [warm, data])


async def measure_pair(config: BenchConfig, setting: Setting, sender: str, receiver: str) -> Result:
    name = f"{NAMES[sender]} → {NAMES[receiver]}"
    runs: list[float] = []
    baseline_runs: list[float] = []
    sides: list[tuple[list[float], Callable[..., Awaitable[Timed]]]] = [(runs, ours), (baseline_runs, bare)]
    for run in range(config.runs):
        for figures, transfer in sides if run % 2 == 0 else reversed(sides):
            timed = await transfer(setting, sender, receiver)
            figures.append(round(timed.rate, 2))
            config.say(f"{name}: {'ours' if transfer is ours else 'bare'} {timed.rate:.1f} MB/s")
    wanted = PYTHON_TARGET if sender == receiver == "python" else BASELINE_TARGET
    result = Result(
        section="throughput",
        name=name,
        unit="MB/s",
        ours=median(runs),
        baseline=median(baseline_runs),
        target=f"≥ {wanted}× bare pump",
        runs=runs,
        baseline_runs=baseline_runs,
        detail={"timed_bytes": config.transfer_size, "warmup_bytes": config.warmup},
    )
    result.met = result.ratio is not None and result.ratio >= wanted
    return result


async def run(config: BenchConfig) -> list[Result]:
    warm, data, joined = make_files(config)
    results = []
    async with server_process() as server, pump_site() as pump_url, async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            setting = Setting(
                server=server.url,
                browser=browser,
                pump_url=pump_url,
                warm=warm,
                data=data,
                joined=joined,
                scratch=config.scratch,
            )
            for sender, receiver in PAIRS:
                results.append(await measure_pair(config, setting, sender, receiver))
        finally:
            await browser.close()
    for path in (warm, data, joined):
        path.unlink()
    return results
