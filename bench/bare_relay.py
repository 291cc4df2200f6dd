"""The signalling benchmark's baseline: a bare python-socketio relay.

``python -m bench.bare_relay --host 127.0.0.1 --port PORT`` serves the events the
benchmark uses (``create``, ``join``, ``signal``, ``leave``) with acknowledgements of
the same shape as SendIt's server in protocol 2 (docs/PROTOCOL.md section 2: a random
free slot from ``create``, ``peer_joined`` carrying the ``join``'s PAKE message,
signals relayed as sent), and nothing more: no payload validation (not even of the
version), no registry object, no failed-join limit, no expiry, no logging.
Its socket.io server takes our settings (``SOCKETIO_SETTINGS`` of
``signal_server.signalling.transport``), without our checks, and is served by aiohttp's
``web.run_app`` on the same event loop as ours (uvloop when installed), so the
comparison isolates what our server adds on top of the library.

It announces readiness like ``python -m signal_server``: one line on standard error
naming ``http://HOST:PORT/`` once the socket listens.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from typing import Any, Sequence

import socketio
from aiohttp import web

from signal_server.__main__ import event_loop
from signal_server.signalling.transport import SOCKETIO_SETTINGS

#: Same lifetime as the real server's default; only reported, never enforced.
CODE_TTL = 600.0
#: Slots 1..SLOTS, as ours (PROTOCOL.md 1).
SLOTS = 9999


class BareRelay:
    """The relay: three dicts and an emit."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.waiting: dict[str, str] = {}  # slot -> sender sid
        self.held: dict[str, str] = {}  # sender sid -> its waiting slot
        self.peers: dict[str, str] = {}  # sid -> the other member's sid
        for event in ("create", "join", "signal", "leave", "disconnect"):
            sio.on(event, getattr(self, event))

    async def create(self, sid: str, _payload: Any = None) -> dict[str, Any]:
        if len(self.waiting) >= SLOTS:
            return {"ok": False, "error": "every code number is in use", "error_id": "no-free-slot"}
        # A random free slot, as ours picks one; drawing again on a taken one stays cheap
        # while most slots are free, as they are at the benchmark's N.
        slot = str(secrets.randbelow(SLOTS) + 1)
        while slot in self.waiting:
            slot = str(secrets.randbelow(SLOTS) + 1)
        self.waiting[slot] = sid
        self.held[sid] = slot
        now = time.time()
        return {"ok": True, "slot": slot, "expires_at": now + CODE_TTL, "expires_in": CODE_TTL, "ice_servers": []}

    async def join(self, sid: str, payload: Any = None) -> dict[str, Any]:
        slot = payload.get("slot") if isinstance(payload, dict) else None
        sender = self.waiting.pop(slot, None) if isinstance(slot, str) else None
        if sender is None:
            return {"ok": False, "error": "code not found or expired", "error_id": "code-not-found"}
        self.held.pop(sender, None)
        self.peers[sender] = sid
        self.peers[sid] = sender
        await self.sio.emit("peer_joined", {"pake": payload.get("pake")}, to=sender)
        return {"ok": True, "ice_servers": []}

    async def signal(self, sid: str, payload: Any = None) -> dict[str, Any]:
        peer = self.peers.get(sid)
        if peer is None:
            return {"ok": False, "error": "not paired", "error_id": "not-paired"}
        await self.sio.emit("signal", payload, to=peer)
        return {"ok": True}

    async def forget(self, sid: str) -> None:
        slot = self.held.pop(sid, None)
        if slot is not None:
            self.waiting.pop(slot, None)
        peer = self.peers.pop(sid, None)
        if peer is not None:
            self.peers.pop(peer, None)
            await self.sio.emit("peer_left", {"role": "sender"}, to=peer)

    async def leave(self, sid: str, _payload: Any = None) -> dict[str, Any]:
        await self.forget(sid)
        return {"ok": True}

    async def disconnect(self, sid: str, _reason: Any = None) -> None:
        await self.forget(sid)


def create_app() -> web.Application:
    app = web.Application()
    # The same AsyncServer settings as ours: the difference between the two servers must
    # be our code, not the library's configuration.
    sio = socketio.AsyncServer(**SOCKETIO_SETTINGS)
    sio.attach(app)
    BareRelay(sio)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_relay", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    def announce(_message: str) -> None:
        print(f"bare relay on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)

    web.run_app(create_app(), host=args.host, port=args.port, print=announce, access_log=None, loop=event_loop())


if __name__ == "__main__":
    main()
