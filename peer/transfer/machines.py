"""The transfer of docs/PROTOCOL.md section 3 over an open aiortc data channel.

The same two state machines as web/js/transfer/machines.js. Incoming messages are handled
synchronously in the channel's message callback, bytes going straight to disk and
the digest: nothing queues up in memory, and a slow disk slows the sender down
through SCTP's own flow control.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from sendit_protocol.digest import BlockDigest
from sendit_protocol.messages import PROTOCOL_VERSION, FileEntry, InvalidMessage, clip, parse_message

from ..ending import settle, unless_ended
from ..errors import Cancelled, ConnectionFailed, PeerError, VerificationFailed
from ..progress import Reporter
from ..signalling.link import Link
from .sink import FileWriter, Sink
from .source import Source

CHUNK_SIZE = 65_536
HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1024 * 1024
# Nothing moving for this long means the peer is gone. The server usually says so at
# once (peer_left); without it, ICE's consent checks would take about 30 s.
STALL_SECONDS = 10.0
# The phases before the transfer (docs/PROTOCOL.md 3.2). A sender sends its manifest the
# moment the channel opens, so one that has not within the channel-open limit never will.
MANIFEST_SECONDS = 30.0
# A person reads the offer and decides: as long as the code waited for them to join.
ANSWER_SECONDS = 600.0

T = TypeVar("T")


def duration(seconds: float) -> str:
    """``600`` -> ``10 min``, ``30`` -> ``30 s``: the words both peers use for a limit."""
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class ProtocolViolation(PeerError):
    """The other side broke docs/PROTOCOL.md; it has been told."""


def remote_end(message: dict[str, Any]) -> PeerError | None:
    """The error that a ``cancel`` or ``error`` from the other side ends the transfer with."""
    if message["type"] == "cancel":
        reason = message["reason"]
        return Cancelled(reason or "cancelled by the other side")
    if message["type"] == "error":
        text = message["message"]
        if text.startswith("hash mismatch"):
            return VerificationFailed(f"the receiver found a damaged file ({text})")
        return PeerError(f"the other side reported an error: {text}")
    return None


class Transfer:
    """What both ends share: the channel, sending text messages, and how the transfer ends."""

    def __init__(self, link: Link, closed_message: str) -> None:
        self.link = link
        self.channel = link.channel
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed_message = closed_message
        #: This side sent the message that ended the transfer (see Session.linger).
        self.told_peer = False
        self._heard = 0
        self._watch: asyncio.Task[None] | None = None
        self.channel.on("close", lambda: self.end(ConnectionFailed(closed_message)))

    def listen(self) -> None:
        """Start handling messages, those kept since the channel opened first."""
        if self.channel.readyState != "open":
            self.end(ConnectionFailed(self.closed_message))
        self.link.hand_over(self._guarded)

    def send(self, message: dict[str, Any]) -> None:
        if self.channel.readyState == "open":
            self.channel.send(json.dumps(message, separators=(",", ":")))

    def end(self, error: PeerError | None = None) -> None:
        """Finish: successfully without ``error``; the first call wins."""
        if settle(self.ended, error):
            if self._watch is not None:
                self._watch.cancel()
            self.closed()

    def watch_for_stalls(self) -> None:
        """From now until the end, fail if neither messages arrive nor sent bytes leave
        for STALL_SECONDS."""
        self._watch = asyncio.ensure_future(self._watch_for_stalls())

    async def _watch_for_stalls(self) -> None:
        while True:
            before = (self._heard, self.channel.bufferedAmount)
            await asyncio.sleep(STALL_SECONDS)
            if (self._heard, self.channel.bufferedAmount) == before:
                self.end(ConnectionFailed(f"the connection stalled: nothing moved for {STALL_SECONDS:g} s"))
                return

    def closed(self) -> None:
        """Hook: the transfer is over (release files)."""

    def last_word(self, message: dict[str, Any], error: PeerError | None = None) -> None:
        """Send the message that ends the transfer, and end it: the peer knows why."""
        if not self.ended.done():
            self.send(message)
            self.told_peer = True
            self.end(error)

    def cancel(self, reason: str) -> None:
        """Tell the other side the transfer is off, and stop."""
        self.last_word({"type": "cancel", "reason": clip(reason)}, Cancelled("the transfer was cancelled"))

    def stop(self, error: PeerError) -> None:
        """A local failure: tell the other side (what it may hear), and end with ``error``."""
        self.last_word({"type": "error", "message": clip(error.told)}, error)

    def fail(self, problem: str) -> None:
        """Tell the other side what it did wrong, and stop."""
        self.last_word({"type": "error", "message": clip(problem)}, ProtocolViolation(f"protocol error: {problem}"))

    def _guarded(self, data: bytes | str) -> None:
        if self.ended.done():
            return
        self._heard += 1
        try:
            if isinstance(data, str):
                message = parse_message(data)
                ended = remote_end(message)
                if ended:
                    self.end(ended)
                else:
                    self.on_text(message)
            else:
                self.on_bytes(data)
        except InvalidMessage as error:
            self.fail(str(error))
        except PeerError as error:
            self.stop(error)

    def on_text(self, message: dict[str, Any]) -> None:
        raise InvalidMessage(f"unexpected {message['type']}")

    def on_bytes(self, data: bytes) -> None:
        raise InvalidMessage("unexpected binary message")

    async def until(self, awaitable: Awaitable[Any]) -> Any:
        """The result of ``awaitable``, unless the transfer ends first: then how it ended."""
        return await unless_ended(awaitable, self.ended)

    async def within(self, seconds: float, awaitable: Awaitable[T], told: dict[str, Any], error: PeerError) -> T:
        """:meth:`until`, and if ``seconds`` pass first, the peer is told ``told`` and the
        transfer ends with ``error``."""
        timer = asyncio.get_running_loop().call_later(seconds, self.last_word, told, error)
        try:
            result: T = await self.until(awaitable)
            return result
        finally:
            timer.cancel()


class Sender(Transfer):
    """Offers ``sources``, streams them once accepted, and ends when the receiver says ``done``."""

    def __init__(
        self, link: Link, sources: Sequence[Source], report: Reporter, answer_seconds: float = ANSWER_SECONDS
    ) -> None:
        super().__init__(link, "the receiver left before the transfer finished")
        self.sources = list(sources)
        self.report = report
        self.answer_seconds = answer_seconds
        self._accepted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._room = asyncio.Event()
        self._verified = 0
        self.channel.bufferedAmountLowThreshold = LOW_WATER
        self.channel.on("bufferedamountlow", self._room.set)

    async def run(self) -> None:
        """Returns once every file is delivered and verified; raises PeerError otherwise."""
        self.listen()
        self.send(
            {
                "type": "manifest",
                "version": PROTOCOL_VERSION,
                "files": [{"name": s.name, "size": s.size, "type": s.type} for s in self.sources],
            }
        )
        limit = duration(self.answer_seconds)
        await self.within(
            self.answer_seconds,
            self._accepted,
            {"type": "cancel", "reason": f"the offer was not answered within {limit}"},
            Cancelled(f"the receiver did not answer the offer within {limit}"),
        )
        self.watch_for_stalls()
        self.report.started([s.entry for s in self.sources])
        await self.until(self._pump())
        # Shielded: cancelling this run must not cancel the ending, which cancel() sets.
        await asyncio.shield(self.ended)

    async def _pump(self) -> None:
        sent = 0
        for index, source in enumerate(self.sources):
            digest = BlockDigest()
            left = source.size
            try:
                with source.open() as stream:
                    while left:
                        chunk = stream.read(min(CHUNK_SIZE, left))
                        if not chunk:
                            self.stop(PeerError(f"{source.name} got shorter while it was being sent"))
                            return
                        await self._wait_for_room()
                        self.channel.send(chunk)
                        digest.update(chunk)
                        left -= len(chunk)
                        sent += len(chunk)
                        self.report.advanced(index, source.size - left, sent)
            except OSError as error:
                self.stop(PeerError(f"could not read {source.name}: {error.strerror}"))
                return
            if source.size == 0:
                self.report.advanced(index, 0, sent)
            self.send({"type": "file-end", "index": index, "digest": digest.hexdigest()})

    async def _wait_for_room(self) -> None:
        while self.channel.bufferedAmount > HIGH_WATER:
            self._room.clear()
            if self.channel.bufferedAmount > HIGH_WATER:
                await self._room.wait()
        if self.ended.done() or self.channel.readyState != "open":
            # until() reports how the transfer ended.
            raise ConnectionFailed(self.closed_message)

    def closed(self) -> None:
        self._room.set()

    def on_text(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if not self._accepted.done():
            if kind == "accept":
                self._accepted.set_result(None)
            elif kind == "decline":
                self.end(Cancelled("the receiver declined the files"))
            else:
                raise InvalidMessage(f"expected accept or decline, got {kind}")
        elif kind == "file-ok" and message["index"] == self._verified < len(self.sources):
            self.report.file_done(self._verified, self.sources[self._verified].entry)
            self._verified += 1
        elif kind == "done" and self._verified == len(self.sources):
            self.end()
        else:
            raise InvalidMessage(f"expected file-ok {self._verified}, got {kind}")


class Receiver(Transfer):
    """Takes a manifest, asks ``decide``, and writes each file through ``sink`` once verified."""

    def __init__(
        self,
        link: Link,
        sink: Sink,
        decide: Callable[[list[FileEntry]], Awaitable[bool]],
        report: Reporter,
        manifest_seconds: float = MANIFEST_SECONDS,
    ) -> None:
        super().__init__(link, "the sender left before the transfer finished")
        self.sink = sink
        self.decide = decide
        self.report = report
        self.manifest_seconds = manifest_seconds
        self.files: list[FileEntry] = []
        self._manifest: asyncio.Future[list[FileEntry]] = asyncio.get_running_loop().create_future()
        self._index = 0
        self._received = 0
        self._total = 0
        self._writer: FileWriter | None = None
        self._digest = BlockDigest()

    async def run(self) -> list[FileEntry] | None:
        """The files once all are verified and in place, or ``None`` if declined."""
        self.listen()
        limit = duration(self.manifest_seconds)
        files = await self.within(
            self.manifest_seconds,
            self._manifest,
            {"type": "error", "message": f"no manifest within {limit} of the channel opening"},
            ConnectionFailed(f"the sender sent no list of files within {limit}"),
        )
        try:
            self.sink.check(files)
        except PeerError as error:
            self.cancel(error.told)
            raise
        self.report.offered(files)
        accepted = await self.until(self.decide(files))
        if not accepted:
            self.last_word({"type": "decline"})
            return None
        # Set once accepted: from then on bytes are welcome.
        self.files = files
        try:
            self._open_next()
        except PeerError as error:
            self.stop(error)
            raise
        self.send({"type": "accept"})
        self.watch_for_stalls()
        self.report.started(files)
        await asyncio.shield(self.ended)
        return files

    def _open_next(self) -> None:
        self._digest = BlockDigest()
        self._received = 0
        self._writer = self.sink.open(self._index, self.files[self._index])

    def on_bytes(self, data: bytes) -> None:
        if not self.files:
            raise InvalidMessage("unexpected binary message")
        entry = self.files[self._index]
        if self._received + len(data) > entry.size:
            raise InvalidMessage(f"{entry.name}: more bytes than announced")
        assert self._writer is not None
        self._writer.write(data)
        self._digest.update(data)
        self._received += len(data)
        self._total += len(data)
        self.report.advanced(self._index, self._received, self._total)

    def on_text(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if not self._manifest.done() and kind == "manifest":
            self._manifest.set_result(message["files"])
            return
        if not self.files or kind != "file-end" or message["index"] != self._index:
            raise InvalidMessage(f"expected file-end {self._index}, got {kind}")
        entry = self.files[self._index]
        if self._received != entry.size:
            raise InvalidMessage(f"{entry.name}: {self._received} of {entry.size} bytes arrived")
        if self._digest.hexdigest() != message["digest"]:
            self.last_word(
                {"type": "error", "message": clip(f"hash mismatch: {entry.name}")},
                VerificationFailed(f"{entry.name} arrived damaged (its digest does not match)"),
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
            self.last_word({"type": "done"})

    def closed(self) -> None:
        if self._writer is not None:
            self._writer.discard()
            self._writer = None
