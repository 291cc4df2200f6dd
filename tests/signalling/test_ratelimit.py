"""signal_server.signalling.ratelimit: an allowance of failures per address, then a wait
that doubles per further failure; bounded memory. All on a fake clock."""

from __future__ import annotations

import logging
import tracemalloc

import pytest

from helpers.clock import FakeClock
from signal_server.signalling.ratelimit import MAX_ADDRESSES, Backoff, FailureLimiter

BACKOFF = Backoff(allowance=3, window=60, first=1, longest=8)
GUESSER = "203.0.113.1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> FailureLimiter:
    return FailureLimiter(BACKOFF, clock=clock)


def test_the_wait_doubles_past_the_allowance_up_to_the_longest() -> None:
    assert [BACKOFF.wait(n) for n in range(9)] == [0, 0, 0, 1, 2, 4, 8, 8, 8]
    assert BACKOFF.wait(10**9) == 8  # no overflow however many


def test_failures_within_the_allowance_cost_no_wait(limiter: FailureLimiter, clock: FakeClock) -> None:
    for _ in range(2):
        assert limiter.record_failure(GUESSER) == 0
        assert limiter.retry_after(GUESSER) == 0
        clock.advance(1)
    assert limiter.record_failure(GUESSER) == 1
    assert limiter.retry_after(GUESSER) == 1
    assert limiter.retry_after("203.0.113.2") == 0


def test_each_further_failure_doubles_the_wait(limiter: FailureLimiter, clock: FakeClock) -> None:
    for _ in range(2):
        limiter.record_failure(GUESSER)
    waits = []
    for _ in range(5):
        waits.append(limiter.record_failure(GUESSER))
        clock.advance(limiter.retry_after(GUESSER) - 0.25)
        assert limiter.retry_after(GUESSER) == pytest.approx(0.25)
        clock.advance(0.25)
        assert limiter.retry_after(GUESSER) == 0
    assert waits == [1, 2, 4, 8, 8]


def test_the_wait_shrinks_again_as_failures_leave_the_window(limiter: FailureLimiter, clock: FakeClock) -> None:
    for _ in range(5):  # 3 allowed, 2 more: the next would cost 4 s
        limiter.record_failure(GUESSER)
    clock.advance(61)  # all have left the window: a fresh allowance
    assert limiter.retry_after(GUESSER) == 0
    assert [limiter.record_failure(GUESSER) for _ in range(3)] == [0, 0, 1]


def test_a_guesser_that_retries_the_moment_it_may_gets_about_a_thousand_guesses_an_hour(clock: FakeClock) -> None:
    """The guessing cost README states, for the defaults (20 a minute, then 1 s doubling)."""
    limiter = FailureLimiter(Backoff(allowance=20, window=60, first=1, longest=60), clock=clock)
    start, guesses = clock.now, {600: 0, 3600: 0}
    while clock.now - start < 3600:
        wait = limiter.retry_after(GUESSER)
        if wait:
            clock.advance(wait)
            continue
        limiter.record_failure(GUESSER)
        for horizon in guesses:
            guesses[horizon] += clock.now - start < horizon
        clock.advance(0.001)  # one round trip
    assert guesses == {600: 196, 3600: 1049}


def test_a_wait_longer_than_the_window_is_kept_until_it_ends(clock: FakeClock) -> None:
    limiter = FailureLimiter(Backoff(allowance=1, window=10, first=100, longest=100), clock=clock)
    limiter.record_failure(GUESSER)
    clock.advance(50)
    limiter.record_failure("203.0.113.2")  # prunes what has expired
    assert limiter.retry_after(GUESSER) == 50
    clock.advance(50)
    assert limiter.retry_after(GUESSER) == 0
    limiter.record_failure("203.0.113.2")
    assert len(limiter) == 1


def test_addresses_that_stop_failing_are_forgotten(limiter: FailureLimiter, clock: FakeClock) -> None:
    for n in range(1000):
        limiter.record_failure(f"2001:db8:0:{n:x}::/64")
    assert len(limiter) == 1000
    clock.advance(61)
    limiter.record_failure("2001:db8:ffff::/64")
    assert len(limiter) == 1
    assert limiter.retry_after("2001:db8:0:0::/64") == 0


def test_pruning_keeps_addresses_still_in_the_window(limiter: FailureLimiter, clock: FakeClock) -> None:
    start = clock.now
    limiter.record_failure("old")  # +0
    clock.now = start + 30
    for _ in range(3):
        limiter.record_failure("busy")  # +30: it waits until +31
    clock.now = start + 50
    limiter.record_failure("old")  # +50: "old" is now the most recent
    clock.now = start + 70  # only the failure at +0 has left the window
    limiter.record_failure("new")
    assert len(limiter) == 3
    clock.now = start + 91  # "busy" has neither failed nor waited for 60 s
    limiter.record_failure("new")
    assert len(limiter) == 2  # "old" (+50) and "new" (+70, +91)


def test_a_hundred_thousand_failing_addresses_keep_the_limiter_bounded(clock: FakeClock) -> None:
    limiter = FailureLimiter(Backoff(allowance=20, window=60), clock=clock)
    tracemalloc.start()
    try:
        for n in range(100_000):
            limiter.record_failure(f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::/64")
            if n % 1000 == 0:
                assert len(limiter) <= MAX_ADDRESSES
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(limiter) == MAX_ADDRESSES
    assert held < 4 * 1024 * 1024, f"{held / 1024 / 1024:.1f} MiB"
    # The newest are those kept: an address failing now is still counted.
    newest = f"2001:db8:{99_999 >> 16:x}:{99_999 & 0xFFFF:x}::/64"
    assert [limiter.record_failure(newest) for _ in range(19)][-1] == 1


def test_an_address_is_logged_once_when_it_first_has_to_wait(
    limiter: FailureLimiter, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="signal_server.signalling.ratelimit"):
        for _ in range(10):
            limiter.record_failure(GUESSER)
            clock.advance(limiter.retry_after(GUESSER))
        assert [r.getMessage() for r in caplog.records] == [
            f"{GUESSER!r} failed 3 times within 60 s; it now waits before each further attempt"
        ]
        clock.advance(61)  # forgotten; a new run of failures is news again
        for _ in range(3):
            limiter.record_failure(GUESSER)
    assert len(caplog.records) == 2


def test_limit_key_groups_an_ipv6_subscriber_by_64() -> None:
    from signal_server.addresses import limit_key

    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("::ffff:192.0.2.7") == limit_key("192.0.2.7") == "192.0.2.7"
    assert limit_key("not an address") == "not an address"
