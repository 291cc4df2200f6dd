"""One run of ``sendit send`` or ``sendit receive``: the server, the connection, the transfer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from sendit_protocol.codes import Code, InvalidCode, format_slot, generate_words, parse_slot
from sendit_protocol.errors import ErrorId
from sendit_protocol.handshake import Handshake
from sendit_protocol.ice import FAILURE_WORDS, Policy, Route
from sendit_protocol.messages import PROTOCOL_VERSION, FileEntry, clip

from ..ending import set_once, settle, unless_ended
from ..errors import Cancelled, CodeRefused, ConnectionFailed, GaveUpToo, PeerError, Untrusted, untrusted
from ..progress import Reporter
from ..signalling.client import ServerRefused, SignallingClient
from ..signalling.link import Link, LinkSetup, Pairing, Role, beside, failed, unavailable
from .machines import Receiver, Sender, Transfer
from .sink import Sink
from .source import Source

T = TypeVar("T", bound=Transfer)

log = logging.getLogger(__name__)

#: A sender's reconnection attempts start at least this far apart (docs/PROTOCOL.md 4.6):
#: one that fails at once (no path yet) is not retried in a tight loop.
ATTEMPT_SPACING = 2.0


@dataclass
class PeerOptions:
    """Where the server is, whom to trust to be it (None: the system's CAs), which
    local addresses may be offered to the peer, and whether only through a relay."""

    server: str
    local_ips: Sequence[str] | None = None
    tls: ssl.SSLContext | None = None
    policy: Policy = Policy.ALL


def share_link(server: str, code: str) -> str:
    """The web page's link for a code: in the fragment, which browsers never send to a server."""
    return f"{server.rstrip('/')}/#{code}"


@dataclass
class Session:
    """The server connection of one run, and the server events that end it early."""

    options: PeerOptions
    role: Role
    report: Reporter
    link: Link | None = None
    transfer: Transfer | None = None
    #: The pair's connections, one after another (set up by :meth:`open`).
    pairing: Pairing | None = None
    #: The link is being set up: a peer's 3.5 cancel is then the link's to answer.
    opening: bool = False
    #: Says the route once it is known, and then holds it (docs/PROTOCOL.md 3.5).
    connected: asyncio.Future[Route | None] | None = None
    #: What the server said of the peer's end (it left, cancelled, or the server is
    #: gone) once the channel was open: a reconnection cannot happen then.
    gone: PeerError | None = None

    def __post_init__(self) -> None:
        self.signalling = SignallingClient(self.options.tls)
        self.stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: Reconnecting: the sender's attempts, the receiver's answered connections.
        self._tasks: set[asyncio.Future[None]] = set()
        other = "receiver" if self.role == "sender" else "sender"
        self.signalling.on(
            "peer_left", lambda _: self.stop(ConnectionFailed(f"the {other} left before the transfer finished"))
        )
        self.signalling.on("cancelled", self._cancelled)
        self.signalling.on("expired", lambda _: self.stop(CodeRefused("the code expired before anyone used it")))
        self.signalling.on(
            "disconnect", lambda _: self.stop(ConnectionFailed("lost the connection to the SendIt server"))
        )

    def _cancelled(self, data: Any) -> None:
        """Decided on the id: a handshake the other side found broken ends this side as
        its own would (wrong code, tampering), with this side's words."""
        fields = data if isinstance(data, dict) else {}
        reason, by = fields.get("reason"), fields.get("by")
        error_id = fields.get("error_id")
        if isinstance(error_id, str) and error_id in FAILURE_WORDS:
            # The peer could not connect (3.5): while our link is opening, it gives up
            # with its own diagnosis; before, the peer has offered us nothing at all.
            if not self.opening:
                self.stop(beside(failed(ErrorId.NO_REMOTE_CANDIDATES), reason, self.role))
            return
        ended = untrusted(error_id, self.role) if isinstance(error_id, str) else None
        words = str(reason or f"the {by or 'other side'} cancelled")
        self.stop(ended or Cancelled(words, error_id=error_id if isinstance(error_id, str) else None))

    def stop(self, error: PeerError) -> None:
        """End the run early because of what the server says, until the channel is open:
        from then on only the channel decides (docs/PROTOCOL.md 4.2), and the transfer
        goes on without the server; but a lost channel cannot come back without it, so
        a transfer waiting for one fails at once (4.6)."""
        if self.link is None:
            settle(self.stopped, error)
            return
        self.gone = self.gone or error
        if self.transfer is not None and self.transfer.state == self.transfer.reconnecting:
            self.transfer.abort(error)

    def _lost(self) -> None:
        """The transfer waits for a new channel: the sender makes one (the receiver waits
        for its offer), unless the server said the peer is gone."""
        assert self.transfer is not None and self.pairing is not None
        setup = self.pairing.setup
        if self.gone is not None:
            self.transfer.abort(self.gone)
        elif self.role == "sender":
            self._tasks.add(asyncio.ensure_future(self._reconnect(self.transfer)))
        elif setup is not None and setup.link is not None and setup.link.channel is self.transfer.channel:
            # A loss only this side saw (a stall): closing the connection tells the sender
            # at once, where it would otherwise go on sending to a side that stopped listening.
            self._tasks.add(asyncio.ensure_future(setup.abandon()))

    async def _reconnect(self, transfer: Transfer) -> None:
        """New connections, one after another, until one opens or the transfer ends (its
        grace is over, or the server says the peer left)."""
        assert self.pairing is not None
        loop = asyncio.get_running_loop()
        while not transfer.ended.done():
            spaced = loop.time() + ATTEMPT_SPACING
            try:
                link = await transfer.until(self.pairing.reconnect())
            except ConnectionFailed as error:
                # Only a connection that did not open is tried again: a refusal stands.
                log.debug("reconnection attempt %d did not open: %s", self.pairing.attempt, error)
            except PeerError as error:
                transfer.abort(error)
                return
            else:
                self._resumed(link)
                return
            with contextlib.suppress(PeerError):  # the transfer ended meanwhile
                await transfer.until(asyncio.sleep(max(0.0, spaced - loop.time())))

    def _may_answer(self) -> bool:
        """Receiver: a new offer is answered while the transfer could go on over it."""
        transfer = self.transfer
        return (
            transfer is not None
            and transfer.reconnects
            and self.gone is None
            and transfer.state in (transfer.under_way, transfer.reconnecting)
        )

    def _offered(self, setup: LinkSetup) -> None:
        """Receiver: the sender's new offer says the connection is lost, whether or not
        this side noticed (4.6); the transfer goes on over the answered one once it opens."""
        assert self.transfer is not None
        self.transfer.lost(ConnectionFailed(self.transfer.closed_message))
        self._tasks.add(asyncio.ensure_future(self._answered(self.transfer, setup)))

    async def _answered(self, transfer: Transfer, setup: LinkSetup) -> None:
        try:
            link = await transfer.until(setup.until_open())
        except ConnectionFailed as error:
            # The sender tries again while the grace lasts.
            log.debug("answered attempt %d did not open: %s", setup.attempt, error)
        except PeerError as error:
            transfer.abort(error)
        else:
            self._resumed(link)

    def _resumed(self, link: Link) -> None:
        """A new channel is open: the transfer goes on over it."""
        assert self.transfer is not None
        if self.connected is not None:
            self.connected.cancel()
        self.link = link
        self._watch(link)
        self.connected = asyncio.ensure_future(self._connected(link.routing))
        self.transfer.resume_on(link.channel, link.inbox)

    def _watch(self, link: Link) -> None:
        """The link's faults end the transfer; its connection failing is a loss."""
        link.on_fault(self._fault)
        link.on_failed = lambda: self._failed(link)

    def _failed(self, link: Link) -> None:
        if link is self.link and self.transfer is not None:
            self.transfer.lost(ConnectionFailed(self.transfer.closed_message))

    async def until(self, awaitable: Awaitable[Any]) -> Any:
        """The result of ``awaitable``, unless the run is stopped first."""
        return await unless_ended(awaitable, self.stopped)

    async def check_policy(self, ice_servers: Sequence[dict[str, Any]]) -> None:
        """Fail at once if this side's ICE policy cannot work with the server's ICE list
        (relay only, and no relay); the other side, if any, hears why from the server."""
        error = unavailable(ice_servers, self.options.policy)
        if error is not None:
            reason = f"the {self.role} asked to connect through a relay only, and this server offers no TURN relay"
            await self.signalling.tell("cancel", {"error_id": error.error_id, "reason": reason})
            raise error

    async def open(
        self, ice_servers: Sequence[dict[str, Any]], handshake: Handshake, joined: str | None = None
    ) -> Link:
        options = self.options
        self.pairing = Pairing(self.signalling, ice_servers, handshake, options.local_ips, options.policy)
        self.pairing.may_reconnect = self._may_answer
        self.pairing.on_reconnect = self._offered
        self.pairing.on_broken = self.stop
        opening = self.pairing.open(joined)
        self.opening = True
        try:
            self.link = await self.until(opening)
        except GaveUpToo:
            raise  # the peer gave up first: the pair is over, and nobody is left to tell
        except ConnectionFailed as error:
            if error.error_id in FAILURE_WORDS:
                # Told before we leave, so the peer stops waiting and gives its own reason.
                await self.signalling.tell("cancel", {"error_id": error.error_id, "reason": clip(str(error), 200)})
            raise
        finally:
            self.opening = False
        self.connected = asyncio.ensure_future(self._connected(self.link.routing))
        return self.link

    async def _connected(self, routing: asyncio.Future[Route | None]) -> Route | None:
        """Says how the link is connected once that is known; returns the route."""
        route = await routing
        if route is not None:
            self.report.connected(route)
        return route

    async def finish(self) -> None:
        """The transfer succeeded: said once the route is (so that ``connected`` comes
        first), then the server may count how it went (the route's kind only)."""
        route = await self.connected if self.connected is not None else None
        self.report.done()
        await self.signalling.tell("done", {} if route is None else {"route": route.value})

    def start(self, transfer: T) -> T:
        """``transfer`` runs on the open link, and ends with the link's fault, if any."""
        assert self.link is not None
        self.transfer = transfer
        transfer.on_lost = self._lost
        self._watch(self.link)
        return transfer

    def _fault(self, error: PeerError) -> None:
        """A signal that broke the handshake after all (tampering): the other side hears
        ``cancel`` with the id; another channel than the one: ``protocol-error``."""
        assert self.transfer is not None
        if isinstance(error, Untrusted):
            self.transfer.cancel(error.reason, error.error_id, error)
        else:
            self.transfer.fail(ErrorId.PROTOCOL_ERROR, error.told, error)

    async def tell_server_cancel(self, reason: str) -> None:
        """After the channel is closed, so that our last word on it cannot be overtaken."""
        await self.close_transfer()
        await self.signalling.tell("cancel", {"reason": reason})

    async def close_transfer(self) -> None:
        if self.transfer is not None:
            try:
                await self.transfer.close()
            except asyncio.CancelledError:
                # The run is over already: Ctrl-C now only cuts the wait short.
                _cancellation_handled()

    async def __aenter__(self) -> Session:
        await self.signalling.connect(self.options.server)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        """Close everything; a cancelled run (Ctrl-C) first tells the other side."""
        try:
            if kind is asyncio.CancelledError:
                _cancellation_handled()
                reason = f"the {self.role} cancelled"
                if self.transfer is not None:
                    self.transfer.cancel(reason)
                await self.tell_server_cancel(reason)
                raise Cancelled("cancelled") from None
            await self.close_transfer()
            if isinstance(error, Untrusted):
                # Found here or told by the other side: either way the server hears why.
                await self.signalling.tell("cancel", {"error_id": error.error_id.value, "reason": error.reason})
        finally:
            for task in self._tasks:
                task.cancel()
            if self.connected is not None:
                self.connected.cancel()
            if self.link is not None:
                self.link.routing.cancel()
            if self.pairing is not None:
                await self.pairing.close()
            await self.signalling.close()


def _cancellation_handled() -> None:
    """What follows a handled Ctrl-C must not look cancelled to libraries that tell their
    own timeouts from outside cancellation; each Ctrl-C pressed counts once."""
    task = asyncio.current_task()
    while task is not None and task.uncancel():
        pass


async def send(options: PeerOptions, sources: Sequence[Source], report: Reporter) -> None:
    """Get a slot, make the code's words, wait for the receiver, and deliver ``sources``;
    raises PeerError on failure."""
    async with Session(options, "sender", report) as session:
        created = await session.signalling.request("create", {"version": PROTOCOL_VERSION})
        await session.check_policy(created["ice_servers"])
        code = Code(slot=_slot(created.get("slot")), words=generate_words()).canonical
        report.code(code, share_link(options.server, code), created["expires_in"])
        handshake = Handshake("sender", code)
        joined: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        session.signalling.on("peer_joined", lambda data: set_once(joined, data))
        receiver = await session.until(joined)
        report.peer_joined()
        pake = receiver.get("pake") if isinstance(receiver, dict) else None
        link = await session.open(created["ice_servers"], handshake, joined=pake if isinstance(pake, str) else "")
        session.transfer = session.start(Sender(link.channel, sources, report, inbox=link.inbox))
        await session.until(session.transfer.run())
        await session.finish()


def _slot(text: Any) -> int:
    try:
        return parse_slot(text)
    except InvalidCode:
        raise ServerRefused("the server gave no slot for a code") from None


async def receive(
    options: PeerOptions,
    code: Code,
    sink: Sink,
    decide: Callable[[list[FileEntry]], Awaitable[bool]],
    report: Reporter,
    resume: bool = True,
) -> None:
    """Join ``code``'s slot and take the sender's files into ``sink``; raises PeerError on failure."""
    async with Session(options, "receiver", report) as session:
        handshake = Handshake("receiver", code.canonical)
        join = {"version": PROTOCOL_VERSION, "slot": format_slot(code.slot), "pake": handshake.pake}
        joined = await session.signalling.request("join", join)
        await session.check_policy(joined["ice_servers"])
        report.peer_joined()
        link = await session.open(joined["ice_servers"], handshake)
        session.transfer = session.start(Receiver(link.channel, sink, decide, report, inbox=link.inbox, resume=resume))
        files = await session.until(session.transfer.run())
        if files is None:
            await session.tell_server_cancel("the receiver declined")
            raise Cancelled("you declined the files; nothing was received")
        await session.finish()
