"""An in-memory data channel pair: the transfer machines without a network.

Each end behaves as an RTCDataChannel does for the machines (peer.channel.Channel):
``send`` queues a message and counts it in ``bufferedAmount`` until it is delivered, in
order, on a later turn of the event loop; ``bufferedamountlow`` fires when delivery
crosses ``bufferedAmountLowThreshold``; ``close`` delivers what is queued first (as a
stream reset does), then both ends close. :meth:`FakeChannel.hold` keeps messages queued,
as a congested link would, until :meth:`FakeChannel.release`.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any, Callable

Message = bytes | str
Handler = Callable[..., Any]


class InvalidStateError(Exception):
    """Sending on a channel that is not open (aiortc raises its own of this name)."""


def size_of(data: Message) -> int:
    return len(data.encode("utf-8")) if isinstance(data, str) else len(data)


class FakeChannel:
    def __init__(self, label: str = "sendit", ordered: bool = True, max_retransmits: int | None = None) -> None:
        self.label = label
        self.ordered = ordered
        self.maxRetransmits = max_retransmits
        self.maxPacketLifeTime: int | None = None
        self.readyState = "open"
        self.bufferedAmount = 0
        self.bufferedAmountLowThreshold = 0
        self.peer: FakeChannel | None = None
        self.sent: list[Message] = []
        self._queue: deque[Message] = deque()
        self._delivered = 0
        self._limit: int | None = None
        self._scheduled = False
        self._listeners: dict[str, list[tuple[Handler, bool]]] = {}

    # Events, as pyee's (which aiortc uses) are called.
    def on(self, event: str, f: Handler) -> Handler:
        self._listeners.setdefault(event, []).append((f, False))
        return f

    def once(self, event: str, f: Handler) -> Handler:
        self._listeners.setdefault(event, []).append((f, True))
        return f

    def remove_listener(self, event: str, f: Handler) -> None:
        listeners = self._listeners.get(event, [])
        for entry in listeners:
            if entry[0] == f:
                listeners.remove(entry)
                return

    def emit(self, event: str, *args: Any) -> None:
        listeners = self._listeners.get(event, [])
        for entry in list(listeners):
            if entry[1]:
                listeners.remove(entry)
            entry[0](*args)

    def send(self, data: Message) -> None:
        if self.readyState != "open":
            raise InvalidStateError(f"the channel is {self.readyState}")
        if not isinstance(data, (bytes, str)):
            raise ValueError(f"cannot send {type(data)}")
        self.sent.append(data)
        self._queue.append(data)
        self.bufferedAmount += size_of(data)
        self._schedule()

    def hold(self, after: int = 0) -> None:
        """Let through what was sent so far and the next ``after`` messages; keep the rest
        queued (counted in bufferedAmount) until :meth:`release`."""
        self._limit = len(self.sent) + after

    def release(self) -> None:
        self._limit = None
        self._schedule()

    def close(self) -> None:
        """Both ends stop taking new messages; what either had queued is delivered, then
        both are closed (as a stream reset answered by the other side)."""
        for end in (self, self.peer):
            if end is not None and end.readyState == "open":
                end.readyState = "closing"
                end._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._deliver_one)

    def _deliver_one(self) -> None:
        """One message a turn of the loop, as they come off a network."""
        self._scheduled = False
        if self._limit is not None and self._delivered >= self._limit:
            return
        if self._queue:
            data = self._queue.popleft()
            self._delivered += 1
            before = self.bufferedAmount
            self.bufferedAmount -= size_of(data)
            if before > self.bufferedAmountLowThreshold >= self.bufferedAmount:
                self.emit("bufferedamountlow")
            if self.peer is not None:
                self.peer.emit("message", data)
        if self._queue:
            self._schedule()
        elif self.readyState == "closing" and (self.peer is None or not self.peer._queue):
            for end in (self, self.peer):
                if end is not None and end.readyState != "closed":
                    end.readyState = "closed"
                    end.emit("close")


def channel_pair() -> tuple[FakeChannel, FakeChannel]:
    """Two connected ends: what one sends, the other receives."""
    a, b = FakeChannel(), FakeChannel()
    a.peer, b.peer = b, a
    return a, b


class FarEnd:
    """A test's hand on the other end of a pair: what it sends reaches the machine at
    once, in this very step (as a transcript's ``in``); what the machine sends is
    read back in order."""

    def __init__(self, end: FakeChannel) -> None:
        assert end.peer is not None
        self.end = end
        self.near = end.peer
        self.received: asyncio.Queue[Any] = asyncio.Queue()
        end.on("message", lambda data: self.received.put_nowait(json.loads(data) if isinstance(data, str) else data))

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        """Deliver ``message`` (a dict is sent as JSON) to the machine now."""
        data = json.dumps(message) if isinstance(message, dict) else message
        self.near.emit("message", data)

    async def next(self, timeout: float = 10.0) -> Any:
        """The machine's next message: a dict for text, bytes for binary."""
        return await asyncio.wait_for(self.received.get(), timeout)

    async def next_text(self, timeout: float = 10.0) -> dict[str, Any]:
        """The machine's next text message, skipping file bytes."""
        while isinstance(message := await self.next(timeout), bytes):
            pass
        return message

    def close(self) -> None:
        self.end.close()

    @property
    def closed(self) -> bool:
        return self.end.readyState == "closed"


def far_end() -> tuple[FakeChannel, FarEnd]:
    """The machine's end of a pair, and the test's hand on the other."""
    near, far = channel_pair()
    return near, FarEnd(far)
