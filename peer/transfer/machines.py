"""The transfer of docs/PROTOCOL.md section 3 over an open data channel.

The same two state machines as web/js/transfer/machines.js, with the same named states
and ending verbs: ``cancel`` (we call it off and tell the peer ``cancel``), ``fail``
(tell the peer ``error``), ``abort`` (something outside the channel ended it: tell
nobody). Incoming messages are handled synchronously in the channel's message callback,
bytes going straight to disk and the digest: nothing queues up in memory, and a slow
disk slows the sender down through SCTP's own flow control.

The machines need only a :class:`peer.channel.Channel`: aiortc's, or the tests' in-memory one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from enum import StrEnum
from typing import Any, Awaitable, BinaryIO, Callable, Sequence, TypeVar

from sendit_protocol.digest import BLOCK_SIZE, BlockDigest, prefix_digest
from sendit_protocol.errors import ErrorId
from sendit_protocol.messages import (
    FileEntry,
    InvalidMessage,
    ManifestAssembly,
    ResumeAssembly,
    ResumeEntry,
    block_count,
    check_binary,
    clip,
    encode_message,
    parse_message,
    split_accept,
    split_manifest,
)

from ..channel import Channel, Inbox, Message
from ..ending import settle, unless_ended
from ..errors import Cancelled, ConnectionFailed, PeerError, ProtocolViolation, VerificationFailed, untrusted
from ..progress import Reporter
from .blocks import READ_SIZE, hash_prefix, kept_bytes
from .resume import entries_of
from .sink import FileWriter, Sink
from .source import Source

log = logging.getLogger(__name__)

CHUNK_SIZE = 65_536
HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1024 * 1024
# Nothing moving for this long means the peer is gone: once the channel is open the
# server's news no longer counts, and ICE's consent checks would take about 30 s.
STALL_SECONDS = 10.0
STALL_CHECK_SECONDS = 1.0
# The phases before the transfer (docs/PROTOCOL.md 3.2). A sender sends its manifest the
# moment the channel opens, so one that has not within the channel-open limit never will.
MANIFEST_SECONDS = 30.0
# A person reads the offer and decides: as long as the code waited for them to join.
ANSWER_SECONDS = 600.0
# How long closing may take: our last messages leaving, then (a receiver after done)
# the sender's close.
CLOSE_SECONDS = 5.0
DATA_BEFORE_ACCEPT = "data before accept"
#: How long a lost connection may take to come back (docs/PROTOCOL.md 4.2, item 5).
RECONNECT_GRACE = 60.0

T = TypeVar("T")


def duration(seconds: float) -> str:
    """``600`` -> ``10 min``, ``30`` -> ``30 s``: the words both peers use for a limit."""
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class SenderState(StrEnum):
    OFFERING = "offering"
    SENDING = "sending"
    RECONNECTING = "reconnecting"
    DELIVERED = "delivered"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ReceiverState(StrEnum):
    WAITING_FOR_OFFER = "waiting-for-offer"
    DECIDING = "deciding"
    RECEIVING = "receiving"
    RECONNECTING = "reconnecting"
    RECEIVED = "received"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    FAILED = "failed"


State = SenderState | ReceiverState


# What this side's person reads when the other side's manifest has another version.
_VERSION_WORDS = {
    ErrorId.OLD_PROTOCOL: "the other side speaks an older SendIt protocol: it needs updating",
    ErrorId.NEW_PROTOCOL: "the other side speaks a newer SendIt protocol: update sendit",
}


def violation(error: InvalidMessage) -> ProtocolViolation:
    words = _VERSION_WORDS.get(error.error_id)
    return ProtocolViolation(words or f"protocol error: {error}")


def remote_end(message: dict[str, Any], role: str) -> PeerError:
    """The error that a ``cancel`` or ``error`` from the other side ends the transfer with,
    decided on its id (the words are the peer's, shown neutralised)."""
    found = untrusted(message["error_id"], role)
    if found is not None:
        return found
    if message["type"] == "cancel":
        return Cancelled(message["reason"] or "cancelled by the other side")
    text = message["message"]
    if message["error_id"] == ErrorId.HASH_MISMATCH:
        return VerificationFailed(f"the other side found a damaged file ({text})")
    return PeerError(f"the other side reported an error: {text}")


class Transfer:
    """What both ends share: the channel, its state, sending, and how the transfer ends."""

    role = ""
    # The states a transfer starts in and ends in, by how it ends.
    start: State
    cancelled: State
    failed: State

    #: The state in which a lost channel is reconnected, if both sides can.
    under_way: State
    reconnecting: State

    def __init__(
        self,
        channel: Channel,
        closed_message: str,
        report: Reporter,
        inbox: Inbox | None = None,
        grace: float = RECONNECT_GRACE,
    ) -> None:
        self.report = report
        self.state: State = self.start
        #: How it ended, if not well: the id of the cancel or error sent or received
        #: (``cancelled`` for a cancel without one), or ``peer-left``.
        self.error_id: str | None = None
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed_message = closed_message
        self.grace = grace
        #: Both sides said they can resume (manifest ``resume``, accept ``resume_count``):
        #: a channel lost while under way is then reconnected (4.2, item 5).
        self.reconnects = False
        #: Called when this side starts waiting for a new channel: the session makes one.
        self.on_lost: Callable[[], None] | None = None
        # This side sent the transfer's last message: it must leave before we close.
        self._last_word = False
        self._listening = False
        self._drained = asyncio.Event()
        self._closing: asyncio.Task[None] | None = None
        self._heard = 0
        #: The channel whose messages are handled: none while reconnecting.
        self._heard_on: Channel | None = None
        self._watch: asyncio.Task[None] | None = None
        self._grace: asyncio.TimerHandle | None = None
        self._attach(channel, inbox)

    def _attach(self, channel: Channel, inbox: Inbox | None) -> None:
        """Take ``channel`` as this transfer's; the events of one it had before are ignored."""
        self.channel = channel
        self.inbox = inbox or Inbox(channel)
        self._closed = asyncio.Event()
        channel.on("close", lambda: self._on_close(channel))
        channel.on("bufferedamountlow", lambda: self._drained.set() if channel is self.channel else None)

    def _set_state(self, state: State) -> None:
        log.debug("%s: %s -> %s", self.role, self.state, state)
        self.state = state

    def _on_close(self, channel: Channel) -> None:
        if channel is not self.channel:
            return
        self._closed.set()
        self._drained.set()
        # Before listening, the messages kept from before the close come first.
        if self._listening:
            self.lost(ConnectionFailed(self.closed_message))

    def listen(self) -> None:
        """Start handling messages, those kept since the channel opened first."""
        channel = self.channel
        self._heard_on = channel
        self.inbox.hand_over(lambda data: self._guarded(data) if channel is self._heard_on else None)
        self._listening = True
        if self._closed.is_set() or channel.readyState == "closed":
            self._on_close(channel)

    def lost(self, error: PeerError) -> None:
        """The channel closed or went silent, or the connection failed: while the transfer
        is under way and both sides can, wait for a new one (RECONNECT_GRACE at most),
        keeping what was done; otherwise that is the end."""
        if self.ended.done():
            return
        if self.state == self.reconnecting:
            # A new channel lost before the transfer was taken up on it: another attempt,
            # within the same grace.
            if self._heard_on is not None:
                self._heard_on = None
                if self.on_lost is not None:
                    self.on_lost()
            return
        if not (self.reconnects and self.state == self.under_way):
            self.abort(error)
            return
        self._set_state(self.reconnecting)
        # What the lost channel still brings (the path came back before the peer gave
        # it up) is left unheard: the new channel starts from what this side kept.
        self._heard_on = None
        if self._watch is not None:
            self._watch.cancel()
        self._drained.set()
        self.paused()
        # The grace runs from the first loss until the transfer is taken up again (4.6): a
        # channel that opens and is lost again before that gets no new one.
        if self._grace is None:
            limit = duration(self.grace)
            self._grace = asyncio.get_running_loop().call_later(
                self.grace,
                self.abort,
                ConnectionFailed(f"the connection was lost and could not be restored within {limit}"),
            )
        self.report.reconnecting()
        if self.on_lost is not None:
            self.on_lost()

    def paused(self) -> None:
        """Hook: the channel is lost; what it carried since the last sure point is dropped."""

    def resume_on(self, channel: Channel, inbox: Inbox | None = None) -> None:
        """A new channel after a loss: the transfer goes on over it (the receiver speaks
        first, with ``continue``)."""
        if self.ended.done() or self.state != self.reconnecting:
            return
        self._attach(channel, inbox)
        self.listen()
        self.continued()

    def continued(self) -> None:
        """Hook: a new channel is open."""

    def taken_up(self) -> None:
        """The transfer goes on over the new channel (the sender had ``continue``, the
        receiver its ``file-from``): the grace is over."""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def busy(self) -> bool:
        """Hook: nothing moves on the channel for a reason of this side's own (it hashes
        what the peer claims it holds), which is no stall."""
        return False

    def send(self, message: dict[str, Any]) -> None:
        if self.channel.readyState == "open" and not self.ended.done():
            self.channel.send(encode_message(message))

    def finish(self, state: State, error: PeerError | None = None, error_id: str | None = None) -> bool:
        """End in ``state``: successfully without ``error``; the first call wins."""
        if not settle(self.ended, error):
            return False
        self.error_id = error_id
        if error is not None and error.error_id is None:
            error.error_id = error_id  # what the peer was told, or told us
        self._set_state(state)
        if self._watch is not None:
            self._watch.cancel()
        if self._grace is not None:
            self._grace.cancel()
        self._drained.set()  # nothing waits for room any more
        self.release()
        return True

    def release(self) -> None:
        """Hook: the transfer is over (release files)."""

    def last_word(self, message: dict[str, Any], state: State, error: PeerError | None = None) -> None:
        """Send the message that ends the transfer, and end it: the peer knows why."""
        if not self.ended.done():
            self.send(message)
            self._last_word = True
            self.finish(state, error, message.get("error_id"))

    def cancel(self, reason: str, error_id: ErrorId = ErrorId.CANCELLED, error: PeerError | None = None) -> None:
        """We call it off: tell the peer ``cancel``, and stop."""
        message = {"type": "cancel", "reason": clip(reason), "error_id": error_id.value}
        self.last_word(message, self.cancelled, error or Cancelled("the transfer was cancelled"))

    def fail(self, error_id: ErrorId, message: str, error: PeerError | None = None) -> None:
        """Tell the peer ``error`` (mostly: what it did wrong), and stop."""
        told = {"type": "error", "message": clip(message), "error_id": error_id.value}
        self.last_word(told, self.failed, error or ProtocolViolation(f"protocol error: {message}"))

    def abort(self, error: PeerError) -> None:
        """Something outside the channel ended the transfer (the channel closed, or went
        silent): tell nobody."""
        self.finish(self.failed, error, ErrorId.PEER_LEFT)

    def refuse(self, error: PeerError) -> None:
        """A failure of this side's own (its disk, its files): the peer hears ``error.told``."""
        raise NotImplementedError

    def _guarded(self, data: Message) -> None:
        if self.ended.done():
            return
        self._heard += 1
        try:
            if isinstance(data, str):
                message = parse_message(data)
                if message["type"] in ("cancel", "error"):
                    self._ended_by_peer(message)
                else:
                    self.on_text(message)
            else:
                self.on_bytes(check_binary(data))
        except InvalidMessage as error:
            self.fail(error.error_id, str(error), violation(error))
        except PeerError as error:
            self.refuse(error)

    def _ended_by_peer(self, message: dict[str, Any]) -> None:
        state = self.cancelled if message["type"] == "cancel" else self.failed
        self.finish(state, remote_end(message, self.role), message["error_id"])

    def on_text(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def on_bytes(self, data: bytes) -> None:
        raise InvalidMessage("unexpected binary message")

    def watch_for_stalls(self) -> None:
        """From now until the end, abort if neither messages arrive nor sent bytes leave
        for STALL_SECONDS."""
        self._watch = asyncio.ensure_future(self._watch_for_stalls())

    async def _watch_for_stalls(self) -> None:
        loop = asyncio.get_running_loop()
        seen, moved_at = (self._heard, self.channel.bufferedAmount), loop.time()
        while True:
            await asyncio.sleep(STALL_CHECK_SECONDS)
            now = (self._heard, self.channel.bufferedAmount)
            if now != seen or self.busy():
                seen, moved_at = now, loop.time()
            elif loop.time() - moved_at >= STALL_SECONDS:
                self._watch = None
                self.lost(ConnectionFailed(f"the connection stalled: nothing moved for {STALL_SECONDS:g} s"))
                return

    async def until(self, awaitable: Awaitable[Any]) -> Any:
        """The result of ``awaitable``, unless the transfer ends first: then how it ended."""
        return await unless_ended(awaitable, self.ended)

    async def within(self, seconds: float, awaitable: Awaitable[T], on_timeout: Callable[[], None]) -> T:
        """:meth:`until`, and if ``seconds`` pass first, ``on_timeout`` ends the transfer."""
        timer = asyncio.get_running_loop().call_later(seconds, on_timeout)
        try:
            result: T = await self.until(awaitable)
            return result
        finally:
            timer.cancel()

    async def run_then_close(self, run: Awaitable[T]) -> T:
        """``run``, then :meth:`close` however it ended, unless it was cancelled from
        outside before the transfer ended: then whoever cancelled ends it (and closes)."""
        try:
            return await run
        finally:
            if self.ended.done():
                await self.close()

    async def close(self) -> None:
        """Close the channel as docs/PROTOCOL.md 3.2 says: a side that sent the last word
        waits until it has left, and a receiver after ``done`` then for the sender to
        close first, at most CLOSE_SECONDS in all; any other side closes at once."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        # Shielded: a Ctrl-C now cuts our wait short, not the closing.
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self._last_word:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_SECONDS):
                    self.channel.bufferedAmountLowThreshold = 0
                    await self.drain(0)
                    if not self.waits_for_peer_to_close():
                        # aiortc sends what is queued before the stream reset, whose answer closes it.
                        self.channel.close()
                    await self._closed.wait()
        self.channel.close()

    def waits_for_peer_to_close(self) -> bool:
        return False

    async def drain(self, above: int) -> None:
        """Wait while more than ``above`` bytes are queued to send (woken when the
        channel's bufferedAmountLowThreshold is crossed), or until the channel closes."""
        while self.channel.bufferedAmount > above and not self._closed.is_set():
            self._drained.clear()
            await self._drained.wait()


class Sender(Transfer):
    """Offers ``sources``, streams them once accepted, and ends when the receiver says ``done``."""

    role = "sender"
    start = SenderState.OFFERING
    cancelled = SenderState.CANCELLED
    failed = SenderState.FAILED
    under_way = SenderState.SENDING
    reconnecting = SenderState.RECONNECTING

    def __init__(
        self,
        channel: Channel,
        sources: Sequence[Source],
        report: Reporter,
        answer_seconds: float = ANSWER_SECONDS,
        inbox: Inbox | None = None,
        grace: float = RECONNECT_GRACE,
    ) -> None:
        super().__init__(channel, "the receiver left before the transfer finished", report, inbox, grace)
        self.sources = list(sources)
        self.answer_seconds = answer_seconds
        self._accepted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._resume: ResumeAssembly | None = None
        #: What the receiver holds already, by file: answered with file-from.
        self._claims: dict[int, ResumeEntry] = {}
        #: Hashing the blocks the receiver claims (nothing moves meanwhile).
        self._hashing = False
        # Files whose file-end went out; of them, those the receiver verified (delivered).
        self._ended_files = 0
        self.delivered = 0
        self._pumping: asyncio.Task[None] | None = None
        self.channel.bufferedAmountLowThreshold = LOW_WATER

    async def run(self) -> None:
        """Returns once every file is delivered and verified; raises PeerError otherwise."""
        await self.run_then_close(self._run())

    async def _run(self) -> None:
        self.listen()
        for part in split_manifest([source.entry for source in self.sources], resume=True):
            self.send(part)
        limit = duration(self.answer_seconds)
        await self.within(
            self.answer_seconds,
            self._accepted,
            lambda: self.cancel(
                f"the offer was not answered within {limit}",
                ErrorId.OFFER_TIMEOUT,
                Cancelled(f"the receiver did not answer the offer within {limit}"),
            ),
        )
        self.watch_for_stalls()
        self.report.started([s.entry for s in self.sources])
        self._pump_from(0, self._claims)
        # Shielded: cancelling this run must not cancel the ending, which cancel() sets.
        await asyncio.shield(self.ended)

    def _pump_from(self, first: int, claims: dict[int, ResumeEntry]) -> None:
        self._pumping = asyncio.ensure_future(self._pump(first, claims))
        self._pumping.add_done_callback(self._pump_ended)

    def _pump_ended(self, pumping: asyncio.Task[None]) -> None:
        if not pumping.cancelled() and pumping.exception() is not None:
            error = pumping.exception()
            if isinstance(error, PeerError):
                self.refuse(error)
            else:
                self.abort(PeerError(f"sending failed: {error}"))

    def paused(self) -> None:
        if self._pumping is not None:
            self._pumping.cancel()

    def release(self) -> None:
        self.paused()

    async def _pump(self, first: int, claims: dict[int, ResumeEntry]) -> None:
        """Every file from ``first`` on, one after the other, without waiting for its
        file-ok; a file the receiver holds some of is answered with file-from first."""
        for index in range(first, len(self.sources)):
            source = self.sources[index]
            try:
                with source.open() as stream:
                    hashes = BlockDigest()
                    if index in claims:
                        hashes = await self._from(index, stream, claims[index])
                    if not await self._stream(index, stream, hashes):
                        return
            except OSError as error:
                self.refuse(PeerError(f"could not read {source.name}: {error.strerror}"))
                return
            if not await self._room():
                return
            self.send({"type": "file-end", "index": index, "digest": hashes.hexdigest()})
            self._ended_files += 1

    async def _from(self, index: int, stream: BinaryIO, claim: ResumeEntry) -> BlockDigest:
        """Check the receiver's claim on this file's first blocks against our own and
        send file-from: where the bytes start (4.1, file-from). Returns the hashes of
        what the receiver keeps, with ``stream`` just after it."""
        size = self.sources[index].size
        self._hashing = True
        try:
            prefix = await asyncio.to_thread(hash_prefix, stream, size, min(claim.blocks * BLOCK_SIZE, size))
        finally:
            self._hashing = False
        held = prefix.held(size)
        own = BlockDigest(held)
        if len(held) != claim.blocks or prefix_digest(held) != claim.digest:
            own = BlockDigest()
            stream.seek(0)
        if await self._room():
            self.send({"type": "file-from", "index": index, "block": len(own.hashes)})
            self.report.advanced(index, kept_bytes(own, size), self._before(index) + kept_bytes(own, size))
        return own

    def _before(self, index: int) -> int:
        return sum(source.size for source in self.sources[:index])

    def busy(self) -> bool:
        return self._hashing

    async def _stream(self, index: int, stream: BinaryIO, hashes: BlockDigest) -> bool:
        """The file's bytes after those hashed already; False if the transfer stopped."""
        source = self.sources[index]
        before = self._before(index)
        left = source.size - kept_bytes(hashes, source.size)
        while left:
            # Read in a worker thread, a block at a time: a slow disk (or a network one)
            # must not hold up the connection's own work (ICE, SCTP) meanwhile.
            data = await asyncio.to_thread(stream.read, min(READ_SIZE, left))
            if not data:
                self.refuse(PeerError(f"{source.name} got shorter while it was being sent"))
                return False
            for start in range(0, len(data), CHUNK_SIZE):
                if not await self._room():
                    return False
                chunk = data[start : start + CHUNK_SIZE]
                self.channel.send(chunk)
                hashes.update(chunk)
                left -= len(chunk)
                self.report.carried(len(chunk))
                self.report.advanced(index, source.size - left, before + source.size - left)
        if source.size == 0:
            self.report.advanced(index, 0, before)
        return True

    async def _room(self) -> bool:
        """Wait for room to send; False if the transfer ended or the channel is lost."""
        await self.drain(HIGH_WATER)
        return not self.ended.done() and self.state == SenderState.SENDING and self.channel.readyState == "open"

    def refuse(self, error: PeerError) -> None:
        self.fail(ErrorId.READ_FAILED, error.told, error)

    def on_text(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if self.state == SenderState.OFFERING:
            self._answered(message)
        elif self.state == SenderState.RECONNECTING:
            if kind != "continue":
                raise InvalidMessage(f"expected continue on the new channel, got {kind}")
            self._continue(message)
        elif kind == "file-ok":
            self._file_ok(message["index"])
        elif kind == "done" and self.delivered == len(self.sources):
            self.finish(SenderState.DELIVERED)
        elif kind == "done":
            raise InvalidMessage(f"done after {self.delivered} of {len(self.sources)} files were verified")
        else:
            raise InvalidMessage(f"unexpected {kind} while sending")

    def _answered(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "accept" and self._resume is None:
            if message.get("resume_count") is None:
                self._start()  # a receiver that knows nothing of resuming: every file whole
                return
            self._resume = ResumeAssembly([source.entry for source in self.sources], message)
            self.reconnects = True
            self._resumed(self._resume)
        elif kind == "accept-more" and self._resume is not None:
            self._resume.add(message)
            self._resumed(self._resume)
        elif kind == "decline" and self._resume is None:
            self.finish(SenderState.DECLINED, Cancelled("the receiver declined the files"))
        else:
            raise InvalidMessage(f"expected accept or decline, got {kind}")

    def _resumed(self, resume: ResumeAssembly) -> None:
        """The resume entries, once all have come: sending starts."""
        if resume.complete:
            self._claims = resume.entries
            self._start()

    def _start(self) -> None:
        self._set_state(SenderState.SENDING)
        self._accepted.set_result(None)

    def _continue(self, message: dict[str, Any]) -> None:
        """The receiver's first word on a new channel: where it stands (4.2, item 5)."""
        index = message["index"]
        if not self.delivered <= index <= min(self._ended_files, len(self.sources) - 1):
            raise InvalidMessage(
                f"continue at file {index}, where {self.delivered} were verified and {self._ended_files} sent"
            )
        claim = ResumeEntry(index=index, blocks=message["blocks"], digest=message["digest"])
        if claim.blocks > block_count(self.sources[index].size):
            raise InvalidMessage(f"continue claims {claim.blocks} blocks of file {index}, which has fewer")
        for verified in range(self.delivered, index):
            self.report.file_done(verified, self.sources[verified].entry)
        self.delivered = self._ended_files = index
        self._set_state(SenderState.SENDING)
        self.taken_up()
        # Back to what the receiver says it kept (file-from says, once checked, if not).
        claimed = min(claim.blocks * BLOCK_SIZE, self.sources[index].size)
        self.report.advanced(index, claimed, self._before(index) + claimed)
        self.report.reconnected()
        self.watch_for_stalls()
        self._pump_from(index, {**self._claims, index: claim})

    def _file_ok(self, index: int) -> None:
        """Delivered: its file-end went out, and the receiver verified it."""
        if index != self.delivered:
            raise InvalidMessage(f"expected file-ok {self.delivered}, got file-ok {index}")
        if index >= self._ended_files:
            raise InvalidMessage(f"file-ok {index} before its file-end")
        self.report.file_done(index, self.sources[index].entry)
        self.delivered += 1


class Receiver(Transfer):
    """Takes a manifest, asks ``decide``, and writes each file through ``sink`` once verified.

    With ``resume`` (the default), what the sink holds of the offered files from an
    earlier run is offered to the sender, which sends only the rest of what matches."""

    role = "receiver"
    start = ReceiverState.WAITING_FOR_OFFER
    cancelled = ReceiverState.CANCELLED
    failed = ReceiverState.FAILED
    under_way = ReceiverState.RECEIVING
    reconnecting = ReceiverState.RECONNECTING

    def __init__(
        self,
        channel: Channel,
        sink: Sink,
        decide: Callable[[list[FileEntry]], Awaitable[bool]],
        report: Reporter,
        manifest_seconds: float = MANIFEST_SECONDS,
        inbox: Inbox | None = None,
        resume: bool = True,
        grace: float = RECONNECT_GRACE,
    ) -> None:
        super().__init__(channel, "the sender left before the transfer finished", report, inbox, grace)
        self.sink = sink
        self.decide = decide
        self.manifest_seconds = manifest_seconds
        self.resume = resume
        self.files: list[FileEntry] = []
        self._assembly = ManifestAssembly()
        self._manifest: asyncio.Future[list[FileEntry]] = asyncio.get_running_loop().create_future()
        #: The sender said it can resume (its manifest's ``resume``).
        self._offers_resume = False
        #: The leading blocks held of each file from before, by index (listed in the accept).
        self._holdings: dict[int, list[bytes]] = {}
        self._index = 0
        #: Of the current file: the hashes of what is written, its writer once open, and
        #: the blocks held of it before its bytes come, which a file-from must answer.
        self._hashes = BlockDigest()
        self._writer: FileWriter | None = None
        self._holding: list[bytes] | None = None
        self._damaged = False

    async def run(self) -> list[FileEntry] | None:
        """The files once all are verified and in place, or ``None`` if declined."""
        result: list[FileEntry] | None = await self.run_then_close(self._run())
        return result

    async def _run(self) -> list[FileEntry] | None:
        self.listen()
        limit = duration(self.manifest_seconds)
        files = await self.within(
            self.manifest_seconds,
            self._manifest,
            lambda: self.fail(
                ErrorId.NO_MANIFEST,
                f"no manifest within {limit} of the channel opening",
                ConnectionFailed(f"the sender sent no list of files within {limit}"),
            ),
        )
        resume = self._offers_resume and self.resume
        # Whatever cannot be saved is refused before the person is even asked.
        self._checked(lambda: self.sink.check(files, resume))
        self.report.offered(files)
        accepted = await self.until(self.decide(files))
        if not accepted:
            self.last_word({"type": "decline"}, ReceiverState.DECLINED)
            return None
        self.files = files
        #: Where each file starts in the whole offer: progress is reported per message.
        self._starts = list(itertools.accumulate((entry.size for entry in files), initial=0))
        if resume:
            try:
                self._holdings = await self.until(asyncio.to_thread(self.sink.holdings, files))
            except PeerError as error:
                self.refuse(error)
                self.ended.result()
        self._checked(self._open_next)
        # In the same step as accept goes out: bytes are welcome from now on, not before.
        self._set_state(ReceiverState.RECEIVING)
        if self._offers_resume:
            self.reconnects = True
            for part in split_accept(entries_of(self._holdings)):
                self.send(part)
        else:
            self.send({"type": "accept"})
        self.watch_for_stalls()
        self.report.started(files)
        await asyncio.shield(self.ended)
        return files

    def _checked(self, step: Callable[[], None]) -> None:
        """``step``, refusing the offer if this side cannot save it (then raising how it ended)."""
        try:
            step()
        except PeerError as error:
            self.refuse(error)
        if self.ended.done():
            self.ended.result()

    def refuse(self, error: PeerError) -> None:
        self.cancel(error.told, ErrorId.CANNOT_SAVE, error)

    def waits_for_peer_to_close(self) -> bool:
        return self.state == ReceiverState.RECEIVED

    def busy(self) -> bool:
        # Waiting for file-from: the sender hashes what this side claims.
        return self.state == ReceiverState.RECEIVING and self._holding is not None

    def _open_next(self) -> None:
        """The next file: opened now, or, if some of it is held, once file-from says
        from where."""
        self._hashes = BlockDigest()
        self._holding = self._holdings.get(self._index)
        if self._holding is None:
            self._writer = self.sink.open(self._index, self.files[self._index], self._hashes)

    @property
    def _received(self) -> int:
        return kept_bytes(self._hashes, self.files[self._index].size)

    def on_bytes(self, data: bytes) -> None:
        if self.state != ReceiverState.RECEIVING:
            raise InvalidMessage(self._out_of_turn("a binary message"))
        if self._holding is not None:
            raise InvalidMessage(f"expected file-from {self._index}, got a binary message")
        entry = self.files[self._index]
        if self._received + len(data) > entry.size:
            raise InvalidMessage(f"{entry.name}: more bytes than announced")
        assert self._writer is not None
        self._hashes.update(data)
        self._writer.write(data)
        self.report.carried(len(data))
        self._advanced()

    def _advanced(self, received: int | None = None) -> None:
        """Report the current file at ``received`` bytes (default: what was written)."""
        received = self._received if received is None else received
        self.report.advanced(self._index, received, self._starts[self._index] + received)

    def _out_of_turn(self, what: str) -> str:
        if self.state == ReceiverState.DECIDING:
            return DATA_BEFORE_ACCEPT
        return f"expected the manifest, got {what}"

    def on_text(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if self.state == ReceiverState.WAITING_FOR_OFFER and kind in ("manifest", "manifest-more"):
            if kind == "manifest":
                self._offers_resume = message.get("resume") is True
            files = self._assembly.add(message)
            if files is not None:
                self._set_state(ReceiverState.DECIDING)
                self._manifest.set_result(files)
        elif self.state != ReceiverState.RECEIVING:
            raise InvalidMessage(self._out_of_turn(kind))
        elif self._holding is not None:
            if kind != "file-from" or message["index"] != self._index:
                raise InvalidMessage(f"expected file-from {self._index}, got {kind}")
            self._file_from(message["block"])
        elif kind != "file-end" or message["index"] != self._index:
            raise InvalidMessage(f"expected file-end {self._index}, got {kind}")
        else:
            self._file_end(message["digest"])

    def _file_from(self, block: int) -> None:
        """Where the sender starts this file: after the blocks held (it has the same), or
        at its start (it has not)."""
        assert self._holding is not None
        if block not in (0, len(self._holding)):
            raise InvalidMessage(f"file-from {self._index} at block {block}: this side holds {len(self._holding)}")
        self._hashes = BlockDigest(self._holding if block else ())
        self._holding = None
        self.taken_up()
        if self._writer is None:
            self._writer = self.sink.open(self._index, self.files[self._index], self._hashes)
        else:
            self._writer.truncate(self._hashes)
        self._advanced()

    def _file_end(self, digest: str) -> None:
        entry = self.files[self._index]
        if self._received != entry.size or self._hashes.hexdigest() != digest:
            # A file that ends short is damaged too: what arrived is not what was sent.
            why = "its digest does not match"
            if self._received != entry.size:
                why = f"only {self._received} of its {entry.size} bytes arrived"
            self._damaged = True
            self.fail(
                ErrorId.HASH_MISMATCH,
                f"hash mismatch: {entry.name}",
                VerificationFailed(f"{entry.name} arrived damaged ({why})"),
            )
            return
        assert self._writer is not None
        self._writer.commit()
        self._writer = None
        self.send({"type": "file-ok", "index": self._index})
        self.report.file_done(self._index, entry)
        self._index += 1
        if self._index < len(self.files):
            self._open_next()
        else:
            self.last_word({"type": "done"}, ReceiverState.RECEIVED)

    def paused(self) -> None:
        """What is kept of the current file: its whole blocks (the short last one if it
        is complete); the rest comes again."""
        if self._holding is None:
            self._holding = list(self._hashes.held(self.files[self._index].size))

    def continued(self) -> None:
        assert self._holding is not None
        held = self._holding
        self._set_state(ReceiverState.RECEIVING)
        self.send({"type": "continue", "index": self._index, "blocks": len(held), "digest": prefix_digest(held)})
        self._advanced(min(len(held) * BLOCK_SIZE, self.files[self._index].size))  # back to what is kept
        self.report.reconnected()
        self.watch_for_stalls()

    def release(self) -> None:
        if self._writer is not None:
            self._writer.discard(keep=not self._damaged)
            self._writer = None
