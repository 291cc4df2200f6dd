"""Every socket.io event, and names that are none, with arbitrary JSON payloads, through
real python-socketio clients (a sender and a receiver, paired or not) against a real
server: every acknowledgement is the protocol's shape with a documented error id, what a
peer is relayed is a valid signal (and what a sender is handed on joining, a valid
PAKE message), nothing logs a traceback, and a legit pairing is served afterwards."""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.fuzz import EVENTS, FUZZ, JSON, NAMES, PAYLOADS
from helpers.measure import legit_pairing, tracebacks
from helpers.server import Client, RunningServer, running_server
from sendit_protocol import signals
from signal_server.signalling.events import REFUSALS
from signal_server.signalling.transport import RESERVED_EVENTS

#: The refusals of docs/PROTOCOL.md 2, by id: their one wording, or (a payload's) none.
DOCUMENTED = {
    **{error_id.value: words for error_id, words in REFUSALS.values()},
    "invalid-payload": None,
    "old-protocol": str(signals.OldProtocol()),
    "new-protocol": str(signals.NewProtocol()),
}
#: What an event carries: nothing, one value, or (refused) more than one.
ARGUMENTS = st.one_of(st.none(), PAYLOADS.map(lambda payload: (payload,)), st.tuples(JSON, JSON))
ACTIONS = st.lists(
    st.tuples(st.sampled_from(["sender", "receiver"]), NAMES.filter(lambda n: n not in RESERVED_EVENTS), ARGUMENTS),
    min_size=1,
    max_size=6,
)


@pytest.fixture
async def fuzzed() -> AsyncIterator[RunningServer]:
    # The fuzz joins wrong codes by the hundred; the join limit has tests of its own.
    async with running_server(max_failed_joins=1_000_000) as server:
        yield server


def check_ack(event: str, ack: Any) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (event, ack)
    if not ack["ok"]:
        error_id, error = ack.get("error_id"), ack.get("error")
        assert error_id in DOCUMENTED, (event, ack)
        if DOCUMENTED[error_id] is None:
            assert isinstance(error, str) and error.startswith("invalid payload: "), (event, ack)
        else:
            assert error == DOCUMENTED[error_id], (event, ack)
        extra = {"retry_after"} if error_id == "too-many-attempts" else set()
        assert set(ack) == {"ok", "error", "error_id", *extra}, ack


async def act(client: Client, event: str, arguments: tuple[Any, ...] | None) -> None:
    data = arguments if arguments is None or len(arguments) > 1 else arguments[0]
    if event not in EVENTS:
        # Ignored (PROTOCOL.md 2.1): no acknowledgement ever comes.
        await client.sio.emit(event, data)
        return
    check_ack(event, await client.call(event, data))


async def pair_maybe(sender: Client, receiver: Client, paired: bool) -> None:
    if paired:
        created = await sender.create()
        assert (await receiver.join(created["slot"]))["ok"]


@FUZZ
@given(actions=ACTIONS, paired=st.booleans())
async def test_any_event_with_any_payload_is_answered_in_the_protocols_shape(
    fuzzed: RunningServer,
    actions: list[tuple[str, str, tuple[Any, ...] | None]],
    paired: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        members = {"sender": await Client().connect(fuzzed.url), "receiver": await Client().connect(fuzzed.url)}
        try:
            await pair_maybe(members["sender"], members["receiver"], paired)
            for who, event, arguments in actions:
                await act(members[who], event, arguments)
            for member in members.values():
                # Still connected and served, whatever came before (an ignored event included).
                check_ack("signal", await member.call("signal", {}))
                while member.pending("signal"):
                    relayed = await member.next("signal")
                    assert signals.signal(relayed) == relayed, relayed
                while member.pending("peer_joined"):
                    handed = await member.next("peer_joined")
                    assert set(handed) == {"pake"}, handed
                    assert signals.join({"version": 2, "slot": "1", **handed}).pake == handed["pake"]
        finally:
            for member in members.values():
                await member.close()
    assert tracebacks(caplog.records) == []


async def test_after_the_fuzz_a_legit_pairing_is_served(fuzzed: RunningServer) -> None:
    sender = await Client().connect(fuzzed.url)
    check_ack("join", await sender.call("join", {"version": 2, "slot": "\u202e" * 40, "pake": "\u202e" * 44}))
    await sender.close()
    assert await legit_pairing(fuzzed.url) < 1.0
