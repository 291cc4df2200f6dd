"""The exchange page in Chromium, driven as people would: two contexts are two people."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp
from playwright.async_api import expect

from helpers.browser import UI_TIMEOUT, drop_files, open_app, pick_files
from helpers.pool import pool_upload
from helpers.server import RunningServer, running_server

Person = Callable[[], Awaitable[Any]]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


async def open_pool(person: Person, url: str) -> Any:
    return await open_app(await person(), url + "/pool")


async def save(page: Any, directory: Path) -> tuple[str, bytes]:
    """Click Save; returns the name the browser offers and the bytes it saves."""
    async with page.expect_download() as info:
        await page.click("#save-file")
    download = await info.value
    target = directory / download.suggested_filename
    await download.save_as(target)
    return download.suggested_filename, target.read_bytes()


async def test_give_by_drop_and_get_someone_elses_file(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    (tmp_path / "mine.txt").write_text("from the first person\n")
    (tmp_path / "picture.png").write_bytes(PNG)
    first = await open_pool(new_person, server.url)
    second = await open_pool(new_person, server.url)
    await expect(second.locator("#pool-count")).to_have_text("0 files")

    await drop_files(first, [tmp_path / "mine.txt"])
    await expect(first.locator("#pool-status")).to_contain_text("Now get a random file")
    await expect(first.locator("#given")).to_have_text("mine.txt · 22 B · text/plain")
    # The other page follows without a reload.
    await expect(second.locator("#pool-count")).to_have_text("1 file", timeout=UI_TIMEOUT)
    await expect(second.locator("#pool-types li")).to_have_text(["text/plain × 1"])

    # Alone in the pool, the first person's own file is not for them: told so, token kept.
    await first.click("#get-file")
    await expect(first.locator("#pool-status")).to_contain_text("no file from someone else")
    await expect(first.locator("#get-file")).to_be_enabled()

    await drop_files(second, [tmp_path / "picture.png"])
    await expect(second.locator("#given")).to_contain_text("picture.png")
    await expect(first.locator("#pool-count")).to_have_text("2 files", timeout=UI_TIMEOUT)
    await second.click("#get-file")
    await expect(second.locator("#received")).to_have_text("mine.txt · 22 B · text/plain")
    out = tmp_path / "out"
    out.mkdir()
    assert await save(second, out) == ("mine.txt", b"from the first person\n")

    await first.click("#get-file")
    await expect(first.locator("#received")).to_contain_text("picture.png")
    assert await save(first, out) == ("picture.png", PNG)
    for page in (first, second):
        await expect(page.locator("#pool-count")).to_have_text("0 files", timeout=UI_TIMEOUT)
        await expect(page.locator("#pool-types li")).to_have_count(0)

    await first.click("#give-again")
    await expect(first.locator("#drop-zone")).to_be_visible()


async def test_upload_progress_and_the_token_survive_a_reload(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"0123456789abcdef\n" * 360_000)  # 6.1 MB
    page = await open_pool(new_person, server.url)
    await pick_files(page, [big])
    await expect(page.locator("#upload-rate")).to_have_text(
        re.compile(r"^6\.1 MB in \d+:\d\d · average .+/s$"), timeout=UI_TIMEOUT
    )
    await expect(page.locator("#given")).to_have_text("big.txt · 6.1 MB · text/plain", timeout=UI_TIMEOUT)
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#get-view")).to_be_visible()
    await expect(page.locator("#given")).to_have_text("big.txt · 6.1 MB · text/plain")
    async with aiohttp.ClientSession() as http:
        await pool_upload(http, server.url, b"a gift\n", "gift.txt")
    await page.click("#get-file")
    await expect(page.locator("#received")).to_have_text("gift.txt · 7 B · text/plain")
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#drop-zone")).to_be_visible()  # the token was spent


async def test_refusals_in_plain_words(new_person: Person, tmp_path: Path) -> None:
    program = tmp_path / "program"
    program.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    script = tmp_path / "install.bat"
    script.write_text("@echo off\r\n")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2000)
    async with running_server(pool_max_file_size=1000, pool_max_files=2) as server:
        page = await open_pool(new_person, server.url)
        await expect(page.locator("#pool-limit")).to_have_text("one file, up to 1.0 KB")
        status = page.locator("#pool-status")
        await pick_files(page, [program])
        await expect(status).to_have_text(
            "This type of file is not taken: this looks like an ELF executable: executables are refused."
        )
        await expect(status).to_have_attribute("data-kind", "error")
        await pick_files(page, [script])
        await expect(status).to_contain_text("files named .bat are refused")
        await pick_files(page, [big])  # refused before sending: the page knows the limit
        await expect(status).to_have_text("This file is too large: the limit is 1.0 KB.")
        await drop_files(page, [program, script])
        await expect(status).to_have_text("Give one file at a time.")
        async with aiohttp.ClientSession() as http:
            for name in ("a.txt", "b.txt"):
                await pool_upload(http, server.url, b"filler\n", name)
        (tmp_path / "ok.txt").write_text("fine\n")
        await pick_files(page, [tmp_path / "ok.txt"])
        await expect(status).to_contain_text("The pool is full right now")
        await expect(page.locator("#drop-zone")).to_be_visible()


async def test_main_page_links_to_the_exchange(server: RunningServer, new_person: Person) -> None:
    page = await open_app(await new_person(), server.url)
    await page.click("#pool-link")
    await expect(page).to_have_url(server.url + "/pool")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.click("text=Send directly")
    await expect(page.locator("#drop-zone .drop-title")).to_have_text("Drop files or folders here")
