"""A Chromium page driving one real SendSession or ReceiveSession
(tests/web/harness/sessions.js): the page side of a test, with no DOM involved."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from helpers.browser import run_harness
from helpers.server import RunningServer

Person = Callable[[], Awaitable[Any]]


async def session_page(new_person: Person, server: RunningServer) -> Any:
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    return page


async def call(page: Any, function: str, args: Any = None) -> Any:
    """Call one of the harness's functions in ``page``."""
    return await run_harness(page, "sessions.js", function, args)
