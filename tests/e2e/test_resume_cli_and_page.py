"""Resuming after a real break between the ``sendit`` command and a page (docs/PROTOCOL.md
4.6): the CLI keeps ``NAME.part`` and its sidecar, the page its partial in this browser's
storage (web/js/transfer/store/opfs.js); the same file offered again under a new code
crosses only in part (the CLI's ``done`` event counts ``wire_bytes``), and a partial of
other bytes gets the whole file. The page side runs a real session through
tests/web/harness/sessions.js."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from helpers.peers import CONNECTION, OK, start
from helpers.server import RunningServer
from helpers.sessions import accepting, call, offering, pattern, until

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]

MiB = 1024 * 1024
SIZE = 12 * MiB + 5
GATE = 2 * MiB
#: Longer than Chromium takes to find a silent connection lost (some 15 s here),
#: shorter than that and a reconnection's grace (60 s).
LOST_MS = 45_000


def spec(seed: int) -> dict[str, Any]:
    return {"name": "big.bin", "size": SIZE, "seed": seed}


@pytest.mark.parametrize("again", ["the same file", "other bytes"])
async def test_a_page_resumes_to_the_cli(server: RunningServer, new_person: Person, tmp_path: Path, again: str) -> None:
    first = await new_person()
    _, code = await offering(first, server.url, [spec(1)], gateAt=GATE)
    out = tmp_path / "out"
    receiver = await start("receive", "--json", "--yes", "-o", str(out), code, server=server.url)
    # The page's reads wait at the gate: the CLI, once nothing has moved for a while,
    # holds all that was sent, and says it reconnects. Then the page goes away.
    await receiver.event("reconnecting")
    await first.close()
    assert await receiver.finish() == CONNECTION, receiver.events
    held = len(json.loads((out / "big.bin.part.sendit").read_text())["blocks"])
    assert held == GATE // MiB

    file = spec(1 if again == "the same file" else 2)
    sender, code = await offering(await new_person(), server.url, [file])
    receiver = await start("receive", "--json", "--yes", "-o", str(out), code, server=server.url)
    assert await receiver.finish() == OK, receiver.events
    delivered = await until(sender, "delivered")
    assert sorted(p.name for p in out.iterdir()) == ["big.bin"]
    assert (out / "big.bin").read_bytes() == pattern(file)
    kept = GATE if again == "the same file" else 0
    assert receiver.events[-1]["wire_bytes"] == SIZE - kept, receiver.events[-1]
    assert (delivered["last"]["heldBytes"], delivered["last"]["sentBytes"]) == (kept, SIZE - kept)


@pytest.mark.parametrize("again", ["the same file", "other bytes"])
async def test_the_cli_resumes_to_a_page(server: RunningServer, new_person: Person, tmp_path: Path, again: str) -> None:
    original = pattern(spec(1))
    (tmp_path / "big.bin").write_bytes(original)
    person = await new_person()
    sender = await start("send", "--json", str(tmp_path / "big.bin"), server=server.url)
    receiver = await accepting(person, server.url, await sender.code(), store="opfs")
    await call(receiver, "untilBytes", {"key": "fileBytes", "bytes": GATE})
    sender.signal(signal.SIGKILL)
    await sender.finish()
    # The server said the sender left: once the page finds the connection lost, it fails at once.
    failed = await until(receiver, "failed", ms=LOST_MS)
    assert failed["details"]["failed"]["errorId"] == "peer-left", failed["details"]["failed"]
    held = failed["last"]["fileBytes"] // MiB * MiB
    assert GATE <= held < SIZE
    await receiver.close()

    if again == "other bytes":
        (tmp_path / "big.bin").write_bytes(pattern(spec(2)))
    sender = await start("send", "--json", str(tmp_path / "big.bin"), server=server.url)
    receiver = await accepting(person, server.url, await sender.code(), store="opfs")
    received = await until(receiver, "received")
    assert await sender.finish() == OK, sender.events
    kept = held if again == "the same file" else 0
    assert sender.events[-1]["wire_bytes"] == SIZE - kept, sender.events[-1]
    assert received["last"]["receivedBytes"] == SIZE - kept
    [saved] = received["files"]
    assert saved["sha256"] == hashlib.sha256((tmp_path / "big.bin").read_bytes()).hexdigest()
