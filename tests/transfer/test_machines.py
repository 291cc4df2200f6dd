"""peer/transfer/machines.py against hostile peers, over real aiortc connections through a real server."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCDataChannel

from peer.errors import Cancelled, ConnectionFailed, ExitCode, PeerError, VerificationFailed
from peer.progress import Reporter
from peer.signalling.link import Link
from peer.transfer.machines import ProtocolViolation, Receiver, Sender
from peer.transfer.sink import DirectorySink
from peer.transfer.source import collect
from sendit_protocol.digest import digest_bytes
from sendit_protocol.messages import FileEntry

TIMEOUT = 20.0


class Raw:
    """A hand-driven end of the channel: sends whatever a test wants, records what arrives."""

    def __init__(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        self.received: asyncio.Queue[Any] = asyncio.Queue()
        channel.on(
            "message", lambda data: self.received.put_nowait(json.loads(data) if isinstance(data, str) else data)
        )

    def send(self, **message: Any) -> None:
        self.channel.send(json.dumps(message))

    async def next(self) -> Any:
        return await asyncio.wait_for(self.received.get(), TIMEOUT)


async def accept(files: list[FileEntry]) -> bool:
    return True


def manifest(*files: tuple[str, int]) -> dict[str, Any]:
    return {"type": "manifest", "version": 1, "files": [{"name": n, "size": s, "type": ""} for n, s in files]}


async def receive(links: tuple[Link, Link], out: Path) -> tuple[Raw, asyncio.Task[Any]]:
    """Our Receiver on one end, a hand-driven sender on the other."""
    raw = Raw(links[0].channel)
    receiver = Receiver(links[1], DirectorySink(out), accept, Reporter())
    return raw, asyncio.ensure_future(receiver.run())


@pytest.mark.parametrize(
    "name",
    ["../x", "/etc/x", "a/../../x", "a\\..\\x", "a//x", "./x", "x\n", "\ud800x", "a\x85b", "report\u202egpj.exe"],
)
async def test_path_escapes_in_a_manifest_are_refused(links: tuple[Link, Link], tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    raw, running = await receive(links, out)
    raw.send(**manifest((name, 1)))
    with pytest.raises(ProtocolViolation, match="file name"):
        await running
    assert (await raw.next())["type"] == "error"
    assert list(tmp_path.iterdir()) == []


async def test_a_symbolic_link_in_the_target_does_not_lead_outside(links: tuple[Link, Link], tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "docs").symlink_to(elsewhere)
    raw, running = await receive(links, out)
    raw.send(**manifest(("docs/x", 1)))
    with pytest.raises(PeerError, match="would be written outside"):
        await running
    assert await raw.next() == {"type": "cancel", "reason": "the receiver cannot save these files"}
    assert list(elsewhere.iterdir()) == []


async def test_a_name_too_long_for_the_disk_is_refused_and_the_sender_told_why(
    links: tuple[Link, Link], tmp_path: Path
) -> None:
    """252 bytes fit ext4's 255, but not with the .part this side writes while receiving."""
    out = tmp_path / "out"
    raw, running = await receive(links, out)
    raw.send(**manifest(("x" * 252, 1)))
    with pytest.raises(PeerError, match="a name part is 257 bytes") as refused:
        await running
    assert refused.value.exit_code == ExitCode.ERROR
    told = await raw.next()
    assert told["type"] == "cancel"
    assert told["reason"].startswith("the receiver cannot save these files: a name part of 257 bytes is longer")
    assert str(tmp_path) not in told["reason"]
    assert list(tmp_path.iterdir()) == []


async def test_a_damaged_file_is_reported_and_not_kept(links: tuple[Link, Link], tmp_path: Path) -> None:
    raw, running = await receive(links, tmp_path)
    raw.send(**manifest(("a.txt", 5)))
    assert await raw.next() == {"type": "accept"}
    raw.channel.send(b"hello")
    raw.send(type="file-end", index=0, digest=digest_bytes(b"jello"))
    with pytest.raises(VerificationFailed, match="a.txt arrived damaged"):
        await running
    assert await raw.next() == {"type": "error", "message": "hash mismatch: a.txt"}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "steps, problem",
    [
        ([b"toolong"], "a.txt: more bytes than announced"),
        ([b"hel", {"type": "file-end", "index": 0, "digest": "0" * 64}], "a.txt: 3 of 5 bytes arrived"),
        ([b"hello", {"type": "file-end", "index": 1, "digest": "0" * 64}], "expected file-end 0, got file-end"),
        ([{"type": "done"}], "expected file-end 0, got done"),
        (['{"type": "file-end"'], "not a JSON message"),
    ],
)
async def test_a_sender_breaking_the_protocol_is_told_and_nothing_is_kept(
    links: tuple[Link, Link], tmp_path: Path, steps: list[Any], problem: str
) -> None:
    raw, running = await receive(links, tmp_path)
    raw.send(**manifest(("a.txt", 5)))
    assert await raw.next() == {"type": "accept"}
    for step in steps:
        raw.channel.send(json.dumps(step) if isinstance(step, dict) else step)
    with pytest.raises(ProtocolViolation, match=problem):
        await running
    assert await raw.next() == {"type": "error", "message": problem}
    assert list(tmp_path.iterdir()) == []


async def test_a_sender_that_leaves_mid_file_leaves_no_file(links: tuple[Link, Link], tmp_path: Path) -> None:
    raw, running = await receive(links, tmp_path)
    raw.send(**manifest(("a.txt", 5)))
    assert await raw.next() == {"type": "accept"}
    raw.channel.send(b"he")
    await links[0].pc.close()
    with pytest.raises(ConnectionFailed, match="the sender left"):
        await asyncio.wait_for(running, TIMEOUT)
    assert list(tmp_path.iterdir()) == []


async def test_sender_reports_the_receivers_hash_mismatch(links: tuple[Link, Link], tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(os.urandom(100_000))
    sender = Sender(links[0], collect([str(tmp_path / "a.txt")]), Reporter())
    raw = Raw(links[1].channel)
    running = asyncio.ensure_future(sender.run())
    assert (await raw.next())["files"] == [{"name": "a.txt", "size": 100_000, "type": "text/plain"}]
    raw.send(type="accept")
    raw.send(type="error", message="hash mismatch: a.txt")
    with pytest.raises(VerificationFailed, match="damaged"):
        await running


@pytest.mark.parametrize("answer", [{"type": "file-ok", "index": 1}, {"type": "done"}, {"type": "manifest"}])
async def test_sender_refuses_acknowledgements_out_of_order(
    links: tuple[Link, Link], tmp_path: Path, answer: dict[str, Any]
) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    sender = Sender(links[0], collect([str(tmp_path / "a"), str(tmp_path / "b")]), Reporter())
    raw = Raw(links[1].channel)
    running = asyncio.ensure_future(sender.run())
    await raw.next()
    raw.send(type="accept")
    raw.send(**answer)
    with pytest.raises(ProtocolViolation):
        await running
    while not isinstance(message := await raw.next(), dict) or message["type"] != "error":
        pass


async def test_a_manifest_sent_the_moment_the_channel_opens_is_not_lost(
    links: tuple[Link, Link], tmp_path: Path
) -> None:
    """Browsers send the manifest on open, before a receiver may have set up its transfer."""
    (tmp_path / "a.txt").write_text("early")
    arrived = asyncio.get_running_loop().create_future()
    links[1].channel.once("message", lambda _: arrived.set_result(None))
    sender = Sender(links[0], collect([str(tmp_path / "a.txt")]), Reporter())
    sending = asyncio.ensure_future(sender.run())
    await asyncio.wait_for(arrived, TIMEOUT)
    out = tmp_path / "out"
    receiver = Receiver(links[1], DirectorySink(out), accept, Reporter())
    await asyncio.wait_for(asyncio.gather(sending, receiver.run()), TIMEOUT)
    assert (out / "a.txt").read_text() == "early"


# A limit short enough for a test; each test waits on the outcome, with TIMEOUT as a guard.
SHORT = 0.3


async def test_a_sender_that_never_sends_a_manifest_is_not_waited_on_forever(
    links: tuple[Link, Link], tmp_path: Path
) -> None:
    raw = Raw(links[0].channel)
    receiver = Receiver(links[1], DirectorySink(tmp_path), accept, Reporter(), manifest_seconds=SHORT)
    with pytest.raises(ConnectionFailed, match="the sender sent no list of files within 0.3 s"):
        await asyncio.wait_for(receiver.run(), TIMEOUT)
    assert await raw.next() == {"type": "error", "message": "no manifest within 0.3 s of the channel opening"}
    assert list(tmp_path.iterdir()) == []


async def test_a_receiver_that_never_answers_the_offer_is_not_waited_on_forever(
    links: tuple[Link, Link], tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("unanswered")
    sender = Sender(links[0], collect([str(tmp_path / "a.txt")]), Reporter(), answer_seconds=SHORT)
    raw = Raw(links[1].channel)
    running = asyncio.ensure_future(sender.run())
    assert (await raw.next())["type"] == "manifest"
    with pytest.raises(Cancelled, match="the receiver did not answer the offer within 0.3 s") as ended:
        await asyncio.wait_for(running, TIMEOUT)
    assert ended.value.exit_code == ExitCode.CANCELLED
    assert await raw.next() == {"type": "cancel", "reason": "the offer was not answered within 0.3 s"}


async def test_a_person_still_deciding_when_the_sender_gives_up_is_told(
    links: tuple[Link, Link], tmp_path: Path
) -> None:
    """The real pair: the receiver's prompt is cut short by the sender's limit, with its words."""
    (tmp_path / "a.txt").write_text("unanswered")
    sender = Sender(links[0], collect([str(tmp_path / "a.txt")]), Reporter(), answer_seconds=SHORT)
    deciding = asyncio.get_running_loop().create_future()

    async def never(files: list[FileEntry]) -> bool:
        return await deciding  # the person has walked away

    out = tmp_path / "out"
    receiver = Receiver(links[1], DirectorySink(out), never, Reporter())
    sent, received = await asyncio.wait_for(
        asyncio.gather(sender.run(), receiver.run(), return_exceptions=True), TIMEOUT
    )
    assert isinstance(sent, Cancelled) and "did not answer the offer within 0.3 s" in str(sent)
    assert isinstance(received, Cancelled) and str(received) == "the offer was not answered within 0.3 s"
    assert deciding.cancelled()
    assert list(out.iterdir()) == []
