"""peer/signalling/allocation.py and candidates.py: what a failed TURN Allocate means
(docs/PROTOCOL.md 3.5). The real relays, one that refuses, one that never answers and
one whose nonces stay stale, are in test_link.py."""

from __future__ import annotations

import asyncio

import pytest
from aioice import stun

from peer.signalling.allocation import refusal
from peer.signalling.candidates import Candidates
from sendit_protocol.ice import Offered, Policy, TurnError


def answered(code: int) -> stun.TransactionFailed:
    """The error aioice raises for a relay's ERROR-CODE answer to an Allocate."""
    response = stun.Message(message_method=stun.Method.ALLOCATE, message_class=stun.Class.ERROR)
    response.attributes["ERROR-CODE"] = (code, "reason")
    return stun.TransactionFailed(response)


@pytest.mark.parametrize("code", [401, 403, 437, 441, 486])
def test_the_relays_refusals_are_refusals(code: int) -> None:
    assert refusal(answered(code))


@pytest.mark.parametrize(
    "error",
    [
        *(answered(code) for code in (400, 420, 438, 500, 508)),
        stun.TransactionTimeout(),
        ConnectionRefusedError(),
        asyncio.CancelledError(),
        RuntimeError("something unforeseen"),
    ],
)
def test_other_answers_and_no_answer_are_no_refusal(error: BaseException) -> None:
    assert not refusal(error)


TURN = [{"urls": "turn:192.0.2.1:3478", "username": "u", "credential": "p"}]
HOST = Offered(type="host", host="192.0.2.2", port=4000)
RELAY = Offered(type="relay", host="192.0.2.1", port=50000)


@pytest.mark.parametrize(
    "ice_servers, local, refused, turn_error",
    [
        (TURN, [HOST], True, TurnError.REFUSED),
        (TURN, [HOST], False, TurnError.UNREACHABLE),
        (TURN, [], False, TurnError.UNREACHABLE),
        (TURN, [HOST, RELAY], False, None),
        ([{"urls": "stun:192.0.2.1:3478"}], [HOST], False, None),
        ([], [HOST], False, None),
    ],
)
def test_a_relay_that_gave_no_candidate_and_did_not_refuse_is_unreachable(
    ice_servers: list[dict[str, str]], local: list[Offered], refused: bool, turn_error: TurnError | None
) -> None:
    seen = Candidates(local=local).seen(Policy.ALL, ice_servers, refused)
    assert seen.turn_error is turn_error
