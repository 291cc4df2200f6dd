"""The pages mid-transfer, through the real UI: the receiver's Cancel while receiving,
and the words both pages show while a blip is healed. The sending page reads its file
through a gate (helpers.browser.gate_reads), so it stops at a known byte; the blip is
real: an nft rule in the test's own namespace drops every UDP packet, the pages' ICE and
data, while the signalling, over TCP, goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable

from playwright.async_api import expect

from helpers.browser import UI_TIMEOUT, gate_reads, make_files, open_offer, release_reads, save_all, start_sending
from helpers.loopback import NO_UDP, nft_rules
from helpers.server import RunningServer

Person = Callable[[], Awaitable[Any]]

MiB = 1024 * 1024
GATE = 2 * MiB
#: Chromium calls a connection whose packets are all dropped failed after some 30 s.
FAILED_MS = 90_000


async def halfway(server: RunningServer, new_person: Person, path: Path) -> tuple[Any, Any]:
    """A sending page stopped at GATE bytes of ``path``, and a receiving page holding them."""
    context = await new_person()
    await gate_reads(context, GATE)
    sender, code = await start_sending(context, server.url, [path])
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#accept")
    held = f"() => document.getElementById('receive-total').value >= {GATE}"
    await receiver.wait_for_function(held, timeout=UI_TIMEOUT)
    return sender, receiver


async def test_the_receiver_cancels_while_receiving_and_the_sender_reads_it(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    [path] = make_files(tmp_path, {"big.bin": 5 * MiB})
    sender, receiver = await halfway(server, new_person, path)
    await receiver.click("#cancel-receive")
    await expect(receiver.locator("#receive-status")).to_have_text(
        "You cancelled the transfer. The sender has been told, and nothing unverified was kept."
    )
    told = sender.locator("#send-status")
    await expect(told).to_have_text("The receiver cancelled the transfer.", timeout=UI_TIMEOUT)
    await expect(receiver.locator("#cancel-receive")).to_be_hidden()
    assert await receiver.locator("#receive-files a.save").count() == 0


async def test_both_pages_say_reconnecting_through_a_blip_and_the_file_arrives(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    [path] = make_files(tmp_path, {"big.bin": 5 * MiB + 7})
    sender, receiver = await halfway(server, new_person, path)
    with nft_rules(NO_UDP):
        await expect(sender.locator("#send-status")).to_have_text(
            "The connection dropped: reconnecting…", timeout=FAILED_MS
        )
        await expect(receiver.locator("#receive-status")).to_have_text(
            "The connection dropped: reconnecting… What has arrived is kept.", timeout=FAILED_MS
        )
    await release_reads(sender)
    out = tmp_path / "out"
    out.mkdir()
    await expect(receiver.locator("#receive-status")).to_have_text(
        "All 1 file received and verified. Save them below.", timeout=FAILED_MS
    )
    assert await save_all(receiver, out, 1) == {"big.bin": path.read_bytes()}
    await expect(sender.locator("#send-status")).to_have_text(
        "Delivered: 1 file received and verified.", timeout=FAILED_MS
    )
