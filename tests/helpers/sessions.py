"""Driving tests/web/harness/sessions.js: one real SendSession or ReceiveSession per
Chromium page, against the real server, and what it reported."""

from __future__ import annotations

import hashlib
from typing import Any

from helpers.browser import run_harness


def sha256(spec: dict[str, Any]) -> str:
    """The digest of the bytes the harness builds for ``spec`` ({name, size, seed})."""
    return hashlib.sha256(pattern(spec)).hexdigest()


def pattern(spec: dict[str, Any]) -> bytes:
    """Byte i is (i + seed) % 251, as the harness makes it."""
    cycle = bytes((i + spec["seed"]) % 251 for i in range(251))
    return (cycle * (spec["size"] // 251 + 1))[: spec["size"]]


async def call(page: Any, function: str, args: Any = None) -> Any:
    return await run_harness(page, "sessions.js", function, args)


async def until(page: Any, phase: str, count: int = 1, **options: Any) -> dict[str, Any]:
    """What the page's session reported, once it entered ``phase`` (checked) ``count``
    times; ``ms``, how long to wait at most."""
    seen = await call(page, "until", {"phase": phase, "count": count, **options})
    assert seen["phase"] == phase, seen
    return seen


async def session_page(context: Any, url: str) -> Any:
    """A page of ``context`` (a person) at the server, ready for the harness."""
    page = await context.new_page()
    await page.goto(url + "/")
    return page


async def offering(context: Any, url: str, files: list[dict[str, Any]], **options: Any) -> tuple[Any, str]:
    """A sender page of ``context`` whose session offers ``files`` (made with ``options``,
    see the harness's ``configure``); and the code it got."""
    sender = await session_page(context, url)
    await call(sender, "configure", options)
    assert await call(sender, "send", files) == [f["name"] for f in files]
    return sender, (await until(sender, "waiting-for-receiver"))["details"]["waiting-for-receiver"]["code"]


async def accepting(context: Any, url: str, code: str, **options: Any) -> Any:
    """A receiver page of ``context`` whose session joined ``code`` and accepted what it
    offers (into the store ``options`` name, see the harness's ``configure``)."""
    receiver = await session_page(context, url)
    await call(receiver, "configure", options)
    await call(receiver, "receive")
    await call(receiver, "act", ["join", code])
    await until(receiver, "offered")
    await call(receiver, "act", ["accept"])
    return receiver
