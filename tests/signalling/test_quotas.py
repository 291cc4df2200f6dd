"""signal_server.signalling.quotas: what one address holds at once, capped, logged once."""

from __future__ import annotations

import logging

import pytest

from signal_server.signalling.quotas import Quota

A, B = "203.0.113.1", "198.51.100.1"


def test_an_address_holds_up_to_the_limit_and_no_more() -> None:
    quota = Quota(3, "connections")
    assert [quota.acquire(A) for _ in range(4)] == [True, True, True, False]
    assert quota.held(A) == 3  # the refusal took nothing
    assert quota.acquire(B), "another address is not affected"
    quota.release(A)
    assert quota.acquire(A)
    assert not quota.acquire(A)


def test_an_address_holding_nothing_is_forgotten() -> None:
    quota = Quota(2, "connections")
    for n in range(100_000):
        address = f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::/64"
        assert quota.acquire(address)
        quota.release(address)
    assert len(quota) == 0
    quota.acquire(A)
    quota.acquire(A)
    quota.release(A)
    assert len(quota) == 1 and quota.held(A) == 1
    quota.release(A)
    assert len(quota) == 0 and quota.held(A) == 0


def test_the_cap_is_logged_once_per_address_while_it_holds(caplog: pytest.LogCaptureFixture) -> None:
    quota = Quota(2, "open codes")
    with caplog.at_level(logging.WARNING, logger="signal_server.signalling.quotas"):
        quota.acquire(A)
        quota.acquire(A)
        for _ in range(50):
            assert not quota.acquire(A)
        quota.release(A)  # still holding one: the cap is not news when reached again
        quota.acquire(A)
        assert not quota.acquire(A)
        assert [r.getMessage() for r in caplog.records] == [
            f"{A!r} holds 2 open codes, the most one address may; more are refused until it releases some "
            "(is it a proxy to name with --trusted-proxy?)"
        ]
        quota.acquire(B)
        quota.acquire(B)
        assert not quota.acquire(B)
        assert len(caplog.records) == 2 and B in caplog.records[1].getMessage()
        # Once it held nothing, reaching the cap again is logged again.
        quota.release(A)
        quota.release(A)
        quota.acquire(A)
        quota.acquire(A)
        assert not quota.acquire(A)
        assert len(caplog.records) == 3
