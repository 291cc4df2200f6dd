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
    refusals = {  # error id: the server's words (ids no server sends for failures with no answer)
        "unreachable": "could not reach the server",
        "cut-off": "the download was cut off",
        "several-files": "send one file per upload",
        "token-refused": "x",
        "pool-empty": "x",
        "upload-too-slow": "x",
        "unavailable": "x",
        "file-too-large": "the file is too large: the limit is 1000 bytes (0.001 MB)",
        "file-type-refused": "this looks like an ELF executable: executables are refused",
        "file-name-refused": "files named .exe are refused: they run when opened",
        "pool-full": "x",
        "an-id-of-a-newer-server": "a refusal of the future",
        "toString": "an id that is a property of every object",
    }
    result = await run_harness(page, "pool-api.js", "typesAndWords", {"types": types, "refusals": refusals})
    assert result["types"] == [["image/png", 3], ["application/pdf", 1], ["text/plain", 1]]
    assert result["none"] == []
    words = result["words"]
    assert "Check your connection" in words["unreachable"] and "cut off" in words["cut-off"]
    assert words["several-files"] == "The server could not take this: send one file per upload."
    assert "already used" in words["token-refused"]
    assert "Your token is kept" in words["pool-empty"]
    assert "too slow" in words["upload-too-slow"] and "nothing was kept" in words["upload-too-slow"]
    assert "Your token is kept" in words["unavailable"]
    assert words["file-too-large"] == "This file is too large: the limit is 1000 bytes (0.001 MB)."
    assert "ELF executable" in words["file-type-refused"] and ".exe" in words["file-name-refused"]
    assert "pool is full" in words["pool-full"]
    assert words["an-id-of-a-newer-server"] == "The server refused: a refusal of the future."
    assert words["toString"] == "The server refused: an id that is a property of every object."


async def test_api_calls_from_the_browser(new_person: Person) -> None:
    async with running_server(pool_max_file_size=1000) as server:
        page = await pool_module_page(new_person, server.url)
        result = await run_harness(page, "pool-api.js", "apiCalls")
    assert result["mine"]["name"] == "mine.txt" and result["mine"]["type"] == "text/plain"
    assert result["sent"] and result["sent"][-1] > 0
    assert result["alone"] == {
        "ok": False,
        "status": 404,
        "errorId": "pool-empty",
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
    assert result["spent"]["errorId"] == "token-refused"
    assert result["tooLarge"]["errorId"] == "file-too-large" and "limit is 1000 bytes" in result["tooLarge"]["message"]
    assert result["refused"]["errorId"] == "file-type-refused" and "ELF" in result["refused"]["message"]
    assert result["stats"] == {"count": 1, "total_bytes": 5, "types": {"text/plain": 1}, "max_file_size": 1000}
