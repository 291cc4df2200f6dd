"""What the Chromium tests of tests/web/ share."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest

from helpers.server import RunningServer


@pytest.fixture
async def page(server: RunningServer, new_person: Callable[[], Awaitable[Any]]) -> Any:
    """The SendIt page, a person of its own: an origin that serves /js/ and the harness."""
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    return page
