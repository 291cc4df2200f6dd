"""socket.io adapter: validates each event, then asks the registry or the join policy, and relays.

All pairing logic lives in :class:`CodeRegistry` and :class:`JoinPolicy`, and the count of
connections per address in a :class:`Quota`, all handed in (built in ``app.create_app``);
this module only turns events into their calls, and their answers into acknowledgements,
refusals and notifications.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Awaitable, Callable

import socketio

from ..addresses import client_address, limit_key
from . import payloads
from .codes import format_code
from .joins import JoinPolicy, TooManyAttempts
from .quotas import Quota
from .registry import CodeRegistry, Pairing, RegistryError

log = logging.getLogger(__name__)

Ack = dict[str, Any]
#: What a client refused a connection is told.
TOO_MANY_CONNECTIONS = "too many connections from your address"
Handler = Callable[[str, Any], Awaitable[Ack]]


def _acknowledged(handler: Handler) -> Handler:
    """Turn a refused request into an error acknowledgement; state is left as it was."""

    @functools.wraps(handler)
    async def wrapper(sid: str, *args: Any) -> Ack:
        try:
            # An event carries one object; more arguments would make the call raise
            # TypeError, and the client would never get its acknowledgement.
            if len(args) > 1:
                raise payloads.InvalidPayload("expected one object")
            return await handler(sid, args[0] if args else None)
        except TooManyAttempts as error:
            return {"ok": False, "error": str(error), "retry_after": error.retry_after}
        except (payloads.InvalidPayload, RegistryError) as error:
            return {"ok": False, "error": str(error)}

    return wrapper


class SignallingEvents:
    """Binds the signalling events of docs/PROTOCOL.md to one socket.io server."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        registry: CodeRegistry,
        joins: JoinPolicy,
        connections: Quota,
        *,
        ice_servers: list[dict[str, Any]],
        trusted_proxies: frozenset[str],
    ) -> None:
        self.sio = sio
        self.registry = registry
        self.joins = joins
        self.connections = connections
        self.ice_servers = ice_servers
        self.trusted_proxies = trusted_proxies
        #: Each connection's address as the limits count it (see addresses.limit_key).
        self._keys: dict[str, str] = {}
        self._new_code = asyncio.Event()
        self._expiry_task: asyncio.Task[None] | None = None
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        for event, handler in {
            "create": self.on_create,
            "join": self.on_join,
            "signal": self.on_signal,
            "cancel": self.on_cancel,
            "done": self.on_done,
            "leave": self.on_leave,
        }.items():
            sio.on(event, _acknowledged(handler))

    def start(self) -> None:
        """Start telling senders when their codes expire (needs a running loop)."""
        self._expiry_task = asyncio.create_task(self._expire_codes())

    async def close(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
            await asyncio.gather(self._expiry_task, return_exceptions=True)

    async def on_connect(self, sid: str, environ: dict[str, Any], _auth: Any = None) -> None:
        key = limit_key(client_address(environ.get("aiohttp.request"), self.trusted_proxies))
        if not self.connections.acquire(key):
            # The client sees this message as its CONNECT_ERROR; no disconnect follows.
            raise socketio.exceptions.ConnectionRefusedError(TOO_MANY_CONNECTIONS)
        self._keys[sid] = key

    async def on_disconnect(self, sid: str, _reason: Any = None) -> None:
        key = self._keys.pop(sid, None)
        if key is not None:
            self.connections.release(key)
        await self._leave(sid)

    async def on_create(self, sid: str, payload: Any) -> Ack:
        payloads.empty(payload)
        pairing = self.registry.create(sid, self._keys.get(sid, ""))
        self._new_code.set()
        # Codes are secrets until used: never logged.
        log.info("code created for %s (%d codes held)", sid, len(self.registry))
        return {
            "ok": True,
            "code": format_code(pairing.code),
            "expires_at": pairing.expires_at,
            "expires_in": pairing.expires_at - self.registry.now(),
            "ice_servers": self.ice_servers,
        }

    async def on_join(self, sid: str, payload: Any) -> Ack:
        text = payloads.join_code(payload)
        pairing = self.joins.join(text, sid, self._keys.get(sid, ""))
        log.info("%s joined %s", sid, pairing.sender)
        await self.sio.emit("peer_joined", {}, to=pairing.sender)
        return {"ok": True, "code": format_code(pairing.code), "ice_servers": self.ice_servers}

    def _paired(self, sid: str) -> Pairing:
        pairing = self.registry.pairing_of(sid)
        if pairing is None:
            raise RegistryError("not paired")
        return pairing

    async def on_signal(self, sid: str, payload: Any) -> Ack:
        signal = payloads.signal(payload)
        pairing = self._paired(sid)
        if not pairing.used:  # a sender whose code nobody has joined yet
            raise RegistryError("not paired")
        peer = pairing.peer_of(sid)
        if peer is None:
            raise RegistryError("peer not connected")
        await self.sio.emit("signal", signal, to=peer)
        return {"ok": True}

    async def _end(self, sid: str, event: str, data: dict[str, Any]) -> Ack:
        pairing = self._paired(sid)
        peer = pairing.peer_of(sid)
        self.registry.end(sid)
        if peer is not None:
            await self.sio.emit(event, data, to=peer)
        return {"ok": True}

    async def on_cancel(self, sid: str, payload: Any) -> Ack:
        reason = payloads.cancel_reason(payload)
        role = self._paired(sid).role_of(sid)
        return await self._end(sid, "cancelled", {"by": role, "reason": reason})

    async def on_done(self, sid: str, payload: Any) -> Ack:
        payloads.empty(payload)
        return await self._end(sid, "done", {})

    async def on_leave(self, sid: str, payload: Any) -> Ack:
        payloads.empty(payload)
        await self._leave(sid)
        return {"ok": True}

    async def _leave(self, sid: str) -> None:
        departure = self.registry.leave(sid)
        if departure is not None and departure.peer is not None:
            await self.sio.emit("peer_left", {"role": departure.role}, to=departure.peer)

    async def _expire_codes(self) -> None:
        while True:
            deadline = self.registry.next_deadline()
            self._new_code.clear()
            if deadline is None:
                await self._new_code.wait()
                continue
            try:
                await asyncio.wait_for(self._new_code.wait(), max(0.0, deadline - self.registry.now()))
            except TimeoutError:
                pass
            for pairing in self.registry.expire():
                log.info("code of %s expired", pairing.sender)
                if pairing.sender is not None:
                    await self.sio.emit("expired", {"code": format_code(pairing.code)}, to=pairing.sender)
