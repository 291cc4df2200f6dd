"""Two of the peer's signalling clients paired through a real server with a v2 code,
each with its handshake: what peer.signalling.link.open_link needs on either side."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, AsyncIterator

from peer.signalling.client import SignallingClient
from sendit_protocol.codes import Code, generate_words
from sendit_protocol.handshake import Handshake

TIMEOUT = 10.0


@dataclass
class Pair:
    sender: SignallingClient
    receiver: SignallingClient
    code: str
    created: dict[str, Any]
    joined: dict[str, Any]
    #: The receiver's PAKE message, as the server relayed it in peer_joined.
    peer_joined: str
    sender_handshake: Handshake
    receiver_handshake: Handshake


@contextlib.asynccontextmanager
async def paired(url: str, receiver_code: str | None = None) -> AsyncIterator[Pair]:
    """A sender holding a slot and a receiver joined to it (with the sender's code, or
    ``receiver_code`` as the receiver typed it: its words only, the slot is the sender's)."""
    sender, receiver = SignallingClient(), SignallingClient()
    await sender.connect(url)
    await receiver.connect(url)
    try:
        created = await sender.request("create", {"version": 2})
        code = Code(slot=int(created["slot"]), words=generate_words()).canonical
        typed = f"{created['slot']}-{receiver_code}" if receiver_code else code
        arrived: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        sender.on("peer_joined", lambda data: arrived.done() or arrived.set_result(data))
        receiver_handshake = Handshake("receiver", typed)
        joined = await receiver.request(
            "join", {"version": 2, "slot": created["slot"], "pake": receiver_handshake.pake}
        )
        data = await asyncio.wait_for(arrived, TIMEOUT)
        yield Pair(sender, receiver, code, created, joined, data["pake"], Handshake("sender", code), receiver_handshake)
    finally:
        await sender.close()
        await receiver.close()
