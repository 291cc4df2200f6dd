"""web/js/pool/api.js in Chromium: header parsing, wording, and the API calls against a real server."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from helpers.server import RunningServer, running_server

Person = Callable[[], Awaitable[Any]]


async def pool_module_page(new_person: Person, url: str) -> Any:
    page = await (await new_person()).new_page()
    await page.goto(url + "/pool")
    return page


async def test_attachment_names(server: RunningServer, new_person: Person) -> None:
    page = await pool_module_page(new_person, server.url)
    names = await page.evaluate("""async () => {
      const { attachmentName } = await import('/js/pool/api.js');
      return [
        `attachment; filename="Gr__e.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt`,
        'attachment; filename="plain.txt"',
        'attachment; filename="quo\\\\"ted.txt"',
        `attachment; filename="fallback.txt"; filename*=UTF-8''bad%E0%A4%A.txt`,
        'attachment',
        null,
      ].map(attachmentName);
    }""")
    assert names == ["Grüße.txt", "plain.txt", 'quo"ted.txt', "fallback.txt", "file", "file"]


async def test_types_sorted_and_refusals_explained(server: RunningServer, new_person: Person) -> None:
    page = await pool_module_page(new_person, server.url)
    result = await page.evaluate("""async () => {
      const { PoolError, explain, sortedTypes } = await import('/js/pool/api.js');
      const said = (status, message) => explain(new PoolError(status, message));
      return {
        types: sortedTypes({ 'text/plain': 1, 'image/png': 3, 'application/pdf': 1 }),
        none: sortedTypes(undefined),
        words: {
          0: said(0, 'could not reach the server'),
          400: said(400, 'send one file per upload'),
          403: said(403, 'x'),
          404: said(404, 'x'),
          408: said(408, 'x'),
          503: said(503, 'x'),
          413: said(413, 'the file is too large: the limit is 1000 bytes (0.001 MB)'),
          415: said(415, 'this looks like an ELF executable: executables are refused'),
          507: said(507, 'x'),
          500: said(500, 'the server answered 500'),
        },
      };
    }""")
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
        result = await page.evaluate("""async () => {
          const pool = await import('/js/pool/api.js');
          const outcome = (promise) => promise.then(
            (value) => ({ ok: true, value }),
            (error) => ({ ok: false, status: error.status, message: error.message, isPoolError: error instanceof pool.PoolError }));
          const file = (text, name) => new File([text], name);
          const sent = [];
          const mine = await pool.uploadFile(file('mine\\n', 'mine.txt'), (n) => sent.push(n));
          const alone = await outcome(pool.downloadRandom(mine.token));
          const theirs = await pool.uploadFile(file('theirs, grüße\\n', 'grüße.txt'));
          const received = [];
          const got = await pool.downloadRandom(mine.token, (n, total) => received.push([n, total]));
          return {
            mine, sent, alone, received,
            got: { name: got.name, type: got.type, size: got.size, text: await got.blob.text(), blobType: got.blob.type },
            spent: await outcome(pool.downloadRandom(mine.token)),
            tooLarge: await outcome(pool.uploadFile(file('x'.repeat(5000), 'big.txt'))),
            refused: await outcome(pool.uploadFile(file('\\x7fELF and so on', 'prog'))),
            stats: await pool.fetchStats(),
          };
        }""")
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
