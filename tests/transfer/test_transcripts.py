"""The shared transfer transcripts (docs/protocol-vectors.json, section ``transcripts``)
against peer/transfer/machines.py, over the in-memory channel pair: no network.

The format is the section's ``_about``; tests/helpers/transcripts.py reads its shorthand.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from helpers.channel import channel_pair
from helpers.sinks import MemorySink
from helpers.transcripts import CASES, WAIT_SECONDS, bytes_of, content, holdings, kind, matches, offered, text_of
from peer.errors import PeerError
from peer.progress import Reporter
from peer.transfer.machines import ANSWER_SECONDS, MANIFEST_SECONDS, Receiver, Sender
from peer.transfer.source import Source
from sendit_protocol.messages import MAX_MESSAGE, FileEntry


class Mismatch(AssertionError):
    pass


class Run:
    """One case: the machine on one end of a pair, the case's steps on the other."""

    def __init__(self, case: dict[str, Any], folder: Path) -> None:
        self.case = case
        self.outputs: asyncio.Queue[bytes | str] = asyncio.Queue()
        self.connect()
        self.asked = asyncio.Event()
        self.answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.lost = asyncio.Event()
        self.sink = MemorySink(holdings(case))
        limits = case.get("limits", {})
        self.machine: Sender | Receiver
        if case["role"] == "sender":
            sources = [_source(folder, index, file) for index, file in enumerate(offered(case))]
            self.machine = Sender(self.near, sources, Reporter(), limits.get("answer_seconds", ANSWER_SECONDS))
        else:
            self.machine = Receiver(
                self.near, self.sink, self.person, Reporter(), limits.get("manifest_seconds", MANIFEST_SECONDS)
            )
        self.machine.on_lost = self.lost.set

    def connect(self) -> None:
        """A new channel pair: the machine's end, and the case's."""
        self.near, self.far = channel_pair()
        self.far.on("message", self.outputs.put_nowait)
        self.closed = asyncio.Event()
        self.near.on("close", self.closed.set)

    async def person(self, files: list[FileEntry]) -> bool:
        self.asked.set()
        return await self.answer

    async def play(self) -> None:
        running = asyncio.ensure_future(self.machine.run())
        try:
            for number, step in enumerate(self.case["steps"]):
                where = f"step {number} ({json.dumps(step)[:120]})"
                try:
                    await self.step(kind(step), step)
                except (Mismatch, TimeoutError) as problem:
                    raise Mismatch(f"{self.case['name']}: {where}: {problem or 'timed out'}") from None
            await asyncio.wait_for(asyncio.shield(running), WAIT_SECONDS)
        except PeerError:
            pass  # the outcome says how it ended
        finally:
            running.cancel()

    def given(self, what: str, step: dict[str, Any]) -> None:
        """An input step: done at once, in this very turn of the loop."""
        if what in ("in", "in_text"):
            self.near.emit("message", text_of(step))
        elif what == "in_binary":
            self.near.emit("message", bytes_of(step["in_binary"]))
        elif what == "in_close":
            self.far.close()
        else:
            self.machine.cancel(step["cancel"])

    async def step(self, what: str, step: dict[str, Any]) -> None:
        if what in ("in", "in_text", "in_binary", "in_close", "cancel"):
            self.given(what, step)
        elif what == "decide":
            await asyncio.wait_for(self.asked.wait(), WAIT_SECONDS)
            self.answer.set_result(step["decide"] == "accept")
        elif what == "out":
            message = await self.expect_text(step["out"], set(step.get("skip", ())))
            if present := set(step.get("absent", ())).intersection(message):
                raise Mismatch(f"expected no {sorted(present)}, got {message}")
        elif what == "out_bytes":
            await self.expect_bytes(bytes_of(step["out_bytes"]))
        elif what == "out_manifest":
            await self.expect_manifest(step["out_manifest"])
        elif what == "reconnect":
            await self.reconnect()
        else:
            await asyncio.wait_for(self.closed.wait(), WAIT_SECONDS)

    async def next_output(self) -> bytes | str:
        return await asyncio.wait_for(self.outputs.get(), WAIT_SECONDS)

    async def expect_text(self, expected: dict[str, Any], skip: set[str]) -> dict[str, Any]:
        while True:
            data = await self.next_output()
            message = data if isinstance(data, bytes) else json.loads(data)
            if ("binary" if isinstance(data, bytes) else message.get("type")) not in skip:
                break
        if not matches(expected, message):
            raise Mismatch(f"expected {expected}, got {_shown(data)}")
        assert isinstance(message, dict)
        return message

    async def expect_bytes(self, expected: bytes) -> None:
        got = b""
        while len(got) < len(expected):
            data = await self.next_output()
            if not isinstance(data, bytes):
                raise Mismatch(f"expected {len(expected) - len(got)} more bytes, got {_shown(data)}")
            got += data
        if got != expected:
            raise Mismatch(f"expected {len(expected)} bytes, got {len(got)} other bytes")

    async def reconnect(self) -> None:
        """The channel is lost: once the machine waits for a new one, it gets it."""
        self.far.close()
        await asyncio.wait_for(self.lost.wait(), WAIT_SECONDS)
        if not self.outputs.empty():
            raise Mismatch(f"sent on the lost channel and not taken: {_shown(self.outputs.get_nowait())}")
        self.lost.clear()
        self.connect()
        self.machine.resume_on(self.near)

    async def expect_manifest(self, fields: dict[str, Any] | bool) -> None:
        files = [{key: file[key] for key in ("name", "size", "type")} for file in offered(self.case)]
        listed: list[Any] = []
        first = True
        while first or len(listed) < len(files):
            data = await self.next_output()
            if isinstance(data, bytes) or len(data.encode("utf-8")) > MAX_MESSAGE:
                raise Mismatch(f"expected a manifest part of at most {MAX_MESSAGE} bytes, got {_shown(data)}")
            part = json.loads(data)
            expected = {"type": "manifest", "version": 2, "count": len(files)} if first else {"type": "manifest-more"}
            if first and isinstance(fields, dict):
                expected |= fields
            if not matches(expected, part):
                raise Mismatch(f"expected {expected}, got {_shown(data)}")
            listed += part["files"]
            first = False
        if listed != files:
            raise Mismatch(f"the manifest lists {_shown(json.dumps(listed))}, not the case's files")

    def outcome(self) -> dict[str, Any]:
        """What happened, in the terms of the case's outcome."""
        result: dict[str, Any] = {"state": self.machine.state.value, "error_id": self.machine.error_id}
        if isinstance(self.machine, Sender):
            result["delivered"] = list(range(self.machine.delivered))
        else:
            result["kept"] = [_kept(entry, data) for entry, data in self.sink.kept]
        return result

    def expected(self) -> dict[str, Any]:
        wanted = dict(self.case["outcome"])
        if "kept" in wanted:
            wanted["kept"] = [{"name": k["name"], "size": k["size"], "sha": _sha(content(k))} for k in wanted["kept"]]
        return wanted


def _source(folder: Path, index: int, file: dict[str, Any]) -> Source:
    path = folder / str(index)
    path.write_bytes(content(file))
    return Source(name=file["name"], path=path, size=file["size"], type=file["type"])


def _kept(entry: FileEntry, data: bytes) -> dict[str, Any]:
    return {"name": entry.name, "size": entry.size, "sha": _sha(data)}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _shown(data: bytes | str) -> str:
    return f"{len(data)} bytes of binary" if isinstance(data, bytes) else data[:200]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
async def test_transcript(case: dict[str, Any], tmp_path: Path) -> None:
    run = Run(case, tmp_path)
    await run.play()
    assert run.outcome() == run.expected(), case["about"]
    assert run.outputs.empty(), f"sent and not expected: {_shown(run.outputs.get_nowait())}"
    assert run.sink.open_files == [], "a file neither kept nor discarded"
