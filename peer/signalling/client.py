"""The peer's side of the signalling server (docs/PROTOCOL.md section 2)."""

from __future__ import annotations

import contextlib
import ssl
from typing import Any, Awaitable, Callable

import socketio

from sendit_protocol.errors import ErrorId

from ..errors import CodeRefused, ConnectionFailed
from .tls import unverified

REQUEST_TIMEOUT = 15.0
#: Refusals of a code: exit code 3 (the rest are the server refusing, exit code 4).
_CODE_ERRORS = frozenset({ErrorId.CODE_NOT_FOUND, ErrorId.CODE_USED, ErrorId.TOO_MANY_ATTEMPTS})
SERVER_EVENTS = ("peer_joined", "signal", "peer_left", "cancelled", "done", "expired", "disconnect")


class ServerRefused(ConnectionFailed):
    """The server answered a request with an error; ``error_id`` says which."""


class SignallingClient:
    """One socket.io connection: requests with acknowledgements, and server events.

    Server events go to plain callbacks registered with :meth:`on`, in the order the
    server sent them; a lost connection is the event ``disconnect``. An event that
    arrives before anyone listens for it is kept for the first who does: a browser's
    offer can follow the join acknowledgement closely.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        # The CLI handles Ctrl-C itself: it tells the other side before disconnecting.
        # engineio hands ``websocket_extra_options`` to aiohttp's ws_connect, whose
        # ``ssl`` is the context to verify the server with (None: the system's CAs).
        extra = {} if tls is None else {"ssl": tls}
        self._sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, websocket_extra_options=extra)
        self._handlers: dict[str, list[Callable[[Any], None]]] = {name: [] for name in SERVER_EVENTS}
        self._unheard: dict[str, list[Any]] = {name: [] for name in SERVER_EVENTS}
        for name in SERVER_EVENTS:
            self._sio.on(name, self._dispatcher(name))
        # python-socketio reports a refused connection without the server's words.
        self._refusal: str | None = None
        self._sio.on("connect_error", self._refused)

    def _refused(self, data: Any = None) -> None:
        # The server's CONNECT_ERROR carries an object; python-socketio reports a server it
        # could not reach through the same event, with a bare string of its own.
        message = data.get("message") if isinstance(data, dict) else None
        self._refusal = str(message) if message else None

    def _dispatcher(self, name: str) -> Callable[..., Awaitable[None]]:
        async def dispatch(data: Any = None) -> None:
            if not self._handlers[name]:
                self._unheard[name].append(data)
            for handler in list(self._handlers[name]):
                handler(data)

        return dispatch

    def on(self, name: str, handler: Callable[[Any], None]) -> None:
        """Call ``handler(data)`` for every ``name`` event from now on, and for those
        that arrived while nobody listened."""
        self._handlers[name].append(handler)
        unheard, self._unheard[name] = self._unheard[name], []
        for data in unheard:
            handler(data)

    async def connect(self, server: str) -> None:
        try:
            await self._sio.connect(server, transports=["websocket"], wait_timeout=REQUEST_TIMEOUT)
        except socketio.exceptions.ConnectionError as error:
            await self.close()  # engineio keeps its aiohttp session open otherwise
            if self._refusal is not None:
                raise ServerRefused(f"the SendIt server at {server} refused the connection: {self._refusal}") from None
            reason = unverified(error)
            if reason is not None:
                raise ConnectionFailed(
                    f"could not verify the SendIt server at {server}: {reason} "
                    "(if it has a certificate of a private CA, give the CA with --ca-file FILE)"
                ) from None
            raise ConnectionFailed(f"could not reach the SendIt server at {server} ({error})") from None

    @property
    def connected(self) -> bool:
        return self._sio.connected

    async def request(self, event: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Emit ``event`` and return its acknowledgement; an error acknowledgement raises."""
        try:
            ack = await self._sio.call(event, payload or {}, timeout=REQUEST_TIMEOUT)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            raise ConnectionFailed("the SendIt server did not answer") from None
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            raise refusal(event, ack if isinstance(ack, dict) else {})
        return ack

    async def tell(self, event: str, payload: dict[str, Any] | None = None) -> None:
        """Best-effort :meth:`request` at the end of a run, when a failure changes nothing."""
        if self.connected:
            with contextlib.suppress(ConnectionFailed):
                await self.request(event, payload)

    async def close(self) -> None:
        await self._sio.disconnect()


def refusal(event: str, ack: dict[str, Any]) -> CodeRefused | ServerRefused:
    """The error for a failed acknowledgement: decided on its ``error_id``; its words
    (the server's, shown neutralised) say why."""
    error_id = ack.get("error_id")
    error_id = error_id if isinstance(error_id, str) else None
    message = str(ack.get("error") or "the server gave no answer")
    if error_id in _CODE_ERRORS:
        retry_after = ack.get("retry_after")
        if error_id == ErrorId.TOO_MANY_ATTEMPTS and type(retry_after) is int:
            message += f": wait {retry_after} s before trying another code"
        return CodeRefused(message, error_id=error_id)
    return ServerRefused(f"the server refused {event}: {message}", error_id=error_id)
