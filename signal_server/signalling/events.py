"""socket.io adapter: validates each event, then asks the registry or the join policy, and relays.

All pairing logic lives in :class:`SlotRegistry` and :class:`JoinPolicy`, and the count of
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

from sendit_protocol import signals
from sendit_protocol.codes import format_slot
from sendit_protocol.errors import ErrorId, ProtocolError

from ..addresses import client_address, limit_key
from .ice import IceServers
from .joins import JoinPolicy, TooManyAttempts
from .outcomes import Outcomes
from .quotas import Quota
from .registry import (
    AlreadyPaired,
    CodeNotFound,
    CodeUsed,
    NoFreeSlot,
    NotPaired,
    Pairing,
    PeerNotConnected,
    RegistryError,
    SlotRegistry,
    TooManyOpenCodes,
)

log = logging.getLogger(__name__)

Ack = dict[str, Any]
Handler = Callable[[str, Any], Awaitable[Ack]]
#: A test's hand on the relay: given the sending member's role and a signal, the signal
#: its peer gets instead. Never set in production (no flag or variable sets it).
RelayHook = Callable[[str, dict[str, Any]], dict[str, Any]]

#: What a client is told of each refusal of the registry and the join policy: its id and
#: its words (a payload's refusal carries both itself). Clients decide on the id.
REFUSALS: dict[type[Exception], tuple[ErrorId, str]] = {
    CodeNotFound: (ErrorId.CODE_NOT_FOUND, "code not found or expired"),
    CodeUsed: (ErrorId.CODE_USED, "code already used"),
    TooManyAttempts: (ErrorId.TOO_MANY_ATTEMPTS, "too many attempts"),
    AlreadyPaired: (ErrorId.ALREADY_HOLDING, "already holding a code; leave it first"),
    TooManyOpenCodes: (ErrorId.TOO_MANY_CODES, "too many open codes"),
    NoFreeSlot: (ErrorId.NO_FREE_SLOT, "every code number is in use; try again in a few minutes"),
    NotPaired: (ErrorId.NOT_PAIRED, "not paired"),
    PeerNotConnected: (ErrorId.PEER_NOT_CONNECTED, "peer not connected"),
}
#: What a client refused a connection is told (as its CONNECT_ERROR's ``message``).
TOO_MANY_CONNECTIONS = "too many connections from your address"


Refused = ProtocolError | RegistryError | TooManyAttempts
#: The same, as ``except`` takes it.
REFUSED = (ProtocolError, RegistryError, TooManyAttempts)


def refusal(error: Refused) -> Ack:
    """The failed acknowledgement that tells a client of ``error``."""
    if isinstance(error, ProtocolError):
        return {"ok": False, "error": str(error), "error_id": str(error.error_id)}
    error_id, words = REFUSALS[type(error)]
    ack: Ack = {"ok": False, "error": words, "error_id": error_id.value}
    if isinstance(error, TooManyAttempts):
        ack["retry_after"] = error.retry_after
    return ack


class ConnectionRefused(socketio.exceptions.ConnectionRefusedError):
    """A refused connection whose CONNECT_ERROR carries an error id: python-socketio
    sends ``error_args`` as the packet's data, but builds it from a message alone."""

    def __init__(self, error_id: ErrorId, message: str) -> None:
        super().__init__(message)
        self.error_args = {"message": message, "error_id": error_id.value}


def _acknowledged(handler: Handler) -> Handler:
    """Turn a refused request into an error acknowledgement; state is left as it was."""

    @functools.wraps(handler)
    async def wrapper(sid: str, *args: Any) -> Ack:
        try:
            # An event carries one object; more arguments would make the call raise
            # TypeError, and the client would never get its acknowledgement.
            if len(args) > 1:
                raise signals.InvalidPayload("expected one object")
            return await handler(sid, args[0] if args else None)
        except REFUSED as error:
            return refusal(error)

    return wrapper


class SignallingEvents:
    """Binds the signalling events of docs/PROTOCOL.md to one socket.io server."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        registry: SlotRegistry,
        joins: JoinPolicy,
        connections: Quota,
        *,
        ice: IceServers,
        outcomes: Outcomes,
        trusted_proxies: frozenset[str],
        relay_hook: RelayHook | None = None,
    ) -> None:
        self.sio = sio
        self.registry = registry
        self.joins = joins
        self.connections = connections
        self.ice = ice
        self.outcomes = outcomes
        self.trusted_proxies = trusted_proxies
        self.relay_hook = relay_hook
        #: Each connection's address as the limits count it (see addresses.limit_key).
        self._keys: dict[str, str] = {}
        self._new_slot = asyncio.Event()
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

    @property
    def connected(self) -> int:
        """Clients connected to the namespace (each counted against its address)."""
        return len(self._keys)

    def start(self) -> None:
        """Start telling senders when their slots expire (needs a running loop)."""
        self._expiry_task = asyncio.create_task(self._expire_slots())

    async def close(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
            await asyncio.gather(self._expiry_task, return_exceptions=True)

    async def on_connect(self, sid: str, environ: dict[str, Any], _auth: Any = None) -> None:
        key = limit_key(client_address(environ.get("aiohttp.request"), self.trusted_proxies))
        if not self.connections.acquire(key):
            # The client sees this message as its CONNECT_ERROR; no disconnect follows.
            raise ConnectionRefused(ErrorId.TOO_MANY_CONNECTIONS, TOO_MANY_CONNECTIONS)
        self._keys[sid] = key

    async def on_disconnect(self, sid: str, _reason: Any = None) -> None:
        key = self._keys.pop(sid, None)
        if key is not None:
            self.connections.release(key)
        await self._leave(sid)

    async def on_create(self, sid: str, payload: Any) -> Ack:
        signals.create(payload)
        pairing = self.registry.create(sid, self._keys.get(sid, ""))
        self._new_slot.set()
        log.info("slot created for %s (%d slots held)", sid, len(self.registry))
        return {
            "ok": True,
            "slot": format_slot(pairing.slot),
            "expires_at": pairing.expires_at,
            "expires_in": pairing.expires_at - self.registry.now(),
            "ice_servers": self.ice.for_create(),
        }

    async def on_join(self, sid: str, payload: Any) -> Ack:
        # Nothing of a join is logged: a client that sent its whole code by mistake is
        # refused (the payload has no field for it), and its words go nowhere.
        try:
            join = signals.join(payload)
            pairing = self.joins.join(join.slot, sid, self._keys.get(sid, ""))
        except REFUSED as error:
            self.outcomes.join_refused(refusal(error)["error_id"])
            raise
        log.info("%s joined %s", sid, pairing.sender)
        await self.sio.emit("peer_joined", {"pake": join.pake}, to=pairing.sender)
        return {"ok": True, "ice_servers": self.ice.for_join()}

    async def on_signal(self, sid: str, payload: Any) -> Ack:
        signal = signals.signal(payload)
        pairing = self.registry.paired(sid)
        peer = pairing.relay_to(sid)
        if signal["type"] == "answer" and sid == pairing.receiver:
            pairing.answered = True
        if self.relay_hook is not None:
            signal = self.relay_hook(pairing.role_of(sid), signal)
        await self.sio.emit("signal", signal, to=peer)
        return {"ok": True}

    async def _end(self, sid: str, pairing: Pairing, event: str, data: dict[str, Any]) -> Ack:
        peer = pairing.peer_of(sid)
        # Told before the pair is ended: the peer's next signal is then refused
        # (not-paired) only after the news of why is on its way to it.
        if peer is not None:
            await self.sio.emit(event, data, to=peer)
        self.registry.end(sid)
        return {"ok": True}

    async def on_cancel(self, sid: str, payload: Any) -> Ack:
        cancel = signals.cancel(payload)
        pairing = self.registry.paired(sid)
        told = {"by": pairing.role_of(sid), "reason": cancel.reason, "error_id": cancel.error_id}
        self.joins.ended(pairing, cancel.error_id)
        return await self._end(sid, pairing, "cancelled", told)

    async def on_done(self, sid: str, payload: Any) -> Ack:
        route = signals.done(payload)
        pairing = self.registry.paired(sid)
        if not pairing.used or pairing.done:  # done with what? nobody joined, or the pair is ending
            raise NotPaired()
        # The first done ends the pair, so a pair is counted once; its peer's done is refused,
        # also while the first is still telling it (the end waits for that).
        pairing.done = True
        self.outcomes.transfer_done(route)
        self.joins.ended(pairing)
        return await self._end(sid, pairing, "done", {})

    async def on_leave(self, sid: str, payload: Any) -> Ack:
        signals.empty(payload)
        await self._leave(sid)
        return {"ok": True}

    async def _leave(self, sid: str) -> None:
        pairing = self.registry.pairing_of(sid)
        if pairing is not None and pairing.used:
            self.joins.ended(pairing)
        departure = self.registry.leave(sid)
        if departure is not None and departure.peer is not None:
            await self.sio.emit("peer_left", {"role": departure.role}, to=departure.peer)

    async def _expire_slots(self) -> None:
        while True:
            deadline = self.registry.next_deadline()
            self._new_slot.clear()
            if deadline is None:
                await self._new_slot.wait()
                continue
            try:
                await asyncio.wait_for(self._new_slot.wait(), max(0.0, deadline - self.registry.now()))
            except TimeoutError:
                pass
            for pairing in self.registry.expire():
                log.info("slot of %s expired", pairing.sender)
                if pairing.sender is not None:
                    await self.sio.emit("expired", {"slot": format_slot(pairing.slot)}, to=pairing.sender)
