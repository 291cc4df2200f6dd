"""Shared fixtures: the server, socket.io clients, paired aiortc links, and one Chromium
for the session.

The suite is meant to run inside a private network namespace that holds only ``lo``
(``make test`` does this), so every candidate pair is loopback and nothing can leave
the machine. In CI (``CI=true``) running outside one, or skipping any test, is a failure.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest

from helpers.browser import CHROMIUM, launch_chromium, new_context, serve_harness
from helpers.coturn import Coturn, for_loopback_peers
from helpers.links import paired
from helpers.server import Client, RunningServer, running_server
from peer.signalling.link import Link, open_link

#: aioice skips loopback unless told; the test namespace has no other address.
LOOPBACK = ["127.0.0.1"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def in_private_network_namespace() -> bool:
    # Not /sys/class/net: sysfs shows the namespace it was mounted in, not ours.
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not in_private_network_namespace():
        pytest.exit("CI runs the suite in a private network namespace: use `make test`", returncode=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked by what a test uses, so no browser test can miss the marker:
    # `-m "not browser"` is the quick inner loop.
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped:
        reporter.write_line(f"FAILED: {skipped} test(s) skipped; CI runs every test", red=True)
        session.exitstatus = 1


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with running_server() as running:
        yield running


@pytest.fixture
async def connect(server: RunningServer) -> AsyncIterator[Callable[[], Awaitable[Client]]]:
    """Factory of socket.io clients connected to ``server``; all closed at the end."""
    clients: list[Client] = []

    async def make() -> Client:
        client = await Client().connect(server.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def links(server: RunningServer) -> AsyncIterator[tuple[Link, Link]]:
    """A sender's and a receiver's open channel, paired through the server."""
    async with paired(server.url) as pair:
        opened = await asyncio.gather(
            open_link(pair.sender, pair.created["ice_servers"], pair.sender_handshake, LOOPBACK, pair.peer_joined),
            open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK),
        )
        yield opened
        for link in opened:
            await link.pc.close()


@pytest.fixture
async def loopback_relay(tmp_path: Path) -> AsyncIterator[Coturn]:
    """A real coturn checking the server's TURN REST credentials, relaying between peers
    on this machine."""
    async with for_loopback_peers(tmp_path / "coturn") as relay:
        yield relay


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the whole session (it costs ~1 s and ~400 MiB)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        yield browser
        await browser.close()


@pytest.fixture
async def new_person(browser: Any) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """Factory of browser contexts, each one person, with what loopback WebRTC needs.

    A test fails if any of its pages hit the Content-Security-Policy."""
    contexts: list[Any] = []
    violations: list[str] = []

    def watch(page: Any) -> None:
        page.on(
            "console",
            lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
        )

    async def make() -> Any:
        context = await new_context(browser)
        await serve_harness(context)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()
    assert violations == [], "the Content-Security-Policy refused something"
