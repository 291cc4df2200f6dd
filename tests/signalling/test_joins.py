"""signal_server.signalling.joins: which joins count as failures, and the waits they cost,
over a real registry and limiter on one fake clock (no socket.io)."""

from __future__ import annotations

import pytest

from helpers.clock import FakeClock
from signal_server.signalling.joins import JoinPolicy, TooManyAttempts
from signal_server.signalling.ratelimit import Backoff, FailureLimiter
from signal_server.signalling.registry import AlreadyPaired, CodeNotFound, CodeUsed, SlotRegistry

TTL = 600.0
WINDOW = 60.0
LIMIT = 3
GUESSER = "203.0.113.7"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def joins(clock: FakeClock) -> JoinPolicy:
    return JoinPolicy(SlotRegistry(TTL, clock=clock), FailureLimiter(Backoff(LIMIT, WINDOW), clock=clock))


def waiting_slot(joins: JoinPolicy, sender: str = "sender") -> int:
    return joins.registry.create(sender).slot


def unknown_slot(joins: JoinPolicy) -> int:
    return next(slot for slot in joins.registry.slots if joins.registry.lookup(slot) is None)


def test_a_join_pairs_and_counts_nothing(joins: JoinPolicy) -> None:
    pairing = joins.join(waiting_slot(joins), "receiver", GUESSER)
    assert pairing.receiver == "receiver" and pairing.used
    assert len(joins.limiter) == 0


def test_an_unknown_slot_is_not_found_and_counts(joins: JoinPolicy) -> None:
    waiting_slot(joins)
    with pytest.raises(CodeNotFound):
        joins.join(unknown_slot(joins), "guesser", GUESSER)
    assert len(joins.limiter) == 1


def test_a_used_slot_counts(joins: JoinPolicy) -> None:
    slot = waiting_slot(joins)
    joins.join(slot, "receiver", "198.51.100.1")
    with pytest.raises(CodeUsed):
        joins.join(slot, "late", GUESSER)
    assert len(joins.limiter) == 1


def test_an_expired_slot_counts(joins: JoinPolicy, clock: FakeClock) -> None:
    slot = waiting_slot(joins)
    clock.now += TTL
    with pytest.raises(CodeNotFound):
        joins.join(slot, "late", GUESSER)
    assert len(joins.limiter) == 1


def test_holding_a_slot_already_is_refused_but_not_counted(joins: JoinPolicy) -> None:
    waiting_slot(joins, "holder")
    slot = waiting_slot(joins, "other")
    with pytest.raises(AlreadyPaired):
        joins.join(slot, "holder", GUESSER)
    assert len(joins.limiter) == 0


def fail(joins: JoinPolicy, times: int, address: str = GUESSER) -> None:
    for _ in range(times):
        with pytest.raises(CodeNotFound):
            joins.join(unknown_slot(joins), "guesser", address)


def test_past_the_limit_even_the_right_slot_is_refused_until_the_wait_is_over(
    joins: JoinPolicy, clock: FakeClock
) -> None:
    slot = waiting_slot(joins)
    fail(joins, LIMIT)
    with pytest.raises(TooManyAttempts) as refused:
        joins.join(slot, "guesser", GUESSER)
    assert refused.value.retry_after == 1
    # Refused before the registry was asked: the slot still waits for its receiver.
    assert not joins.registry.lookup(slot).used
    assert joins.join(slot, "receiver", "198.51.100.1").receiver == "receiver"
    clock.advance(1)  # one second, not the whole window
    with pytest.raises(CodeUsed):  # asked again, and counted again
        joins.join(slot, "guesser", GUESSER)
    with pytest.raises(TooManyAttempts) as refused:
        joins.join(slot, "guesser", GUESSER)
    assert refused.value.retry_after == 2


def test_the_wait_is_said_in_whole_seconds_rounded_up(joins: JoinPolicy, clock: FakeClock) -> None:
    fail(joins, LIMIT)
    clock.advance(0.75)
    with pytest.raises(TooManyAttempts) as refused:
        joins.join(unknown_slot(joins), "guesser", GUESSER)
    assert refused.value.retry_after == 1  # 0.25 s left: never "0"
    clock.advance(0.25)
    fail(joins, 1)
    clock.advance(0.5)
    with pytest.raises(TooManyAttempts) as refused:
        joins.join(unknown_slot(joins), "guesser", GUESSER)
    assert refused.value.retry_after == 2  # 1.5 s left


def test_a_success_does_not_reset_the_failures_of_its_address(joins: JoinPolicy) -> None:
    """Behind one address, a guesser could otherwise clear its count with a slot of its own."""
    fail(joins, LIMIT - 1)
    joins.join(waiting_slot(joins, "accomplice"), "guesser's own receiver", GUESSER)
    fail(joins, 1)
    with pytest.raises(TooManyAttempts):
        joins.join(waiting_slot(joins), "receiver", GUESSER)


def test_the_limit_counts_an_ipv6_subscriber_as_one_address(joins: JoinPolicy) -> None:
    for host in range(LIMIT):
        fail(joins, 1, f"2001:db8:0:1::{host + 1}")
    slot = waiting_slot(joins)
    with pytest.raises(TooManyAttempts):
        joins.join(slot, "guesser", "2001:db8:0:1:ffff::1")
    assert joins.join(slot, "receiver", "2001:db8:0:2::1").receiver == "receiver"


def test_a_join_that_ends_before_its_answer_counts_once(joins: JoinPolicy) -> None:
    # A guess that found a live slot: the server cannot check the words, so a pair that
    # never got through the handshake's first half costs the receiver's address a failure.
    pairing = joins.join(waiting_slot(joins), "guesser", GUESSER)
    for _ in range(LIMIT):  # the pair ending, and each member leaving after it
        joins.ended(pairing)
    assert len(joins.limiter) == 1
    assert joins.limiter.retry_after(GUESSER) == 0


def test_a_join_that_answered_and_ended_counts_nothing(joins: JoinPolicy) -> None:
    pairing = joins.join(waiting_slot(joins), "receiver", GUESSER)
    pairing.answered = True
    joins.ended(pairing, "cancelled")
    assert len(joins.limiter) == 0


@pytest.mark.parametrize("reported", ["wrong-code", "tampered", "bad-handshake"])
def test_a_failed_handshake_reported_counts_even_after_an_answer(joins: JoinPolicy, reported: str) -> None:
    pairing = joins.join(waiting_slot(joins), "guesser", GUESSER)
    pairing.answered = True
    joins.ended(pairing, reported)
    assert len(joins.limiter) == 1


def test_guesses_that_find_live_slots_are_made_to_wait(joins: JoinPolicy) -> None:
    for number in range(LIMIT):
        joins.ended(joins.join(waiting_slot(joins, f"sender {number}"), f"guess {number}", GUESSER))
    with pytest.raises(TooManyAttempts):
        joins.join(waiting_slot(joins, "another"), "guess", GUESSER)
