"""signal_server.signalling.ratelimit: failures per address in a sliding window, on a fake clock."""

from __future__ import annotations

from helpers.clock import FakeClock
from signal_server.signalling.ratelimit import FailureLimiter


def test_ratelimit_blocks_after_limit_failures() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(limit=3, window=60, clock=clock)
    for _ in range(2):
        limiter.record_failure("203.0.113.1")
        clock.now += 1
        assert not limiter.blocked("203.0.113.1")
    limiter.record_failure("203.0.113.1")
    assert limiter.blocked("203.0.113.1")
    assert not limiter.blocked("203.0.113.2")


def test_ratelimit_recovers_as_window_slides() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(limit=3, window=60, clock=clock)
    start = clock.now
    for offset in (0, 10, 20):
        clock.now = start + offset
        limiter.record_failure("a")
    assert limiter.blocked("a")
    clock.now = start + 59.999
    assert limiter.blocked("a")
    clock.now = start + 60  # the first failure has left the window
    assert not limiter.blocked("a")
    limiter.record_failure("a")  # ...but one more fills it again
    assert limiter.blocked("a")
    clock.now = start + 70  # the one at +10 leaves
    assert not limiter.blocked("a")
    clock.now = start + 200
    assert not limiter.blocked("a")
    assert len(limiter) == 0


def test_ratelimit_failures_outside_window_do_not_add_up() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(limit=3, window=60, clock=clock)
    for _ in range(10):
        limiter.record_failure("a")
        clock.now += 30.5  # never more than two inside any window
        assert not limiter.blocked("a")


def test_ratelimit_memory_is_bounded_by_recent_failures() -> None:
    """Addresses that failed once and never came back must not pile up."""
    clock = FakeClock()
    limiter = FailureLimiter(limit=3, window=60, clock=clock)
    for n in range(1000):
        limiter.record_failure(f"2001:db8::{n:x}")
    assert len(limiter) == 1000
    clock.now += 61
    limiter.record_failure("2001:db8::ffff")
    assert len(limiter) == 1
    assert not limiter.blocked("2001:db8::0")


def test_ratelimit_pruning_keeps_addresses_still_in_window() -> None:
    clock = FakeClock()
    start = clock.now
    limiter = FailureLimiter(limit=2, window=60, clock=clock)
    limiter.record_failure("old")  # +0
    clock.now = start + 30
    limiter.record_failure("busy")  # +30
    limiter.record_failure("busy")  # +30
    clock.now = start + 50
    limiter.record_failure("old")  # +50: "old" is now the most recent
    clock.now = start + 70  # only the failure at +0 has left the window
    limiter.record_failure("new")
    assert len(limiter) == 3
    assert limiter.blocked("busy")
    assert not limiter.blocked("old")
    clock.now = start + 90  # the failures at +30 leave the window
    limiter.record_failure("new")
    assert len(limiter) == 2  # "old" (+50) and "new" (+70, +90)
    assert limiter.blocked("new")
    assert not limiter.blocked("busy")


def test_limit_key_groups_an_ipv6_subscriber_by_64() -> None:
    from signal_server.addresses import limit_key

    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("::ffff:192.0.2.7") == limit_key("192.0.2.7") == "192.0.2.7"
    assert limit_key("not an address") == "not an address"
