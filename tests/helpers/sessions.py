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
