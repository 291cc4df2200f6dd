"""Received files streamed straight into a browser download (web/js/transfer/store/
stream.js), through the page as a person uses it: the receive tab's setting, remembered,
chooses it; a browser whose own storage is missing or too small for the offer gets it
without asking. The downloads are Playwright's, compared byte for byte (a tree's ZIP
unzipped by Python)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from playwright.async_api import expect

from helpers.browser import UI_TIMEOUT, enter_code, make_files, open_app, open_offer, start_sending, zip_members
from helpers.peers import OK, make_tree, start, tree_of
from helpers.server import RunningServer

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]
MiB = 1024 * 1024

#: A browser that can ask for no folder (as a private window in a browser without the pickers).
NO_PICKER = """
for (const owner of [window, Window.prototype]) {
  delete owner.showDirectoryPicker;
  delete owner.showSaveFilePicker;
}
"""
#: ... and has no origin-private file system (Firefox's private windows).
NO_OPFS = NO_PICKER + "delete StorageManager.prototype.getDirectory;\n"
#: ... or has one with less room than the offer (a private window's is small).
SMALL_OPFS = NO_PICKER + "StorageManager.prototype.estimate = async () => ({ quota: 4096, usage: 1024 });\n"

STREAMED_WHERE = "The files go straight to your Downloads folder as they arrive; a transfer that breaks cannot resume."


def saved_as(name: str) -> str:
    return f"Saved to your Downloads folder as “{name}” (see your browser's downloads)."


async def heap_bytes(cdp: Any) -> int:
    """What the page's JavaScript holds, its ArrayBuffers' backing stores with it, in bytes:
    measured after a garbage collection, as the blocks it has let go are not held."""
    await cdp.send("HeapProfiler.collectGarbage")
    usage = await cdp.send("Runtime.getHeapUsage")
    return int(usage["usedSize"] + usage.get("backingStorageSize", 0))


async def test_the_setting_streams_a_file_to_downloads_and_is_remembered(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    size = 64 * MiB
    [path] = make_files(tmp_path, {"film.bin": size})
    context = await new_person()
    receiver = await open_app(context, server.url)
    await receiver.click("#tab-receive")
    setting = receiver.locator("#receive-stream")
    await expect(setting).not_to_be_checked()
    await setting.check()
    await receiver.reload()
    await receiver.click("#tab-receive")
    await expect(setting).to_be_checked()
    assert await receiver.evaluate("localStorage.getItem('sendit.stream-to-downloads')") == "true"

    sender, code = await start_sending(await new_person(), server.url, [path])
    await enter_code(receiver, code)
    await expect(receiver.locator("#accept")).to_be_visible(timeout=UI_TIMEOUT)
    # The folder picker still comes first where the browser has one.
    await expect(receiver.locator("#offer-where")).to_have_text("When you accept, you choose where the files go.")

    cdp = await context.new_cdp_session(receiver)
    before = await heap_bytes(cdp)
    peak = before
    async with receiver.expect_download() as info:
        # Headless Chromium's picker answers as a person who picked no folder would.
        await receiver.click("#accept")
    download = await info.value
    done = receiver.locator("#receive-status")
    finished = asyncio.ensure_future(
        expect(done).to_have_text(f"All 1 file received and verified. {saved_as('film.bin')}", timeout=UI_TIMEOUT)
    )
    while not finished.done():
        peak = max(peak, await heap_bytes(cdp))
        await asyncio.wait([finished], timeout=0.1)
    await finished
    target = tmp_path / "saved"
    await download.save_as(target)
    assert download.suggested_filename == "film.bin"
    assert target.read_bytes() == path.read_bytes()
    # The page held a few blocks at a time (about 11 MB were seen), never the file.
    assert peak - before < size // 2, (before, peak)
    # Where it went is said; nothing is left to save in the page.
    assert await receiver.locator("#receive-files a.save").count() == 0
    await expect(receiver.locator("#save-all")).to_be_hidden()
    await expect(sender.locator("#send-status")).to_contain_text("Delivered", timeout=UI_TIMEOUT)


@pytest.mark.parametrize("browser_storage", [NO_OPFS, SMALL_OPFS], ids=["no-opfs", "small-opfs"])
async def test_without_room_in_the_browser_a_tree_streams_as_one_zip(
    server: RunningServer, new_person: Person, tmp_path: Path, browser_storage: str
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    sender = await start("send", "--json", str(make_tree(source, big=2_300_000)), server=server.url)
    context = await new_person()
    await context.add_init_script(browser_storage)
    receiver = await open_offer(context, server.url, await sender.code())
    # Not ticked: the browser's storage decides.
    await expect(receiver.locator("#receive-stream")).not_to_be_checked()
    await expect(receiver.locator("#offer-where")).to_have_text(STREAMED_WHERE)
    async with receiver.expect_download() as info:
        await receiver.click("#accept")
    download = await info.value
    await expect(receiver.locator("#receive-status")).to_have_text(
        f"All 3 files received and verified. {saved_as('album.zip')}", timeout=UI_TIMEOUT
    )
    assert download.suggested_filename == "album.zip"
    target = tmp_path / "album.zip"
    await download.save_as(target)
    assert zip_members(target) == {f"album/{name}": data for name, data in tree_of(source / "album").items()}
    assert await sender.finish() == OK, sender.stderr


async def test_a_broken_transfer_fails_the_download_and_says_so(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    big = tmp_path / "big.iso"
    with big.open("wb") as f:
        f.truncate(2_000_000_000)  # sparse: it takes far longer to send than to break
    sender = await start("send", "--json", str(big), server=server.url)
    context = await new_person()
    # The setting as a page that was ticked before has it.
    await context.add_init_script("localStorage.setItem('sendit.stream-to-downloads', 'true')")
    receiver = await open_offer(context, server.url, await sender.code())
    async with receiver.expect_download() as info:
        await receiver.click("#accept")
    download = await info.value
    await expect(receiver.locator("#receive-status")).to_contain_text("Receiving…")
    sender.process.kill()
    await sender.finish()
    await expect(receiver.locator("#receive-status")).to_contain_text("left", timeout=UI_TIMEOUT)
    await expect(receiver.locator("#receive-where")).to_have_text(
        "The download was stopped and your browser keeps none of it: "
        "receiving these files again starts from the beginning."
    )
    assert await download.failure() == "canceled"
