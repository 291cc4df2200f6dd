"""Browser to browser through the real UI: two Chromium contexts are two people."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Awaitable, Callable

from playwright.async_api import expect

from helpers.browser import (
    UI_TIMEOUT,
    drop_files,
    enter_code,
    make_files,
    open_app,
    open_offer,
    pick_files,
    save_all,
    shown_code,
    start_sending,
)
from helpers.server import RunningServer, running_server

Person = Callable[[], Awaitable[Any]]
THREE_FILES = {"empty.bin": 0, "one.txt": 1, "random.bin": 20 * 1024 * 1024}


async def transfer_and_check(sender: Any, receiver: Any, paths: list[Path], out: Path) -> None:
    await expect(receiver.locator("#offer-summary")).to_contain_text(f"{len(paths)} files", timeout=UI_TIMEOUT)
    names = [await n.text_content() for n in await receiver.locator("#receive-files .file-name").all()]
    assert names == [p.name for p in paths]
    await receiver.click("#accept")
    saved = await save_all(receiver, out, len(paths))
    assert saved == {p.name: p.read_bytes() for p in paths}
    await expect(receiver.locator("#receive-status")).to_contain_text("received and verified")
    await expect(sender.locator("#send-status")).to_contain_text("Delivered", timeout=UI_TIMEOUT)
    await expect(sender.locator("#send-files .file-state")).to_have_text(["delivered ✓ verified"] * len(paths))
    # Both sides end on the average over the whole transfer, not a live figure.
    for rate in (sender.locator("#send-rate"), receiver.locator("#receive-rate")):
        await expect(rate).to_have_text(re.compile(r"^\S+ MB in \d+:\d\d · average \S+ [KM]?B/s$"))


async def test_picked_files_reach_receiver_who_types_the_code(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, THREE_FILES)
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_app(await new_person(), server.url)
    # People type codes loosely: lower case, spaces instead of the dash.
    await enter_code(receiver, code.lower().replace("-", "  "))
    out = tmp_path / "out"
    out.mkdir()
    await transfer_and_check(sender, receiver, paths, out)


async def test_dropped_files_reach_receiver_who_opens_the_link(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, THREE_FILES)
    sender = await open_app(await new_person(), server.url)
    await drop_files(sender, paths)
    code = await shown_code(sender)
    link = await sender.locator("#share-link").input_value()
    assert link == f"{server.url}/#{code}"
    assert await sender.locator("#qr svg").count() == 1
    await expect(sender.locator("#countdown")).to_contain_text(re.compile(r"expires in (9|10):\d\d"))
    receiver = await open_app(await new_person(), link)
    out = tmp_path / "out"
    out.mkdir()
    await transfer_and_check(sender, receiver, paths, out)


async def test_expired_code(new_person: Person, tmp_path: Path) -> None:
    async with running_server(code_ttl=1.0) as server:
        sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
        await expect(sender.locator("#send-status")).to_contain_text("expired", timeout=UI_TIMEOUT)
        receiver = await open_app(await new_person(), server.url)
        await enter_code(receiver, code)
        await expect(receiver.locator("#receive-status")).to_contain_text("No transfer is waiting")


async def test_used_code_is_refused_to_a_second_receiver(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
    await open_offer(await new_person(), server.url, code)
    second = await open_app(await new_person(), server.url)
    await enter_code(second, code)
    await expect(second.locator("#receive-status")).to_contain_text("already been used")
    await expect(second.locator("#offer")).to_be_hidden()


async def test_mistyped_code_can_be_corrected(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    paths = make_files(tmp_path, {"a.txt": 5})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_app(await new_person(), server.url)
    await enter_code(receiver, "ABC")
    await expect(receiver.locator("#receive-status")).to_contain_text("not a SendIt code")
    await enter_code(receiver, "00000-00000")
    await expect(receiver.locator("#receive-status")).to_contain_text("No transfer is waiting")
    # The form is back, so the same page can try the right code.
    await enter_code(receiver, code)
    await expect(receiver.locator("#accept")).to_be_visible(timeout=UI_TIMEOUT)
    await receiver.click("#accept")
    out = tmp_path / "out"
    out.mkdir()
    assert await save_all(receiver, out, 1) == {"a.txt": paths[0].read_bytes()}


async def test_too_many_wrong_codes_say_how_long_to_wait(new_person: Person) -> None:
    async with running_server(max_failed_joins=1, failed_join_backoff=45.0) as server:
        receiver = await open_app(await new_person(), server.url)
        await enter_code(receiver, "00000-00000")
        await expect(receiver.locator("#receive-status")).to_contain_text("No transfer is waiting")
        await enter_code(receiver, "00000-00000")
        await expect(receiver.locator("#receive-status")).to_have_text(
            "Too many wrong codes from your network. Wait 0:45, then try again."
        )


async def test_sender_cancels_before_accept(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
    receiver = await open_offer(await new_person(), server.url, code)
    await sender.click("#cancel-send")
    await expect(sender.locator("#send-status")).to_contain_text("Cancelled")
    await expect(receiver.locator("#receive-status")).to_contain_text("the sender cancelled")
    await expect(receiver.locator("#accept")).to_be_hidden()
    assert await receiver.locator("#receive-files a.save").count() == 0


async def test_receiver_declines(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#decline")
    await expect(receiver.locator("#receive-status")).to_contain_text("declined")
    await expect(sender.locator("#send-status")).to_contain_text("declined", timeout=UI_TIMEOUT)


async def test_receiver_closing_tab_mid_transfer_fails_the_sender(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"big.bin": 200 * 1024 * 1024})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_offer(await new_person(), server.url, code)
    downloads: list[Any] = []
    receiver.on("download", lambda download: downloads.append(download))
    await receiver.click("#accept")
    # Mid-transfer: some bytes have arrived, far from all of them.
    await receiver.wait_for_function("() => document.getElementById('receive-total').value > 0", timeout=UI_TIMEOUT)
    assert await receiver.locator("#receive-files a.save").count() == 0
    await receiver.close()
    await expect(sender.locator("#send-status")).to_contain_text("Failed: the receiver left", timeout=UI_TIMEOUT)
    assert downloads == []


async def test_sender_closing_tab_mid_transfer_fails_the_receiver(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"small.txt": 100, "big.bin": 200 * 1024 * 1024})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#accept")
    await expect(receiver.locator("#receive-files a.save")).to_have_count(1, timeout=UI_TIMEOUT)
    await receiver.wait_for_function("() => document.getElementById('receive-total').value > 1e6", timeout=UI_TIMEOUT)
    await sender.close()
    await expect(receiver.locator("#receive-status")).to_contain_text("Failed: the sender left", timeout=UI_TIMEOUT)
    # The file that was verified stays; the cut one is never offered.
    await expect(receiver.locator("#receive-files a.save")).to_have_count(1)
    assert await receiver.locator("#receive-files a.save").get_attribute("download") == "small.txt"


CORRUPT_DIGESTS = """() => {
  // Simulates corruption between reading and sending: every digest this page makes is off.
  const digest = crypto.subtle.digest.bind(crypto.subtle);
  crypto.subtle.digest = async (algorithm, data) => {
    const bytes = new Uint8Array(await digest(algorithm, data));
    bytes[0] ^= 1;
    return bytes.buffer;
  };
}"""


async def test_hash_mismatch_is_reported_and_nothing_offered(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"data.bin": 3 * 1024 * 1024})
    sender = await open_app(await new_person(), server.url)
    await sender.evaluate(CORRUPT_DIGESTS)
    await pick_files(sender, paths)
    code = await shown_code(sender)
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#accept")
    await expect(receiver.locator("#receive-status")).to_contain_text(
        '"data.bin" arrived damaged (hash mismatch', timeout=UI_TIMEOUT
    )
    assert await receiver.locator("#receive-files a.save").count() == 0
    await expect(sender.locator("#send-status")).to_contain_text("hash mismatch: data.bin", timeout=UI_TIMEOUT)


async def test_copy_button_puts_the_share_link_on_the_clipboard(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    context = await new_person()
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sender, code = await start_sending(context, server.url, make_files(tmp_path, {"a.txt": 1}))
    await sender.click("#copy-link")
    await expect(sender.locator("#copy-link")).to_have_text("Copied")
    assert await sender.evaluate("() => navigator.clipboard.readText()") == f"{server.url}/#{code}"


async def test_files_dropped_while_waiting_join_the_offer(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    first, second = make_files(tmp_path, {"first.txt": 3, "second.txt": 4})
    sender, code = await start_sending(await new_person(), server.url, [first])
    # Dropped anywhere on the page, not on the (now hidden) drop zone.
    await drop_files(sender, [second], target="send-share")
    await expect(sender.locator("#send-summary")).to_contain_text("2 files")
    assert await sender.locator("#code").text_content() == code
    receiver = await open_offer(await new_person(), server.url, code)
    names = [await n.text_content() for n in await receiver.locator("#receive-files .file-name").all()]
    assert names == ["first.txt", "second.txt"]


async def test_receiving_works_from_the_keyboard_alone(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"a.txt": 7})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_app(await new_person(), server.url)
    await receiver.focus("#tab-send")
    await receiver.keyboard.press("ArrowRight")
    await expect(receiver.locator("#tab-receive")).to_be_focused()
    await expect(receiver.locator("#receive-view")).to_be_visible()
    await receiver.keyboard.press("Tab")
    await expect(receiver.locator("#code-input")).to_be_focused()
    await receiver.keyboard.type(code)
    await receiver.keyboard.press("Enter")
    # The offer takes the focus to its Accept button, so Enter accepts.
    await expect(receiver.locator("#accept")).to_be_focused(timeout=UI_TIMEOUT)
    await receiver.keyboard.press("Enter")
    await expect(receiver.locator("#receive-files a.save")).to_be_focused(timeout=UI_TIMEOUT)
    async with receiver.expect_download() as info:
        await receiver.keyboard.press("Enter")
    saved = tmp_path / "saved"
    await (await info.value).save_as(saved)
    assert saved.read_bytes() == paths[0].read_bytes()
