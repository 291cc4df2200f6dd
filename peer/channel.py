"""The seam between the transfer and WebRTC: what the transfer needs of a data channel.

aiortc's RTCDataChannel has it, and so has the in-memory channel of the tests
(tests/helpers/channel.py), which drives the machines with no network at all.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

Message = bytes | str
Handler = Callable[..., Any]


class Channel(Protocol):
    """An RTCDataChannel as the transfer sees it (the W3C names, as aiortc spells them).

    Events: ``message`` (with the data), ``bufferedamountlow``, ``close``."""

    bufferedAmountLowThreshold: int

    @property
    def readyState(self) -> str: ...

    @property
    def bufferedAmount(self) -> int: ...

    def send(self, data: Message) -> None: ...

    def close(self) -> None: ...

    def on(self, event: str, f: Handler) -> Any: ...

    def once(self, event: str, f: Handler) -> Any: ...

    def remove_listener(self, event: str, f: Handler) -> None: ...


class Inbox:
    """A channel's messages, kept from the moment it opens until someone takes them.

    aiortc hands out a message the moment it arrives, with nobody listening yet if the
    channel has only just opened (a browser sends its manifest on open)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.early: list[Message] = []
        channel.on("message", self.early.append)

    def hand_over(self, handler: Callable[[Message], None]) -> None:
        """From now on ``handler`` gets every message, starting with those kept so far."""
        self.channel.remove_listener("message", self.early.append)
        early, self.early = self.early, []
        for data in early:
            handler(data)
        self.channel.on("message", handler)
