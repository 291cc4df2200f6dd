"""The handshake's PAKE cost per side: what the person waits for between the pairing
and the confirmation, in CPU time, in the CLI and in the page.

Ours is one side of sendit_protocol.pake: making its message (SPAKE2 start), checking
the other side's message, finishing, and deriving the confirmation and seal keys; and
the same side of the page's port (web/js/protocol/handshake.js: Handshake.create and
peerJoined or the pake's receive, which also import the two AES keys) in headless
Chromium, each run in a fresh page, timed in the page. The page's confirmation is
checked against sendit_protocol's, so a fast wrong answer cannot pass. The baseline is
the bare `spake2` package doing start and finish alone, so the ratio is what the
protocol's checks and derivations add (and, for the page, BigInt and WebCrypto). The
other side's message is made outside the timer. Ours and the baseline alternate, run
after run; the table shows medians.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any, Callable

from playwright.async_api import async_playwright
from spake2 import SPAKE2_A, SPAKE2_B

from sendit_protocol.pake import ID_RECEIVER, ID_SENDER, Pake, Role
from tests.helpers.browser import launch_chromium, new_context
from tests.helpers.server import server_process

from .config import BenchConfig
from .results import Result, median

TARGET_MS = 25.0
PASSWORD = b"4821-river-fox-lunar"
IDS = {"idA": ID_SENDER, "idB": ID_RECEIVER}
ROLES: tuple[Role, Role] = ("sender", "receiver")

#: One side of the page's handshake up to its confirmation, timed in the page once it is
#: idle (as it is when its person acts): [ms, confirmation].
PAGE_SIDE = """
async ([role, code, entropy, peer]) => {
  const { Handshake } = await import("/js/protocol/handshake.js");
  await new Promise((resolve) => requestIdleCallback(resolve, { timeout: 1000 }));
  const bytes = Uint8Array.from(entropy.match(/../g), (pair) => parseInt(pair, 16));
  const start = performance.now();
  const handshake = await Handshake.create(role, code, { entropy: () => bytes });
  const sent = role === "sender"
    ? await handshake.peerJoined(peer)
    : (await handshake.receive({ type: "pake", data: peer })).send;
  return [performance.now() - start, sent.find((signal) => signal.type === "confirm").data];
}
"""


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def ours(role: Role) -> float:
    """Milliseconds for one side of ours, against a fresh other side."""
    other = Pake("receiver" if role == "sender" else "sender", PASSWORD)
    return _timed(lambda: Pake(role, PASSWORD).finish(other.message))


async def page(context: Any, url: str, role: Role) -> float:
    """Milliseconds for one side of the page's, in a fresh page, against a fresh other side."""
    entropy = os.urandom(64)
    other = Pake("receiver" if role == "sender" else "sender", PASSWORD)
    keys = Pake(role, PASSWORD, entropy=lambda n: entropy).finish(other.message)
    tab = await context.new_page()
    try:
        await tab.goto(url + "/")
        peer = base64.b64encode(other.message).decode()
        ms, confirmation = await tab.evaluate(PAGE_SIDE, [role, PASSWORD.decode(), entropy.hex(), peer])
    finally:
        await tab.close()
    if base64.b64decode(confirmation) != (keys.confirm_a if role == "sender" else keys.confirm_b):
        raise AssertionError(f"the page's {role} confirmation is not sendit_protocol's")
    return float(ms)


def bare(role: Role) -> float:
    """Milliseconds for one side of the bare package."""
    mine, theirs = (SPAKE2_A, SPAKE2_B) if role == "sender" else (SPAKE2_B, SPAKE2_A)
    message = theirs(PASSWORD, entropy_f=os.urandom, **IDS).start()

    def side() -> None:
        spake = mine(PASSWORD, entropy_f=os.urandom, **IDS)
        spake.start()
        spake.finish(message)

    return _timed(side)


def _result(config: BenchConfig, where: str, role: Role, ours_runs: list[float], bare_runs: list[float]) -> Result:
    figure = median(ours_runs)
    config.say(
        f"pake {where}{role}: {figure:.1f} ms per side (bare spake2 {median(bare_runs):.1f} ms), {len(ours_runs)} runs"
    )
    return Result(
        section="pake",
        name=f"{where}{role} (side {'A' if role == 'sender' else 'B'}): start, checks, finish, keys",
        unit="ms",
        ours=round(figure, 2),
        baseline=round(median(bare_runs), 2),
        target=f"under {TARGET_MS:.0f} ms",
        met=figure < TARGET_MS,
        runs=[round(v, 3) for v in ours_runs],
        baseline_runs=[round(v, 3) for v in bare_runs],
    )


async def run(config: BenchConfig) -> list[Result]:
    results = []
    for role in ROLES:
        ours_runs: list[float] = []
        bare_runs: list[float] = []
        for _ in range(config.pake_runs):
            ours_runs.append(ours(role))
            bare_runs.append(bare(role))
        results.append(_result(config, "", role, ours_runs, bare_runs))
    async with server_process() as server, async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            context = await new_context(browser)
            for role in ROLES:
                page_runs: list[float] = []
                bare_runs = []
                for _ in range(config.pake_page_runs):
                    # The bare run first: a page still closing would slow it.
                    bare_runs.append(bare(role))
                    page_runs.append(await page(context, server.url, role))
                results.append(_result(config, "page, ", role, page_runs, bare_runs))
        finally:
            await browser.close()
    return results
