"""web/js/pool/api.js in Chromium: header parsing, wording, and the API calls against a real server
(the page's side is tests/web/harness/pool-api.js)."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from helpers.browser import run_harness
from helpers.server import RunningServer, running_server

Person = Callable[[], Awaitable[Any]]


async def pool_module_page(new_person: Person, url: str) -> Any:
    page = await (await new_person()).new_page()
    await page.goto(url + "/pool")
    return page


async def test_attachment_names(server: RunningServer, new_person: Person) -> None:
    page = await pool_module_page(new_person, server.url)
    headers = [
        "attachment; filename=\"Gr__e.txt\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt",
        'attachment; filename="plain.txt"',
        'attachment; filename="quo\\"ted.txt"',
        "attachment; filename=\"fallback.txt\"; filename*=UTF-8''bad%E0%A4%A.txt",
        "attachment",
        None,
    ]
    names = await run_harness(page, "pool-api.js", "attachmentNames", headers)
    assert names == ["Grüße.txt", "plain.txt", 'quo"ted.txt', "fallback.txt", "file", "file"]


async def test_types_sorted_and_refusals_explained(server: RunningServer, new_person: Person) -> None:
    page = await pool_module_page(new_person, server.url)
    types = {"text/plain": 1, "image/png": 3, "application/pdf": 1}
    refusals = {  # status: the server's message
        "0": "could not reach the server",
        "400": "send one file per upload",
        "403": "x",
        "404": "x",
        "408": "x",
        "503": "x",
        "413": "the file is too large: the limit is 1000 bytes (0.001 MB)",
        "415": "this looks like an ELF executable: executables are refused",
        "507": "x",
        "500": "the server answered 500",
    }
    result = await run_harness(page, "pool-api.js", "typesAndWords", {"types": types, "refusals": refusals})
    assert result["types"] == [["image/png", 3], ["application/pdf", 1], ["text/plain", 1]]
    assert result["none"] == []
    words = result["words"]
    assert "Check your connection" in words["0"]
    assert "send one file per upload" in words["400"]
    assert "already used" in words["403"]
    assert "Your token is kept" in words["404"]
    assert "too slow" in words["408"] and "nothing was kept" in words["408"]
    assert "Your token is kept" in words["503"]
    assert words["413"] == "This file is too large: the limit is 1000 bytes (0.001 MB)."
    assert "ELF executable" in words["415"]
    assert "pool is full" in words["507"]
    assert "the server answered 500" in words["500"]


async def test_api_calls_from_the_browser(new_person: Person) -> None:
    async with running_server(pool_max_file_size=1000) as server:
        page = await pool_module_page(new_person, server.url)
        result = await run_harness(page, "pool-api.js", "apiCalls")
    assert result["mine"]["name"] == "mine.txt" and result["mine"]["type"] == "text/plain"
    assert result["sent"] and result["sent"][-1] > 0
    assert result["alone"] == {
        "ok": False,
        "status": 404,
        "isPoolError": True,
        "message": "no file from someone else is in the pool yet; your token stays valid",
    }
    assert result["got"] == {
        "name": "grüße.txt",
        "type": "text/plain",
        "size": len("theirs, grüße\n".encode()),
        "text": "theirs, grüße\n",
        "blobType": "text/plain",
    }
    assert result["received"][-1] == [result["got"]["size"]] * 2
    assert result["spent"]["status"] == 403
    assert result["tooLarge"]["status"] == 413 and "limit is 1000 bytes" in result["tooLarge"]["message"]
    assert result["refused"]["status"] == 415 and "ELF" in result["refused"]["message"]
    assert result["stats"] == {"count": 1, "total_bytes": 5, "types": {"text/plain": 1}, "max_file_size": 1000}
