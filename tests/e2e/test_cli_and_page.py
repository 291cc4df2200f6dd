"""The Python peer and the web page on either end: ``sendit`` processes and real Chromium."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from playwright.async_api import expect

from helpers.browser import UI_TIMEOUT, make_files, open_offer, save_all, start_sending
from helpers.peers import CANCELLED, CONNECTION, OK, make_tree, start, tree_of
from helpers.server import RunningServer

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]


async def test_python_sends_a_tree_to_the_page(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    album = make_tree(source)
    sender = await start("send", "--json", str(album), server=server.url)
    receiver = await open_offer(await new_person(), server.url, await sender.code())
    names = [await n.text_content() for n in await receiver.locator("#receive-files .file-name").all()]
    assert names == ["album/empty", "album/2025/notes.txt", "album/2025/summer/beach.raw"]
    await receiver.click("#accept")
    out = tmp_path / "out"
    out.mkdir()
    saved = await save_all(receiver, out, 3)
    # A page saves by base name: browsers keep folders out of downloads.
    assert saved == {Path(name).name: data for name, data in tree_of(source).items()}
    await expect(receiver.locator("#receive-status")).to_contain_text("received and verified")
    assert await sender.finish() == OK, sender.stderr
    assert [e["name"] for e in sender.events if e["event"] == "file-done"] == names


async def test_the_page_sends_to_python(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    paths = make_files(tmp_path, {"empty.bin": 0, "one.txt": 1, "random.bin": 20 * 1024 * 1024})
    page, code = await start_sending(await new_person(), server.url, paths)
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), code, server=server.url)
    assert await receiver.finish() == OK, receiver.stderr
    assert tree_of(out) == {p.name: p.read_bytes() for p in paths}
    await expect(page.locator("#send-status")).to_contain_text("Delivered", timeout=UI_TIMEOUT)
    await expect(page.locator("#send-files .file-state")).to_have_text(["delivered ✓ verified"] * 3)


async def test_python_receiver_reads_the_link_from_the_page(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"a.bin": 1000})
    page, _ = await start_sending(await new_person(), server.url, paths)
    link = await page.locator("#share-link").input_value()
    receiver = await start("receive", "--yes", "-o", str(tmp_path / "out"), link)
    assert await receiver.finish() == OK, receiver.stderr
    assert (tmp_path / "out" / "a.bin").read_bytes() == paths[0].read_bytes()


async def test_ctrl_c_on_python_sender_tells_the_page(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("x")
    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    receiver = await open_offer(await new_person(), server.url, await sender.code())
    sender.signal(signal.SIGINT)
    assert await sender.finish() == CANCELLED
    await expect(receiver.locator("#receive-status")).to_contain_text("the sender cancelled")
    await expect(receiver.locator("#accept")).to_be_hidden()


async def test_closing_the_sending_page_fails_python_and_keeps_nothing(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(200 * 1024 * 1024))
    page, code = await start_sending(await new_person(), server.url, [big])
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), code, server=server.url)
    while (await receiver.event("progress"))["bytes"] < 1_000_000:
        pass
    await page.close()
    assert await receiver.finish(timeout=15) == CONNECTION
    assert receiver.error == "the sender left before the transfer finished"
    assert list(out.iterdir()) == []
