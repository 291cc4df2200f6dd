"""One transfer across the lab, as the cases run it: the ``sendit`` CLI on both ends, or
the page in a lab host's Chromium on one end and the CLI on the other; and what each
end says of how it connected (docs/PROTOCOL.md 3.5), or why it did not, with the bytes
compared."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from playwright.async_api import expect

from helpers.browser import open_app, open_link, pick_files, save_all, shown_code
from helpers.lab import Host
from helpers.peers import CONNECTION, OK, Sendit, tree_of
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import FAILURE_WORDS, Route

#: Small, so a case stays fast; big enough for many TURN channel messages.
SIZE = 2_000_000
#: A guard on the page: a failure takes 30 s to give up; a transfer of SIZE, seconds.
PAGE_TIMEOUT = 45_000

OnHost = Callable[..., Awaitable[Sendit]]
PersonOn = Callable[[Host], Awaitable[Any]]


def random_file(directory: Path) -> Path:
    directory.mkdir(parents=True)
    sent = directory / "file.bin"
    sent.write_bytes(os.urandom(SIZE))
    return sent


def connected(peer: Sendit) -> str:
    """The route of a CLI's ``connected`` event."""
    [event] = [event for event in peer.events if event["event"] == "connected"]
    return event["route"]


def failure(peer: Sendit) -> str | None:
    """The error id of a CLI's ``error`` event, if its run ended with one."""
    return next((event.get("error_id") for event in peer.events if event["event"] == "error"), None)


def assert_cli_failed(peer: Sendit, error_id: ErrorId) -> None:
    """The CLI gave up for ``error_id``, in its words."""
    assert peer.process.returncode == CONNECTION, peer.events
    assert failure(peer) == error_id, peer.events
    assert peer.error.startswith(FAILURE_WORDS[error_id]), peer.error


@dataclass
class CliPair:
    sender: Sendit
    receiver: Sendit
    sent: Path
    received: Path

    @classmethod
    async def run(
        cls, on_host: OnHost, server: str, sender_host: Host, receiver_host: Host, directory: Path, *flags: str
    ) -> "CliPair":
        """``sendit send`` of a random file on one host, ``sendit receive`` on another,
        both with ``flags``, to their end."""
        sent = random_file(directory)
        sender = await on_host(sender_host, "send", "--json", *flags, str(sent), server=server)
        code = await sender.code()
        received = directory / "out"
        receive = ("receive", "--json", "--yes", "-o", str(received), *flags, code)
        receiver = await on_host(receiver_host, *receive, server=server)
        await asyncio.gather(sender.finish(), receiver.finish())
        return cls(sender, receiver, sent, received)

    def assert_went(self, route: Route) -> None:
        """Both got every byte, and both say they went by ``route``."""
        codes = (self.sender.process.returncode, self.receiver.process.returncode)
        assert codes == (OK, OK), (self.sender.events, self.receiver.events, self.sender.stderr, self.receiver.stderr)
        assert tree_of(self.received) == {self.sent.name: self.sent.read_bytes()}
        assert [connected(self.sender), connected(self.receiver)] == [route, route]

    def assert_failed(self, error_id: ErrorId) -> None:
        """Both sides gave up for ``error_id``, said in its words, and kept nothing."""
        assert [failure(self.sender), failure(self.receiver)] == [error_id, error_id], (
            self.sender.events,
            self.receiver.events,
        )
        assert_cli_failed(self.sender, error_id)
        assert_cli_failed(self.receiver, error_id)
        assert not self.received.exists() or list(self.received.iterdir()) == []


@dataclass
class PagePair:
    """The page on one host, the CLI on another; ``page_sends`` says which way."""

    page: Any
    cli: Sendit
    page_sends: bool
    sent: Path
    directory: Path

    @classmethod
    async def start(
        cls,
        person_on: PersonOn,
        on_host: OnHost,
        server: str,
        page_host: Host,
        cli_host: Host,
        directory: Path,
        *,
        page_sends: bool,
        relay_only: bool = False,
    ) -> "PagePair":
        """The sending end shows a code, the receiving end takes it; ``relay_only`` is
        the page's setting, ticked before it connects."""
        sent = random_file(directory)
        context = await person_on(page_host)
        if page_sends:
            page = await open_app(context, server)
            if relay_only:
                await page.check("#send-relay-only")
            await pick_files(page, [sent])
            code = await shown_code(page)
            receive = ("receive", "--json", "--yes", "-o", str(directory / "out"), code)
            cli = await on_host(cli_host, *receive, server=server)
            return cls(page, cli, page_sends, sent, directory)
        cli = await on_host(cli_host, "send", "--json", str(sent), server=server)
        code = await cli.code()
        page = await open_link(context, server, code)
        if relay_only:
            await page.check("#receive-relay-only")
        await page.click("#receive-button")
        await page.click("#accept", timeout=PAGE_TIMEOUT)
        return cls(page, cli, page_sends, sent, directory)

    @property
    def side(self) -> str:
        return "send" if self.page_sends else "receive"

    async def assert_went(self, route: Route) -> None:
        """Both ends got every byte through, and say they went by ``route``."""
        await expect(self.page.locator(f"#{self.side}-route")).to_have_text(
            f"Connected: {route.shown}", timeout=PAGE_TIMEOUT
        )
        if self.page_sends:
            assert await self.cli.finish() == OK, (self.cli.events, self.cli.stderr)
            assert tree_of(self.directory / "out") == {self.sent.name: self.sent.read_bytes()}
        else:
            out = self.directory / "saved"
            out.mkdir()
            assert await save_all(self.page, out, 1) == {self.sent.name: self.sent.read_bytes()}
            assert await self.cli.finish() == OK, (self.cli.events, self.cli.stderr)
        assert connected(self.cli) == route, self.cli.events

    async def assert_failed(self, error_id: ErrorId) -> None:
        """Both ends gave up for ``error_id``, in its words."""
        await expect(self.page.locator(f"#{self.side}-status")).to_have_text(
            FAILURE_WORDS[error_id], timeout=PAGE_TIMEOUT
        )
        await self.cli.finish()
        assert_cli_failed(self.cli, error_id)


@dataclass
class Ends:
    """Runs a case's two transfers at once between the same two hosts: CLI to CLI, and
    the page on the first host to the CLI on the second."""

    on_host: OnHost
    person_on: PersonOn

    async def both(
        self,
        server: str,
        first: Host,
        second: Host,
        directory: Path,
        *,
        page_sends: bool,
        cli_flags: tuple[str, ...] = (),
        relay_only: bool = False,
    ) -> tuple[CliPair, PagePair]:
        """``cli_flags`` go to both CLIs of the CLI pair, ``relay_only`` to the page."""
        return await asyncio.gather(
            CliPair.run(self.on_host, server, first, second, directory / "cli", *cli_flags),
            PagePair.start(
                self.person_on,
                self.on_host,
                server,
                first,
                second,
                directory / "page",
                page_sends=page_sends,
                relay_only=relay_only,
            ),
        )
