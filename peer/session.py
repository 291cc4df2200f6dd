"""One run of ``sendit send`` or ``sendit receive``: the server, the connection, the transfer."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal, Sequence

from .connection import Link, open_link
from .errors import Cancelled, CodeRefused, ConnectionFailed, PeerError
from .messages import FileEntry
from .progress import Reporter
from .signalling import Signalling
from .sink import Sink
from .source import Source
from .transfer import Receiver, Sender, Transfer

# How long a receiver that is done waits for the sender to close, so that its last
# message is not cut off by closing first.
CLOSE_GRACE = 1.0


@dataclass
class PeerOptions:
    """Where the server is and which local addresses may be offered to the peer."""

    server: str
    local_ips: Sequence[str] | None = None


def share_link(server: str, code: str) -> str:
    """The web page's link for a code: in the fragment, which browsers never send to a server."""
    return f"{server.rstrip('/')}/#{code}"


@dataclass
class Session:
    """The server connection of one run, and the server events that end it early."""

    options: PeerOptions
    role: Literal["sender", "receiver"]
    signalling: Signalling = field(default_factory=Signalling)
    link: Link | None = None
    transfer: Transfer | None = None

    def __post_init__(self) -> None:
        self.stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        other = "receiver" if self.role == "sender" else "sender"
        self.signalling.on("peer_left", lambda _: self.stop(ConnectionFailed(f"the {other} left before the transfer finished")))
        self.signalling.on("cancelled", self._cancelled)
        self.signalling.on("expired", lambda _: self.stop(CodeRefused("the code expired before anyone used it")))
        self.signalling.on("disconnect", self._disconnected)
        # Only a receiver that has verified every file tells the server it is done.
        self.signalling.on("done", lambda _: self.stop(None))

    def _cancelled(self, data: Any) -> None:
        reason = data.get("reason") if isinstance(data, dict) else None
        by = data.get("by") if isinstance(data, dict) else None
        self.stop(Cancelled(f"the {by or 'other side'} cancelled" + (f": {reason}" if reason else "")))

    def _disconnected(self, _: Any) -> None:
        # Once the peers are connected directly the server is no longer needed.
        if self.link is None:
            self.stop(ConnectionFailed("lost the connection to the SendIt server"))

    def stop(self, error: PeerError | None) -> None:
        """End the run: with ``error``, or successfully (the receiver reported done)."""
        if self.stopped.done():
            return
        if error is None:
            self.stopped.set_result(None)
        else:
            self.stopped.set_exception(error)
            self.stopped.add_done_callback(lambda f: f.exception())
        if self.transfer is not None:
            self.transfer.end(error)

    async def until(self, awaitable: Awaitable[Any]) -> Any:
        """The result of ``awaitable``, unless the run is stopped first."""
        step = asyncio.ensure_future(awaitable)
        await asyncio.wait([step, self.stopped], return_when=asyncio.FIRST_COMPLETED)
        if not step.done():
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, PeerError):
                await step
            return await self.stopped
        return step.result()

    async def connect(self) -> None:
        await self.signalling.connect(self.options.server)

    async def open(self, ice_servers: Sequence[dict[str, Any]]) -> Link:
        self.link = await self.until(open_link(self.signalling, ice_servers, self.role, self.options.local_ips))
        return self.link

    async def cancel(self, reason: str) -> None:
        """Tell the other side, over the channel and through the server, that the run is off."""
        if self.transfer is not None:
            self.transfer.cancel(reason)
        await self.signalling.tell("cancel", {"reason": reason})

    async def close(self) -> None:
        if self.link is not None:
            await self.link.pc.close()
        await self.signalling.close()


def _cancel_handled() -> None:
    """Ctrl-C cancelled the run and it is handled: the cleanup that follows must not look
    cancelled to libraries that tell their own timeouts from outside cancellation."""
    task = asyncio.current_task()
    # Each Ctrl-C pressed counts as one cancellation.
    while task is not None and task.uncancel():
        pass


async def send(options: PeerOptions, sources: Sequence[Source], report: Reporter) -> None:
    """Get a code, wait for the receiver, and deliver ``sources``; raises PeerError on failure."""
    session = Session(options, "sender")
    try:
        await session.connect()
        created = await session.signalling.request("create")
        report.code(created["code"], share_link(options.server, created["code"]), created["expires_in"])
        joined = asyncio.get_running_loop().create_future()
        session.signalling.on("peer_joined", lambda _: joined.done() or joined.set_result(None))
        await session.until(joined)
        report.peer_joined()
        link = await session.open(created["ice_servers"])
        session.transfer = Sender(link.channel, sources, report, link.take_early())
        await session.until(session.transfer.run())
        report.done()
        await session.signalling.tell("done")
    except asyncio.CancelledError:
        _cancel_handled()
        await session.cancel("the sender cancelled")
        raise Cancelled("cancelled") from None
    finally:
        await session.close()


async def receive(
    options: PeerOptions,
    code: str,
    sink: Sink,
    decide: Callable[[list[FileEntry]], Awaitable[bool]],
    report: Reporter,
) -> None:
    """Join ``code`` and take the sender's files into ``sink``; raises PeerError on failure."""
    session = Session(options, "receiver")
    try:
        await session.connect()
        joined = await session.signalling.request("join", {"code": code})
        report.peer_joined()
        link = await session.open(joined["ice_servers"])
        closed = asyncio.get_running_loop().create_future()
        link.channel.on("close", lambda: closed.done() or closed.set_result(None))
        session.transfer = Receiver(link.channel, sink, decide, report, link.take_early())
        files = await session.until(session.transfer.run())
        if files is None:
            await session.signalling.tell("cancel", {"reason": "the receiver declined"})
            raise Cancelled("you declined the files; nothing was received")
        report.done()
        await session.signalling.tell("done")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(closed, CLOSE_GRACE)
    except asyncio.CancelledError:
        _cancel_handled()
        await session.cancel("the receiver cancelled")
        raise Cancelled("cancelled") from None
    finally:
        await session.close()
