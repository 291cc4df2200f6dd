"""Folders and many files from the send page, in real Chromium: picked (``webkitdirectory``)
or dropped (a real drop through the browser, directories and all), shown as a compact
tree, removed before the receiver connects, kept for a new code after a failure; and a
page that asks before it is closed mid-transfer. The CLI receiver checks paths and bytes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from playwright.async_api import expect

from helpers.browser import UI_TIMEOUT, make_files, open_app, open_offer, pick_files, sent_events, shown_code
from helpers.peers import OK, make_nested, start, tree_of
from helpers.server import RunningServer, wait_until
from signal_server.app import SIGNALLING_KEY

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]

#: Rows a folder shows at first (web/js/ui/tree-list.js PAGE).
PAGE = 100


async def drop_paths(page: Any, paths: list[Path]) -> None:
    """Drag ``paths`` (files and folders) from outside the page and drop them on the drop
    zone, through the browser's own drag and drop: the page reads real entries."""
    box = await page.locator("#send-view").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 40
    cdp = await page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(p) for p in paths], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        await cdp.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})
    await cdp.detach()


async def receive_with_cli(server: RunningServer, code: str, out: Path) -> None:
    receiver = await start("receive", "--json", "--yes", "-o", str(out), code, server=server.url)
    assert await receiver.finish() == OK, receiver.stderr


async def offered_names(page: Any) -> list[str]:
    return [await n.text_content() for n in await page.locator("#receive-files .file-name").all()]


async def offering_folder(person: Person, url: str, folder: Path) -> tuple[Any, str]:
    """A sender's page with ``folder`` picked; returns it and the code it shows."""
    sender = await open_app(await person(), url)
    await sender.set_input_files("#folder-input", str(folder))
    return sender, await shown_code(sender)


def rows(page: Any) -> Any:
    return page.locator("#send-files li")


async def test_a_picked_folder_of_a_thousand_files_reaches_python_with_its_paths(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    album = make_nested(tmp_path / "src" / "album", 1000)
    sender, code = await offering_folder(new_person, server.url, album)
    total = sum(len(data) for data in tree_of(album).values())
    await expect(sender.locator("#send-summary")).to_have_text(f"1000 files, {total / 1e6:.1f} MB")
    # One row for the whole folder, with its count and size.
    await expect(rows(sender)).to_have_count(1)
    await expect(sender.locator("#send-files .folder .file-size")).to_have_text(f"1000 files, {total / 1e6:.1f} MB")
    out = tmp_path / "out"
    await receive_with_cli(server, code, out)
    assert tree_of(out) == tree_of(tmp_path / "src")
    await expect(sender.locator("#send-status")).to_have_text("Delivered: 1000 files received and verified.")
    await expect(sender.locator("#send-files .folder .file-state")).to_have_text("all 1000 delivered ✓ verified")


async def test_files_and_folders_dropped_together_keep_the_command_lines_names(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "photos" / "sub").mkdir(parents=True)
    (source / "photos" / "empty").mkdir()
    make_files(source / "photos", {"a.jpg": 3000, "b.jpg": 10})
    make_files(source / "photos" / "sub", {"c.jpg": 2_000_000})
    [loose] = make_files(source, {"loose.txt": 5})
    sender = await open_app(await new_person(), server.url)
    await drop_paths(sender, [source / "photos", loose])
    code = await shown_code(sender)
    await expect(sender.locator("#send-summary")).to_have_text("4 files, 2.0 MB")
    folder = sender.locator("#send-files > .folder")
    await expect(folder.locator(".folder-toggle")).to_have_text("photos")
    await expect(folder.locator("> .file-size")).to_have_text("3 files, 2.0 MB")
    await expect(sender.locator("#send-files > .file .file-name")).to_have_text(["loose.txt"])
    # Closed until opened: then its own files, then its folders, as sendit walks it.
    await expect(folder.locator(".folder-files")).to_be_hidden()
    await folder.locator(".folder-toggle").click()
    await expect(folder.locator(".folder-toggle").first).to_have_attribute("aria-expanded", "true")
    inside = folder.locator("> .folder-files > li")
    await expect(inside.locator("> .file-name, > .folder-toggle")).to_have_text(["a.jpg", "b.jpg", "sub"])
    receiver = await open_offer(await new_person(), server.url, code)
    assert await offered_names(receiver) == ["photos/a.jpg", "photos/b.jpg", "photos/sub/c.jpg", "loose.txt"]
    await receiver.close()
    # The same drop through the command line's eyes: the same names, the empty folder not sent.
    expected = tree_of(source)
    await sender.click("#start-over")
    out = tmp_path / "out"
    await receive_with_cli(server, await shown_code(sender), out)
    assert tree_of(out) == expected
    assert not (out / "photos" / "empty").exists()


async def test_what_no_receiver_could_save_is_refused_with_words_and_nothing_added(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "empty" / "inner").mkdir(parents=True)
    (source / "x").mkdir()
    make_files(source / "x", {"y.txt": 3})
    [file_x] = make_files(tmp_path, {"x": 4})
    [backslash] = make_files(tmp_path, {"a\\b.txt": 1})
    sender = await open_app(await new_person(), server.url)
    told = sent_events(sender)
    await drop_paths(sender, [source / "empty"])
    await expect(sender.locator("#pick-status")).to_have_text("Nothing to send there: empty folders are not sent.")
    await pick_files(sender, [file_x, backslash])
    await expect(sender.locator("#pick-status")).to_have_text(
        '"a\\b.txt" cannot be sent: file name has a backslash or control character. Nothing was added.'
    )
    # Refused before any code was asked for.
    await expect(sender.locator("#send-pick")).to_be_visible()
    assert not [event for event, _ in told if event == "create"]
    await drop_paths(sender, [source / "x"])
    await shown_code(sender)
    # The same folder again is refused whole, the list as it was.
    await drop_paths(sender, [source / "x"])
    await expect(sender.locator("#list-status")).to_have_text(
        'Nothing was added: two files are named "x/y.txt". Each file needs a name of its own, '
        "and no file the name of a folder."
    )
    # A file x beside a folder x: no receiver can save both.
    await sender.set_input_files("#add-files-input", str(file_x))
    await expect(sender.locator("#list-status")).to_have_text(
        'Nothing was added: "x" is both a file and a folder. Each file needs a name of its own, '
        "and no file the name of a folder."
    )
    await expect(sender.locator("#send-summary")).to_have_text("1 file, 3 B")
    await expect(sender.locator("#send-files .file-name")).to_have_count(0)


async def test_files_and_folders_can_be_removed_until_the_receiver_connects(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    make_nested(source / "keep", 12)
    make_nested(source / "drop", 5)
    loose = make_files(source, {"one.txt": 1, "two.txt": 2})
    sender = await open_app(await new_person(), server.url)
    await pick_files(sender, loose)
    code = await shown_code(sender)
    await sender.set_input_files("#add-folder-input", str(source / "keep"))
    await sender.set_input_files("#add-folder-input", str(source / "drop"))
    await expect(sender.locator("#send-summary")).to_contain_text("19 files")
    await sender.click("#send-files [aria-label='Remove drop']")
    await sender.click("#send-files [aria-label='Remove one.txt']")
    await expect(sender.locator("#send-summary")).to_contain_text("13 files")
    await expect(sender.locator("#send-files > li .file-name, #send-files > li > .folder-toggle")).to_have_text(
        ["two.txt", "keep"]
    )
    # A file inside a folder goes on its own.
    await sender.click("#send-files .folder-toggle")
    await sender.click("#send-files [aria-label='Remove keep/f0.bin']")
    await expect(sender.locator("#send-summary")).to_contain_text("12 files")
    receiver = await open_offer(await new_person(), server.url, code)
    # Once the receiver is there, the list is what it was offered.
    await expect(sender.locator("#send-files .remove").first).to_be_hidden()
    await expect(sender.locator("#add-more")).to_be_hidden()
    names = await offered_names(receiver)
    assert len(names) == 12 and "two.txt" in names and "keep/f0.bin" not in names
    assert not [n for n in names if n.startswith("drop/") or n == "one.txt"]


async def test_removing_everything_gives_the_code_up(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    sender = await open_app(await new_person(), server.url)
    await pick_files(sender, make_files(tmp_path, {"a.txt": 1}))
    await shown_code(sender)
    await sender.click("#send-files [aria-label='Remove a.txt']")
    await expect(sender.locator("#pick-status")).to_have_text(
        "Everything was removed, so the code was given up. Choose files to get a new one."
    )
    await expect(sender.locator("#send-pick")).to_be_visible()
    registry = server.app[SIGNALLING_KEY].registry
    await wait_until(lambda: registry.next_deadline() is None, "the slot to be given up")
    await pick_files(sender, make_files(tmp_path, {"b.txt": 2}))
    await shown_code(sender)
    await expect(sender.locator("#send-files .file-name")).to_have_text(["b.txt"])


async def test_ten_thousand_files_make_a_short_list_and_no_more_go(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    many = tmp_path / "many"
    for folder in range(10):
        (many / f"part{folder}").mkdir(parents=True)
        for i in range(1000):
            (many / f"part{folder}" / f"{i:04}.txt").write_bytes(b"x")
    sender = await open_app(await new_person(), server.url)
    started = time.monotonic()
    await sender.set_input_files("#folder-input", str(many))
    await expect(sender.locator("#send-summary")).to_have_text("10000 files, 10 KB", timeout=UI_TIMEOUT)
    shown_in = time.monotonic() - started
    # A guard against a list that lays out every row, not a benchmark.
    assert shown_in < 10, shown_in
    await expect(rows(sender)).to_have_count(1)
    tall = "() => [document.getElementById('send-files').offsetHeight, document.documentElement.scrollHeight]"
    await sender.locator("#send-files .folder-toggle").click()
    part = sender.locator("#send-files .folder-files .folder").first
    await part.locator(".folder-toggle").click()
    # A folder opens to a page of rows, then a page more at each ask.
    await expect(part.locator(".folder-files > li.file")).to_have_count(PAGE)
    await part.locator("li.more button").click()
    await expect(part.locator(".folder-files > li.file")).to_have_count(2 * PAGE)
    list_height, page_height = await sender.evaluate(tall)
    viewport = sender.viewport_size["height"]
    assert list_height <= viewport and page_height < 3 * viewport, (list_height, page_height)
    # One more would pass the protocol's limit: refused whole, with the numbers.
    [extra] = make_files(tmp_path, {"extra.txt": 1})
    await sender.set_input_files("#add-files-input", str(extra))
    await expect(sender.locator("#list-status")).to_have_text(
        "That would make 10,001 files: at most 10,000 go at a time. Send the rest separately, or zip some folders."
    )
    await expect(sender.locator("#send-summary")).to_have_text("10000 files, 10 KB")


async def test_try_again_after_a_failure_keeps_the_files_under_a_new_code(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    album = make_nested(tmp_path / "src" / "album", 30)
    sender, code = await offering_folder(new_person, server.url, album)
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.close()
    await expect(sender.locator("#send-status")).to_have_text(
        "Failed: the receiver left before the transfer finished.", timeout=UI_TIMEOUT
    )
    await sender.click("#start-over")
    fresh = await shown_code(sender)
    assert fresh != code
    await expect(sender.locator("#send-summary")).to_contain_text("30 files")
    await expect(sender.locator("#send-files .remove").first).to_be_visible()
    out = tmp_path / "out"
    await receive_with_cli(server, fresh, out)
    assert tree_of(out) == tree_of(tmp_path / "src")


async def leaving_asks(page: Any) -> bool:
    """Whether closing ``page`` now asks the person first (its beforeunload). If it asks,
    the person says stay, and the page is still there; if not, it is gone."""
    asked = asyncio.ensure_future(page.wait_for_event("dialog"))
    closed = asyncio.ensure_future(page.wait_for_event("close"))
    await page.close(run_before_unload=True)
    done, _ = await asyncio.wait([asked, closed], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert done, "the page neither asked nor closed"
    if asked in done and not asked.exception():
        dialog = asked.result()
        assert dialog.type == "beforeunload"
        await dialog.dismiss()
        closed.cancel()
        return True
    asked.cancel()
    return False


async def test_the_sender_asks_before_closing_only_mid_transfer(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    big, small = make_files(tmp_path, {"big.bin": 200 * 1024 * 1024, "small.txt": 3})
    waiting = await open_app(await new_person(), server.url)
    await pick_files(waiting, [small])
    await shown_code(waiting)
    # A page asks only after the person has used it (Chromium's rule).
    await waiting.click("#code")
    assert not await leaving_asks(waiting)

    sender = await open_app(await new_person(), server.url)
    await pick_files(sender, [big])
    code = await shown_code(sender)
    await sender.click("#code")
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#accept")
    await sender.wait_for_function("() => document.getElementById('send-total').value > 0", timeout=UI_TIMEOUT)
    assert await leaving_asks(sender)
    await expect(sender.locator("#send-status")).to_have_text("Sending…")
    await sender.click("#cancel-send")
    await expect(sender.locator("#send-status")).to_have_text("Cancelled. The receiver has been told.")
    assert not await leaving_asks(sender)
