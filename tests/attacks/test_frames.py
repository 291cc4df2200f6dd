"""Raw Engine.IO / Socket.IO frames over a plain WebSocket, as no client library sends
them: random text and binary frames, random packet types, truncated JSON. Whatever
arrives, the server answers in the protocol's shapes or drops the client, logs no
traceback, and serves a legit pairing afterwards."""

from __future__ import annotations

import json
import logging
from typing import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.fuzz import FUZZ, JSON, NAMES, PAYLOADS
from helpers.measure import legit_pairing, tracebacks
from helpers.raw import RawSocket
from helpers.server import RunningServer, join_payload, running_server
from sendit_protocol.errors import ERROR_ID

#: A connect to a namespace the server does not have: it answers with a CONNECT_ERROR
#: at any point of a session, joined or not, which tells "still open" from "dropped".
PROBE, PROBE_ANSWER = "40/probe,", "44/probe,"
#: What the server takes from a client without a word (a pong nobody asked for); the
#: probe counts on the socket staying open after it.
SILENT = ("3",)


def _truncated(text: str, cut: int) -> str:
    return text[: max(0, min(cut, len(text) - 1))]


PACKETS = st.builds(
    lambda name, payload, ack: f"42{ack}" + json.dumps([name, payload]),
    NAMES,
    PAYLOADS,
    st.one_of(st.just(""), st.integers(0, 2**64).map(str)),
)
TEXT_FRAMES = st.one_of(
    PACKETS,
    st.builds(_truncated, PACKETS, st.integers(0, 80)),
    # Any Engine.IO and Socket.IO packet type, with anything after it.
    st.builds(
        lambda eio, sio, rest: eio + sio + rest,
        st.sampled_from("0123456789x"),
        st.sampled_from(["", *"0123456789/-"]),
        st.one_of(st.text(max_size=40), JSON.map(json.dumps)),
    ),
    st.text(max_size=60),
)
FRAMES = st.one_of(TEXT_FRAMES, st.binary(max_size=300))


@pytest.fixture
async def fuzzed() -> AsyncIterator[RunningServer]:
    async with running_server(max_failed_joins=10_000) as server:
        yield server


async def _outcome(raw: RawSocket, frames: list[str | bytes]) -> str:
    """ "open" if the socket still answers the probe, "dropped" if the server ended it;
    every acknowledgement on the way must be the protocol's shape."""
    await raw.send(PROBE)
    # Each upgrade packet among the frames is answered too, while the socket is open.
    answers = 1 + sum(1 for frame in frames if isinstance(frame, str) and frame.startswith(PROBE))
    while True:
        frame = await raw.receive()
        if frame is None:
            return "dropped"
        if isinstance(frame, str) and frame.startswith(PROBE_ANSWER):
            answers -= 1
            if not answers:
                return "open"
        if isinstance(frame, str) and frame.startswith("43"):
            ack = json.loads(frame[frame.index("[") :])
            assert isinstance(ack, list) and len(ack) == 1 and isinstance(ack[0]["ok"], bool), frame
            assert ack[0]["ok"] or (isinstance(ack[0]["error"], str) and ERROR_ID.fullmatch(ack[0]["error_id"])), frame


@FUZZ
@given(frames=st.lists(FRAMES, min_size=1, max_size=4), join_namespace=st.booleans())
async def test_any_frames_are_answered_or_refused_without_a_traceback(
    fuzzed: RunningServer, frames: list[str | bytes], join_namespace: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        raw = await RawSocket.open(fuzzed.url, join_namespace=join_namespace)
        try:
            for frame in frames:
                await raw.send(frame)
            outcome = await _outcome(raw, frames)
        finally:
            await raw.close()
    assert tracebacks(caplog.records) == []
    if any(isinstance(frame, bytes) or frame[:2] in ("45", "46") for frame in frames):
        assert outcome == "dropped", "a binary frame or attachments were taken"
    if all(frame in SILENT for frame in frames):
        assert outcome == "open"


async def test_after_the_fuzz_a_legit_pairing_is_served(fuzzed: RunningServer) -> None:
    raw = await RawSocket.open(fuzzed.url)
    await raw.send(b"\x00" * 100)
    assert await raw.closed_by_server()
    await raw.close()
    assert await legit_pairing(fuzzed.url) < 1.0


async def test_frames_read_with_a_refused_one_are_not_handled() -> None:
    """The server drops a client at the first frame outside the protocol, and what that
    client sent after it, already read, is not handled: its guesses count for nothing."""
    async with running_server(max_failed_joins=2) as server:
        # Nobody holds a slot on this server: any is a wrong guess.
        raw = await RawSocket.open(server.url)
        guess = "42" + json.dumps(["join", join_payload("1")])
        raw.write_frames(["42[]", guess, guess, guess])
        assert await raw.closed_by_server()
        await raw.close()
        honest = await RawSocket.open(server.url)
        try:
            assert (await honest.call("join", join_payload("1")))["error_id"] == "code-not-found"
        finally:
            await honest.close()


UNDECODABLE = {
    # Engine.IO decodes each frame outside its error handling: these ended the
    # connection with a 2 KB traceback, or (types 7-9) logged one and kept it open.
    "empty": "",
    "no-packet-type": "x",
    "bad-base64": "bA",
    "not-a-digit": "\u00b2",
    "type-7": "7",
    "type-9": "9probe",
    # Engine.IO hands on a message whose text is JSON decoded: the guard logged a
    # traceback for each and kept the socket open for more.
    "json-null": "4null",
    "json-true": "4true",
    "json-object": "4{}",
    "json-list": "4[1]",
    "json-number": "4-1.5e3",
}


@pytest.mark.parametrize("frame", list(UNDECODABLE.values()), ids=list(UNDECODABLE))
async def test_a_frame_that_is_no_packet_drops_its_client_with_one_line(
    server: RunningServer, frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        raw = await RawSocket.open(server.url)
        await raw.send(frame)
        assert await raw.closed_by_server()
        await raw.close()
    assert tracebacks(caplog.records) == []
    refusals = [r.getMessage() for r in caplog.records if r.name == "signal_server.signalling.transport"]
    assert len(refusals) == 1 and "\n" not in refusals[0], refusals
    assert await legit_pairing(server.url) < 1.0
