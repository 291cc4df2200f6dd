"""The Python peer and the web page on either end: ``sendit`` processes and real Chromium,
with the code of docs/PROTOCOL.md 1 typed or carried by the share link."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from playwright.async_api import expect

from helpers.browser import (
    SAME_NETWORK,
    UI_TIMEOUT,
    enter_code,
    make_files,
    open_app,
    open_link,
    open_offer,
    save_all,
    start_sending,
)
from helpers.codes import typed_loosely, wrong_words
from helpers.peers import CANCELLED, CODE, CONNECTION, OK, WRONG_CODE, make_tree, run, start, tree_of
from helpers.server import RunningServer
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import FAILURE_WORDS

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]

#: What each side is told of wrong words (docs/PROTOCOL.md 6).
WRONG_CODE_TO_RECEIVER = "That code doesn't match. Check the words with the sender and ask for a new code."
WRONG_CODE_TO_SENDER = "Someone tried this code with the wrong words; it no longer works."


async def test_python_sends_a_tree_to_the_page(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    album = make_tree(source)
    sender = await start("send", "--json", str(album), server=server.url)
    receiver = await open_offer(await new_person(), server.url, await sender.code())
    # aiortc's candidates come in its SDP, not trickled: the page names the route from them.
    await expect(receiver.locator("#receive-route")).to_have_text(SAME_NETWORK)
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


async def test_the_page_takes_a_code_of_python_typed_loosely(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    [path] = make_files(tmp_path, {"a.bin": 300_000})
    sender = await start("send", "--json", str(path), server=server.url)
    receiver = await open_app(await new_person(), server.url)
    await enter_code(receiver, typed_loosely(await sender.code()))
    await receiver.click("#accept")
    out = tmp_path / "out"
    out.mkdir()
    assert await save_all(receiver, out, 1) == {"a.bin": path.read_bytes()}
    assert await sender.finish() == OK, sender.stderr


async def test_the_page_sends_to_python(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    paths = make_files(tmp_path, {"empty.bin": 0, "one.txt": 1, "random.bin": 20 * 1024 * 1024})
    page, code = await start_sending(await new_person(), server.url, paths)
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), typed_loosely(code), server=server.url)
    assert await receiver.finish() == OK, receiver.stderr
    assert tree_of(out) == {p.name: p.read_bytes() for p in paths}
    await expect(page.locator("#send-status")).to_contain_text("Delivered", timeout=UI_TIMEOUT)
    await expect(page.locator("#send-files .file-state")).to_have_text(["delivered ✓ verified"] * 3)
    await expect(page.locator("#send-route")).to_have_text(SAME_NETWORK)


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
    await expect(receiver.locator("#receive-status")).to_have_text("The sender cancelled the transfer.")
    await expect(receiver.locator("#accept")).to_be_hidden()


async def test_closing_the_sending_page_fails_python_and_keeps_only_the_partial(
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
    # Nothing under its name; what whole blocks came stay aside, for resuming.
    assert {path.name for path in out.iterdir()} <= {"big.bin.part", "big.bin.part.sendit"}


async def test_wrong_words_typed_in_the_page_tell_both_and_use_up_the_slot(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("secret")
    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    code = await sender.code()
    receiver = await open_app(await new_person(), server.url)
    await enter_code(receiver, wrong_words(code))
    await expect(receiver.locator("#receive-status")).to_have_text(WRONG_CODE_TO_RECEIVER, timeout=UI_TIMEOUT)
    assert await sender.finish() == WRONG_CODE, sender.stderr
    assert sender.error == WRONG_CODE_TO_SENDER
    await expect(receiver.locator("#offer")).to_be_hidden()
    # The right words come too late: the wrong ones used the slot up.
    late = await run("receive", "--yes", "-o", str(tmp_path / "out"), code, server=server.url)
    assert late.process.returncode == CODE, late.stderr
    assert not (tmp_path / "out").exists()


async def test_wrong_words_given_to_python_tell_both_and_use_up_the_slot(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"a.bin": 1000})
    page, code = await start_sending(await new_person(), server.url, paths)
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), wrong_words(code), server=server.url)
    assert await receiver.finish() == WRONG_CODE, receiver.stderr
    assert receiver.error == WRONG_CODE_TO_RECEIVER
    await expect(page.locator("#send-status")).to_have_text(WRONG_CODE_TO_SENDER, timeout=UI_TIMEOUT)
    await expect(page.locator("#start-over")).to_be_visible()
    assert not out.exists()
    late = await run("receive", "--yes", "-o", str(out), code, server=server.url)
    assert late.process.returncode == CODE, late.stderr
    assert not out.exists()


async def test_a_link_opened_in_a_page_that_never_clicks_leaves_the_code_to_python(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    """A link previewer that runs the page must not use up the one-shot slot."""
    [path] = make_files(tmp_path, {"a.bin": 1000})
    sender = await start("send", "--json", str(path), server=server.url)
    code = await sender.code()
    previewer = await open_link(await new_person(), server.url, code)
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), code, server=server.url)
    assert await asyncio.gather(sender.finish(), receiver.finish()) == [OK, OK], (sender.stderr, receiver.stderr)
    assert tree_of(out) == {"a.bin": path.read_bytes()}
    # All along it only offered to receive.
    await expect(previewer.locator("#receive-status")).to_have_text(
        f"Ready to receive with code {code}. Press Receive to connect."
    )


async def test_a_relay_only_python_receiver_without_turn_leaves_the_page_its_own_diagnosis(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    assert server.config.ice_servers == []
    page, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.bin": 1000}))
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--relay-only", "--yes", "-o", str(out), code, server=server.url)
    assert await receiver.finish() == CONNECTION
    assert [e.get("error_id") for e in receiver.events if e["event"] == "error"] == [ErrorId.RELAY_UNAVAILABLE]
    # The page heard it while connecting: it says what it saw (its own addresses, none
    # from the receiver), never the receiver's reason, which comes beside it.
    await expect(page.locator("#send-status")).to_have_text(FAILURE_WORDS[ErrorId.NO_REMOTE_CANDIDATES])
    await expect(page.locator("#send-peer-said")).to_have_text(re.compile(r'^The receiver says: ".*relay.*"$'))
    # Without relay only, the receiver may connect: the same files can go under a new code.
    await expect(page.locator("#start-over")).to_be_visible()
    assert not out.exists() or list(out.iterdir()) == []
