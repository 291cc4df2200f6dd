"""peer/signalling/allocation.py: what a failed TURN Allocate means (docs/PROTOCOL.md 3.5).
The real relays, one that refuses and one that never answers, are in test_link.py."""

from __future__ import annotations

import asyncio

import pytest
from aioice import stun

from peer.signalling.allocation import turn_error
from sendit_protocol.ice import TurnError


def answered(code: int) -> stun.TransactionFailed:
    """The error aioice raises for a relay's ERROR-CODE answer to an Allocate."""
    response = stun.Message(message_method=stun.Method.ALLOCATE, message_class=stun.Class.ERROR)
    response.attributes["ERROR-CODE"] = (code, "reason")
    return stun.TransactionFailed(response)


@pytest.mark.parametrize("code", [401, 403, 437, 441, 486])
def test_the_relays_refusals_are_refused(code: int) -> None:
    assert turn_error(answered(code)) is TurnError.REFUSED


@pytest.mark.parametrize("code", [400, 420, 438, 500, 508])
def test_other_error_answers_are_neither(code: int) -> None:
    assert turn_error(answered(code)) is None


@pytest.mark.parametrize(
    "error",
    [stun.TransactionTimeout(), ConnectionRefusedError(), OSError("network is unreachable"), asyncio.CancelledError()],
)
def test_no_answer_in_time_or_a_network_error_is_unreachable(error: BaseException) -> None:
    assert turn_error(error) is TurnError.UNREACHABLE


def test_anything_else_is_neither() -> None:
    assert turn_error(RuntimeError("something unforeseen")) is None
