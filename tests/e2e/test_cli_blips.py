"""A blip heals itself, ``sendit`` to ``sendit`` (docs/PROTOCOL.md 4.6): the test drops
every UDP packet in its own namespace (the peers' ICE and data; the signalling, over TCP,
stays up) until both sides say they are reconnecting, then lifts the rule; the sender is
paced by its file reads (tests/helpers/gated_send.py), never by sleeps."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from helpers.loopback import NO_UDP, nft_rules
from helpers.peers import CONNECTION, OK, Sendit, start
from helpers.server import RunningServer
from helpers.sessions import accepting, call, offering, pattern, until

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]

MIB = 1024 * 1024
#: Two whole blocks before the gate, and a short last block after it.
SIZE = 5 * MIB + 123
GATE = 2 * MIB
#: The stall watchdog (10 s) notices first; a reconnection attempt lasts up to 30 s, and
#: the next starts 2 s on: every wait leaves room for both, within the 60 s grace.
HEALED = 90.0


async def gated_transfer(server: str, tmp_path: Path) -> tuple[Sendit, Sendit, bytes, Path]:
    """A sender of big.bin whose reads stop at GATE, and a receiver that has some of it."""
    data = os.urandom(SIZE)
    (tmp_path / "big.bin").write_bytes(data)
    sender = await start("send", "--json", str(tmp_path / "big.bin"), server=server, gate=GATE)
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), await sender.code(), server=server)
    await receiver.event("progress")
    return sender, receiver, data, out


async def test_a_blip_heals_itself_and_only_what_was_in_flight_comes_again(
    server: RunningServer, tmp_path: Path
) -> None:
    sender, receiver, data, out = await gated_transfer(server.url, tmp_path)
    with nft_rules(NO_UDP):
        blocked = time.monotonic()
        lost = await receiver.event("reconnecting", timeout=HEALED)
        told = await sender.event("reconnecting", timeout=HEALED)
        noticed = time.monotonic() - blocked
    lifted = time.monotonic()
    await sender.release()
    assert await receiver.finish(timeout=HEALED) == OK, (receiver.events, receiver.stderr)
    assert await sender.finish(timeout=HEALED) == OK, (sender.events, sender.stderr)
    healed = time.monotonic() - lifted
    assert (out / "big.bin").read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == ["big.bin"]
    for side in (sender, receiver):
        assert side.names.count("reconnecting") == side.names.count("reconnected") == 1, side.names
        assert side.names[-1] == "done"
    # The receiver kept its whole blocks; the sender went on from there.
    kept = next(e for e in receiver.events if e["event"] == "reconnected")["bytes"]
    assert kept == lost["bytes"] - lost["bytes"] % MIB, (lost, kept)
    assert next(e for e in sender.events if e["event"] == "reconnected")["bytes"] == kept
    # Everything crossed once, but for what had arrived of a block not whole (the
    # receiver's) and what had not arrived at all (the sender's, up to the gate).
    assert receiver.events[-1]["wire_bytes"] == SIZE + lost["bytes"] - kept
    assert told["bytes"] == GATE
    assert sender.events[-1]["wire_bytes"] == SIZE + GATE - kept
    print(f"\nblip: both reconnecting {noticed:.1f} s after the drop, done {healed:.1f} s after the lift")


async def test_a_peer_killed_while_reconnecting_ends_the_other_at_once(server: RunningServer, tmp_path: Path) -> None:
    """The server's word that the peer left ends the wait for a reconnection: no grace."""
    sender, receiver, data, out = await gated_transfer(server.url, tmp_path)
    with nft_rules(NO_UDP):
        await receiver.event("reconnecting", timeout=HEALED)
        await sender.event("reconnecting", timeout=HEALED)
        receiver.signal(signal.SIGKILL)
        killed = time.monotonic()
        assert await sender.finish(timeout=HEALED) == CONNECTION
        ended = time.monotonic() - killed
    assert sender.error == "the receiver left before the transfer finished"
    assert ended < 10, ended
    await receiver.finish()
    # What had come is kept for resuming.
    assert sorted(p.name for p in out.iterdir()) == ["big.bin.part", "big.bin.part.sendit"]


# --- the same blip between ``sendit`` and a page: a real SendSession or ReceiveSession in
# Chromium (tests/web/harness/sessions.js), paced by its own gate when it sends

#: Chromium calls a connection whose packets are all dropped failed after some 30 s.
PAGE_FAILED_MS = 90_000


async def test_a_blip_heals_python_to_the_page(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    (tmp_path / "big.bin").write_bytes(data)
    sender = await start("send", "--json", str(tmp_path / "big.bin"), server=server.url, gate=GATE)
    receiver = await accepting(await new_person(), server.url, await sender.code())
    held = await call(receiver, "untilBytes", {"key": "fileBytes", "bytes": GATE})
    assert held["last"]["fileBytes"] == GATE, held
    with nft_rules(NO_UDP):
        await sender.event("reconnecting", timeout=HEALED)
        await until(receiver, "reconnecting", ms=PAGE_FAILED_MS)
    await sender.release()
    received = await until(receiver, "received", ms=PAGE_FAILED_MS)
    assert await sender.finish(timeout=HEALED) == OK, (sender.events, sender.stderr)
    assert received["files"] == [
        {"index": 0, "name": "big.bin", "size": SIZE, "sha256": hashlib.sha256(data).hexdigest()}
    ]
    assert received["phases"][-4:] == ["receiving", "reconnecting", "receiving", "received"]
    # The page held the two blocks before the gate: every byte crossed once.
    assert sender.events[-1]["wire_bytes"] == SIZE
    assert received["last"]["receivedBytes"] == SIZE


async def test_a_blip_heals_the_page_to_python(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    spec = {"name": "big.bin", "size": SIZE, "seed": 7}
    sender, code = await offering(await new_person(), server.url, [spec], gateAt=GATE)
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), code, server=server.url)
    await receiver.event("progress")
    with nft_rules(NO_UDP):
        lost = await receiver.event("reconnecting", timeout=HEALED)
        await until(sender, "reconnecting", ms=PAGE_FAILED_MS)
    await call(sender, "release")
    assert await receiver.finish(timeout=HEALED) == OK, (receiver.events, receiver.stderr)
    delivered = await until(sender, "delivered", ms=PAGE_FAILED_MS)
    assert (out / "big.bin").read_bytes() == pattern(spec)
    assert delivered["phases"][-4:] == ["sending", "reconnecting", "sending", "delivered"]
    kept = next(e for e in receiver.events if e["event"] == "reconnected")["bytes"]
    assert kept == lost["bytes"] - lost["bytes"] % MIB, (lost, kept)
    assert receiver.events[-1]["wire_bytes"] == SIZE + lost["bytes"] - kept
