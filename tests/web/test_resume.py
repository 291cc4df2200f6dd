"""Resuming after a real break, page to page (docs/PROTOCOL.md 4.6): the sender's page
goes away mid-transfer; a new sender page offers the same file under a new code; the
receiver, in the same browser (so the same origin-private storage, web/js/transfer/
store/opfs.js), takes up its partial and only the rest crosses. Sessions run through
tests/web/harness/sessions.js; the first sender is paced by its file's reads (a gate)."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from helpers.server import RunningServer
from helpers.sessions import accepting, call, offering, sha256, until

Person = Callable[[], Awaitable[Any]]

MiB = 1024 * 1024
#: Big enough that a resume is plain to see; its last block short.
FILE = {"name": "resume/big.bin", "size": 12 * MiB + 5, "seed": 3}
GATE = 2 * MiB
#: Longer than Chromium takes to find a silent connection lost, shorter than that and
#: the grace of a reconnection.
LOST_MS = 45_000


async def test_a_new_sender_page_sends_only_what_the_receiver_does_not_hold(
    server: RunningServer, new_person: Person
) -> None:
    person = await new_person()
    first = await new_person()
    _, code = await offering(first, server.url, [FILE], gateAt=GATE)
    receiver = await accepting(person, server.url, code, store="opfs")
    held = await call(receiver, "untilBytes", {"key": "fileBytes", "bytes": GATE})
    assert held["last"]["fileBytes"] == GATE, held
    # The sender's page goes away, and nothing tells the receiver's channel: it finds the
    # connection lost when ICE gives up (some 15 s here). The server said at once that
    # the sender left, so it does not then wait out a reconnection's grace (60 s).
    await first.close()
    failed = await until(receiver, "failed", ms=LOST_MS)
    assert failed["details"]["failed"]["errorId"] == "peer-left", failed["details"]["failed"]
    assert failed["files"] == []
    await receiver.close()

    sender, code = await offering(await new_person(), server.url, [FILE])
    receiver = await accepting(person, server.url, code, store="opfs")
    received = await until(receiver, "received")
    delivered = await until(sender, "delivered")
    assert received["files"] == [{"index": 0, "name": FILE["name"], "size": FILE["size"], "sha256": sha256(FILE)}]
    # The two blocks held did not cross again; all the rest did, once.
    assert delivered["last"]["heldBytes"] == GATE
    assert delivered["last"]["sentBytes"] == FILE["size"] - GATE
    assert received["last"]["receivedBytes"] == FILE["size"] - GATE
