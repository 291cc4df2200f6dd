"""peer/transfer/machines.py: the sender and receiver machines over an in-memory channel,
and over real aiortc connections through a real server where the network matters."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from helpers.channel import FarEnd, channel_pair, far_end
from peer.errors import Cancelled, ConnectionFailed, ExitCode, PeerError, ProtocolViolation, VerificationFailed
from peer.progress import Reporter
from peer.signalling.link import Link
from peer.transfer import machines
from peer.transfer.machines import Receiver, ReceiverState, Sender, SenderState
from peer.transfer.sink import DirectorySink
from peer.transfer.source import collect
from sendit_protocol.digest import digest_bytes
from sendit_protocol.messages import MAX_MESSAGE, FileEntry

TIMEOUT = 20.0
# A limit short enough for a test; each test waits on the outcome, with TIMEOUT as a guard.
SHORT = 0.3


async def accept(files: list[FileEntry]) -> bool:
    return True


def manifest(*files: tuple[str, int], version: int = 2) -> dict[str, Any]:
    entries = [{"name": n, "size": s, "type": ""} for n, s in files]
    return {"type": "manifest", "version": version, "count": len(entries), "files": entries}


def receiver(out: Path, decide: Any = accept, **kwargs: Any) -> tuple[FarEnd, Receiver, asyncio.Task[Any]]:
    """Our Receiver on one end of an in-memory pair, the test's hand on the other."""
    near, far = far_end()
    machine = Receiver(near, DirectorySink(out), decide, Reporter(), **kwargs)
    return far, machine, asyncio.ensure_future(machine.run())


def sender(*paths: Path, **kwargs: Any) -> tuple[FarEnd, Sender, asyncio.Task[Any]]:
    near, far = far_end()
    machine = Sender(near, collect([str(p) for p in paths]), Reporter(), **kwargs)
    return far, machine, asyncio.ensure_future(machine.run())


async def outcome(running: asyncio.Task[Any]) -> Any:
    return await asyncio.wait_for(running, TIMEOUT)


async def test_a_symbolic_link_in_the_target_does_not_lead_outside(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "docs").symlink_to(elsewhere)
    far, machine, running = receiver(out)
    far.send(manifest(("docs/x", 1)))
    with pytest.raises(PeerError, match="would be written outside"):
        await outcome(running)
    assert await far.next() == {
        "type": "cancel",
        "error_id": "cannot-save",
        "reason": "the receiver cannot save these files",
    }
    assert machine.state == ReceiverState.CANCELLED
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", ["x" * 252, "x" * 300, "d/" + "é" * 130])
async def test_a_name_too_long_for_the_disk_is_refused_before_accepting_and_no_path_is_told(
    tmp_path: Path, name: str
) -> None:
    """252 bytes fit ext4's 255, but not with the .part this side writes while receiving."""
    out = tmp_path / "out"
    far, _, running = receiver(out)
    far.send(manifest((name, 1)))
    with pytest.raises(PeerError, match="a name part is .* bytes") as refused:
        await outcome(running)
    assert refused.value.exit_code == ExitCode.ERROR
    told = await far.next()
    assert (told["type"], told["error_id"]) == ("cancel", "cannot-save")
    assert told["reason"].startswith("the receiver cannot save these files: a name part of")
    assert str(tmp_path) not in told["reason"]
    assert list(tmp_path.iterdir()) == []


# The protocol's side of each case is in the shared transcripts (test_transcripts.py);
# here, what this peer makes of it: its words, its exit codes, its disk.


@pytest.mark.parametrize(
    "sent, why",
    [(b"jello", "its digest does not match"), (b"hel", "only 3 of its 5 bytes arrived"), (b"", "only 0 of its 5")],
)
async def test_a_damaged_or_short_file_is_a_hash_mismatch_and_not_kept(tmp_path: Path, sent: bytes, why: str) -> None:
    far, machine, running = receiver(tmp_path)
    far.send(manifest(("a.txt", 5)))
    assert await far.next() == {"type": "accept"}
    if sent:
        far.send(sent)
    far.send({"type": "file-end", "index": 0, "digest": digest_bytes(b"hello")})
    with pytest.raises(VerificationFailed, match=f"a.txt arrived damaged \\({why}") as failed:
        await outcome(running)
    assert failed.value.exit_code == ExitCode.VERIFICATION
    assert await far.next() == {"type": "error", "error_id": "hash-mismatch", "message": "hash mismatch: a.txt"}
    assert machine.state == ReceiverState.FAILED
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "early", [b"abc", {"type": "file-end", "index": 0, "digest": "0" * 64}], ids=["binary", "file-end"]
)
async def test_data_before_accept_is_refused_also_under_yes(tmp_path: Path, early: Any) -> None:
    """Consent first, and no unbounded buffering: also when the answer is given at once
    (``--yes``), data that came before this side sent accept is refused, every time."""
    far, machine, running = receiver(tmp_path, accept)
    far.send(manifest(("a.txt", 3)))
    far.send(early)
    with pytest.raises(ProtocolViolation, match="data before accept"):
        await outcome(running)
    assert await far.next() == {"type": "error", "error_id": "protocol-error", "message": "data before accept"}
    assert machine.state == ReceiverState.FAILED
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "version, words",
    [
        (1, "the other side speaks an older SendIt protocol: it needs updating"),
        (3, "the other side speaks a newer SendIt protocol: update sendit"),
    ],
)
async def test_a_manifest_of_another_version_is_worded_for_the_person(tmp_path: Path, version: int, words: str) -> None:
    far, _, running = receiver(tmp_path)
    far.send(manifest(("a", 1), version=version))
    with pytest.raises(ProtocolViolation, match=f"^{words}$") as failed:
        await outcome(running)
    assert failed.value.exit_code == ExitCode.ERROR


async def test_a_sender_that_never_sends_a_manifest_is_not_waited_on_forever(tmp_path: Path) -> None:
    far, machine, running = receiver(tmp_path, manifest_seconds=SHORT)
    with pytest.raises(ConnectionFailed, match="the sender sent no list of files within 0.3 s"):
        await outcome(running)
    assert await far.next() == {
        "type": "error",
        "error_id": "no-manifest",
        "message": "no manifest within 0.3 s of the channel opening",
    }
    assert machine.state == ReceiverState.FAILED
    assert list(tmp_path.iterdir()) == []


async def test_sender_reports_the_receivers_hash_mismatch(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(os.urandom(100_000))
    far, machine, running = sender(tmp_path / "a.txt")
    offer = await far.next()
    assert offer == {
        **manifest(("a.txt", 100_000)),
        "files": [{"name": "a.txt", "size": 100_000, "type": "text/plain"}],
        "resume": True,
    }
    far.send({"type": "accept"})
    far.send({"type": "error", "error_id": "hash-mismatch", "message": "hash mismatch: a.txt"})
    with pytest.raises(VerificationFailed, match="damaged") as failed:
        await outcome(running)
    assert failed.value.exit_code == ExitCode.VERIFICATION
    assert machine.state == SenderState.FAILED


async def test_a_declined_offer_ends_both_as_declined(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")

    async def no(files: list[FileEntry]) -> bool:
        return False

    near_sender, near_receiver = channel_pair()
    sending = Sender(near_sender, collect([str(tmp_path / "a")]), Reporter())
    receiving = Receiver(near_receiver, DirectorySink(tmp_path / "out"), no, Reporter())
    sent, received = await asyncio.wait_for(
        asyncio.gather(sending.run(), receiving.run(), return_exceptions=True), TIMEOUT
    )
    assert isinstance(sent, Cancelled) and str(sent) == "the receiver declined the files"
    assert received is None
    assert (sending.state, receiving.state) == (SenderState.DECLINED, ReceiverState.DECLINED)


async def test_a_receiver_that_never_answers_the_offer_is_not_waited_on_forever(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("unanswered")
    far, machine, running = sender(tmp_path / "a.txt", answer_seconds=SHORT)
    assert (await far.next())["type"] == "manifest"
    with pytest.raises(Cancelled, match="the receiver did not answer the offer within 0.3 s") as ended:
        await outcome(running)
    assert ended.value.exit_code == ExitCode.CANCELLED
    assert await far.next() == {
        "type": "cancel",
        "error_id": "offer-timeout",
        "reason": "the offer was not answered within 0.3 s",
    }
    assert machine.state == SenderState.CANCELLED


def tree(root: Path, count: int, name_length: int = 8) -> list[Path]:
    root.mkdir()
    paths = []
    for index in range(count):
        path = root / f"{index:05d}".ljust(name_length, "x")
        path.write_bytes(index.to_bytes(4, "big") * (index % 3))
        paths.append(path)
    return paths


async def test_a_pipelining_sender_gets_every_file_ok_of_a_6500_file_offer(tmp_path: Path) -> None:
    """The receiver sends its file-oks and done as fast as files end; it closes only once
    they have left and the sender has closed (the sender does, on done)."""
    paths = tree(tmp_path / "in", 6_500)
    near_sender, near_receiver = channel_pair()

    async def accept_then_congest(files: list[FileEntry]) -> bool:
        # The accept gets through; the receiver's file-oks and done wait in its buffer.
        near_receiver.hold(after=1)
        return True

    sending = Sender(near_sender, collect([str(tmp_path / "in")]), Reporter())
    receiving = Receiver(near_receiver, DirectorySink(tmp_path / "out"), accept_then_congest, Reporter())
    receiving_run = asyncio.ensure_future(receiving.run())
    sending_run = asyncio.ensure_future(sending.run())
    # Done is queued behind every file-ok; then the link clears.
    with pytest.raises(asyncio.InvalidStateError):
        receiving.ended.result()
    await asyncio.wait_for(asyncio.shield(receiving.ended), 60)
    assert near_receiver.bufferedAmount > 0 and not sending.ended.done()
    near_receiver.release()
    await asyncio.wait_for(asyncio.gather(sending_run, receiving_run), 60)
    assert (sending.state, receiving.state) == (SenderState.DELIVERED, ReceiverState.RECEIVED)
    assert sending.delivered == len(paths)
    assert sorted(p.name for p in (tmp_path / "out" / "in").iterdir()) == [p.name for p in paths]


async def test_a_manifest_larger_than_one_message_is_split_and_put_together(tmp_path: Path) -> None:
    paths = tree(tmp_path / "in", 3_000, name_length=200)
    near_sender, near_receiver = channel_pair()
    sending = Sender(near_sender, collect([str(tmp_path / "in")]), Reporter())
    offered: list[list[FileEntry]] = []

    async def decide(files: list[FileEntry]) -> bool:
        offered.append(files)
        return True

    receiving = Receiver(near_receiver, DirectorySink(tmp_path / "out"), decide, Reporter())
    await asyncio.wait_for(asyncio.gather(sending.run(), receiving.run()), 60)
    manifests = [m for m in near_sender.sent if isinstance(m, str) and m.startswith('{"type":"manifest')]
    assert len(manifests) == 3
    assert all(len(m.encode()) <= MAX_MESSAGE for m in manifests)
    assert [f.name for f in offered[0]] == [f"in/{p.name}" for p in paths]
    assert len(list((tmp_path / "out" / "in").iterdir())) == len(paths)


async def test_a_receiver_after_done_waits_for_the_sender_to_close_at_most_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machines, "CLOSE_SECONDS", SHORT)
    far, machine, running = receiver(tmp_path)
    far.send(manifest(("a", 1)))
    await far.next()
    far.send(b"a")
    far.send({"type": "file-end", "index": 0, "digest": digest_bytes(b"a")})
    assert await far.next() == {"type": "file-ok", "index": 0}
    assert await far.next() == {"type": "done"}
    await asyncio.sleep(SHORT / 3)
    assert not running.done() and not far.closed, "closed before the sender did"
    # A sender that never closes: the receiver closes after CLOSE_SECONDS, delivered all the same.
    assert await outcome(running) == [FileEntry("a", 1, "")]
    assert far.closed


@pytest.mark.parametrize("role", ["sender", "receiver"])
async def test_whoever_cancels_closes_only_once_its_cancel_has_left(tmp_path: Path, role: str) -> None:
    (tmp_path / "a").write_bytes(b"a")
    near, far_channel = channel_pair()
    far = FarEnd(far_channel)
    near.hold()  # a congested link: nothing leaves yet
    machine: Sender | Receiver
    if role == "sender":
        machine = Sender(near, collect([str(tmp_path / "a")]), Reporter())
    else:
        machine = Receiver(near, DirectorySink(tmp_path / "out"), accept, Reporter())
    running = asyncio.ensure_future(machine.run())
    await asyncio.sleep(0)  # the run has started
    machine.cancel("stop")
    with pytest.raises(Cancelled):
        await asyncio.wait_for(asyncio.shield(machine.ended), TIMEOUT)
    await asyncio.sleep(SHORT)
    assert near.readyState == "open" and not running.done(), "closed with the cancel still queued"
    near.release()
    with pytest.raises(Cancelled):
        await outcome(running)
    texts = [await far.next_text() for _ in range(2 if role == "sender" else 1)]
    assert texts[-1] == {"type": "cancel", "error_id": "cancelled", "reason": "stop"}
    assert near.readyState == "closed"


async def test_the_states_change_in_one_place_and_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a").write_bytes(b"a")
    near_sender, near_receiver = channel_pair()
    sending = Sender(near_sender, collect([str(tmp_path / "a")]), Reporter())
    receiving = Receiver(near_receiver, DirectorySink(tmp_path / "out"), accept, Reporter())
    with caplog.at_level(logging.DEBUG, logger="peer.transfer.machines"):
        await asyncio.wait_for(asyncio.gather(sending.run(), receiving.run()), TIMEOUT)
    logged = [r.getMessage() for r in caplog.records if r.name == "peer.transfer.machines"]
    assert [line for line in logged if line.startswith("sender: ")] == [
        "sender: offering -> sending",
        "sender: sending -> delivered",
    ]
    assert [line for line in logged if line.startswith("receiver: ")] == [
        "receiver: waiting-for-offer -> deciding",
        "receiver: deciding -> receiving",
        "receiver: receiving -> received",
    ]


# Over aiortc: what only a real channel shows.


async def test_a_manifest_sent_the_moment_the_channel_opens_is_not_lost(
    links: tuple[Link, Link], tmp_path: Path
) -> None:
    """Browsers send the manifest on open, before a receiver may have set up its transfer."""
    (tmp_path / "a.txt").write_text("early")
    arrived = asyncio.get_running_loop().create_future()
    links[1].channel.once("message", lambda _: arrived.set_result(None))
    sending = Sender(links[0].channel, collect([str(tmp_path / "a.txt")]), Reporter(), inbox=links[0].inbox)
    sent = asyncio.ensure_future(sending.run())
    await asyncio.wait_for(arrived, TIMEOUT)
    out = tmp_path / "out"
    receiving = Receiver(links[1].channel, DirectorySink(out), accept, Reporter(), inbox=links[1].inbox)
    await asyncio.wait_for(asyncio.gather(sent, receiving.run()), TIMEOUT)
    assert (out / "a.txt").read_text() == "early"
    assert (sending.state, receiving.state) == (SenderState.DELIVERED, ReceiverState.RECEIVED)


async def test_a_sender_that_leaves_mid_file_leaves_no_file(links: tuple[Link, Link], tmp_path: Path) -> None:
    far = links[0].channel
    accepted = asyncio.get_running_loop().create_future()
    far.once("message", accepted.set_result)
    receiving = Receiver(links[1].channel, DirectorySink(tmp_path), accept, Reporter(), inbox=links[1].inbox)
    running = asyncio.ensure_future(receiving.run())
    far.send('{"type":"manifest","version":2,"count":1,"files":[{"name":"a.txt","size":5,"type":""}]}')
    assert await asyncio.wait_for(accepted, TIMEOUT) == '{"type":"accept"}'
    far.send(b"he")
    await links[0].pc.close()
    with pytest.raises(ConnectionFailed, match="the sender left"):
        await outcome(running)
    assert list(tmp_path.iterdir()) == []


async def test_a_person_still_deciding_when_the_sender_gives_up_is_told(
    links: tuple[Link, Link], tmp_path: Path
) -> None:
    """The real pair: the receiver's prompt is cut short by the sender's limit, with its words."""
    (tmp_path / "a.txt").write_text("unanswered")
    sending = Sender(
        links[0].channel, collect([str(tmp_path / "a.txt")]), Reporter(), answer_seconds=SHORT, inbox=links[0].inbox
    )
    deciding = asyncio.get_running_loop().create_future()

    async def never(files: list[FileEntry]) -> bool:
        return await deciding  # the person has walked away

    out = tmp_path / "out"
    receiving = Receiver(links[1].channel, DirectorySink(out), never, Reporter(), inbox=links[1].inbox)
    sent, received = await asyncio.wait_for(
        asyncio.gather(sending.run(), receiving.run(), return_exceptions=True), TIMEOUT
    )
    assert isinstance(sent, Cancelled) and "did not answer the offer within 0.3 s" in str(sent)
    assert isinstance(received, Cancelled) and str(received) == "the offer was not answered within 0.3 s"
    assert deciding.cancelled()
    assert list(out.iterdir()) == []


async def test_a_write_that_fails_mid_file_cancels_as_cannot_save_and_keeps_nothing(
    tmp_path: Path, file_size_limit: int
) -> None:
    far, machine, running = receiver(tmp_path)
    far.send(manifest(("big.bin", 2 * file_size_limit)))
    assert await far.next() == {"type": "accept"}
    far.send(bytes(file_size_limit))
    far.send(bytes(file_size_limit))
    with pytest.raises(PeerError, match="big.bin.part: File too large"):
        await outcome(running)
    assert await far.next() == {
        "type": "cancel",
        "error_id": "cannot-save",
        "reason": "cannot write big.bin: File too large",
    }
    assert machine.state == ReceiverState.CANCELLED
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "told, error_id",
    [
        ({"type": "cancel", "reason": "no", "error_id": "offer-timeout"}, "offer-timeout"),
        ({"type": "cancel", "reason": "no"}, "cancelled"),
        ({"type": "error", "message": "bad", "error_id": "hash-mismatch"}, "hash-mismatch"),
    ],
)
async def test_an_ending_the_other_side_sent_carries_its_id(
    tmp_path: Path, told: dict[str, Any], error_id: str
) -> None:
    far, _machine, running = receiver(tmp_path / "out")
    far.send(told)
    with pytest.raises(PeerError) as ended:
        await outcome(running)
    assert ended.value.error_id == error_id


async def test_an_ending_this_side_sent_carries_its_id(tmp_path: Path) -> None:
    far, _machine, running = receiver(tmp_path / "out", decide=accept)
    far.send(manifest(("a", 1)))
    far.send(manifest(("b", 1)))  # a second offer, once deciding
    with pytest.raises(ProtocolViolation) as ended:
        await outcome(running)
    assert ended.value.error_id == "protocol-error"
    assert (await far.next())["error_id"] == "protocol-error"
