"""Resuming after a real break, through the real pages: the sending page goes away
mid-transfer (its reads stopped at a gate, helpers.browser.gate_reads); a new sending
page offers the same file under a new code; the receiver's page, in the same browser
(so its partial in this browser's storage is there), accepts, and only the rest crosses:
counted on the receiver's data channels, the saved file identical byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable

from playwright.async_api import expect

from helpers.browser import (
    COUNT_FILE_BYTES,
    UI_TIMEOUT,
    gate_reads,
    make_files,
    open_offer,
    release_reads,
    save_all,
    start_sending,
)
from helpers.server import RunningServer

Person = Callable[[], Awaitable[Any]]

MiB = 1024 * 1024
GATE = 2 * MiB
#: Longer than Chromium takes to find a silent connection lost (some 15 s here),
#: shorter than that and a reconnection's grace (60 s).
LOST_MS = 45_000


async def test_a_new_sending_page_sends_only_what_the_receiving_page_does_not_hold(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    [path] = make_files(tmp_path, {"big.bin": 12 * MiB + 5})
    person = await new_person()
    await person.add_init_script(COUNT_FILE_BYTES)
    first = await new_person()
    await gate_reads(first, GATE)
    _, code = await start_sending(first, server.url, [path])
    receiver = await open_offer(person, server.url, code)
    await receiver.click("#accept")
    held = f"() => document.getElementById('receive-total').value >= {GATE}"
    await receiver.wait_for_function(held, timeout=UI_TIMEOUT)
    await first.close()
    await expect(receiver.locator("#receive-status")).to_have_text(
        "Failed: the sender left before the transfer finished.", timeout=LOST_MS
    )
    await receiver.close()

    second = await new_person()
    await gate_reads(second, GATE + MiB)
    sender, code = await start_sending(second, server.url, [path])
    receiver = await open_offer(person, server.url, code)
    await receiver.click("#accept")
    # What it held counts as done on both pages, at once: one more block makes three.
    for page, bar in ((receiver, "receive-total"), (sender, "send-total")):
        done = f"() => document.getElementById('{bar}').value >= {GATE + MiB}"
        await page.wait_for_function(done, timeout=UI_TIMEOUT)
    await release_reads(sender)
    out = tmp_path / "out"
    out.mkdir()
    assert await save_all(receiver, out, 1) == {"big.bin": path.read_bytes()}
    await expect(sender.locator("#send-status")).to_have_text("Delivered: 1 file received and verified.")
    assert await receiver.evaluate("() => window.__fileBytes") == path.stat().st_size - GATE
