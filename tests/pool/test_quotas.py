"""signal_server.pool.quotas on its own: what one address may have of the pool, on a
clock the test moves."""

from __future__ import annotations

import contextlib
import logging

import pytest

from helpers.clock import FakeClock
from signal_server.pool.quotas import WINDOW, QuotaExceeded, QuotaLimits, UploadQuotas

A, B = "192.0.2.1", "198.51.100.7"


def refusal(quotas: UploadQuotas, key: str) -> QuotaExceeded:
    with pytest.raises(QuotaExceeded) as refused:
        with quotas.uploading(key):
            raise AssertionError("admitted")
    return refused.value


def test_uploads_in_flight_are_capped_per_address() -> None:
    quotas = UploadQuotas(QuotaLimits(in_flight=3))
    with contextlib.ExitStack() as uploads:
        for _ in range(3):
            uploads.enter_context(quotas.uploading(A))
        refused = refusal(quotas, A)
        assert str(refused) == (
            "your address already has 3 uploads in progress: wait for one to finish, then try again"
        )
        # How long is up to the uploader's own uploads: no time to name.
        assert refused.retry_after is None
        assert quotas.in_flight(A) == 3  # the refused one is not counted
        with quotas.uploading(B):  # another address is not affected
            assert quotas.in_flight(B) == 1
    assert quotas.in_flight(A) == 0
    with quotas.uploading(A):
        assert quotas.in_flight(A) == 1


def test_an_upload_that_fails_frees_its_place() -> None:
    quotas = UploadQuotas(QuotaLimits(in_flight=1))
    with pytest.raises(OSError):
        with quotas.uploading(A):
            raise OSError("the disk is full")
    with quotas.uploading(A):
        pass


def test_files_held_are_capped_per_address_counting_uploads_in_flight() -> None:
    quotas = UploadQuotas(QuotaLimits(held=3, per_minute=100))
    for _ in range(2):
        with quotas.uploading(A):
            quotas.hold(A)  # committed: the store puts it on the shelf
    with quotas.uploading(A):
        # Two held and this one on its way: a third could not start now.
        refused = refusal(quotas, A)
        assert "already has 3 files in the pool" in str(refused) and refused.retry_after is None
        quotas.hold(A)
    assert quotas.held(A) == 3
    assert "already has 3 files" in str(refusal(quotas, A))
    with quotas.uploading(B):
        quotas.hold(B)
    quotas.release(A)  # someone took one of A's files
    with quotas.uploading(A):
        pass
    assert quotas.held(A) == 2 and quotas.held(B) == 1


def test_uploads_per_minute_are_capped_and_come_back_as_time_passes() -> None:
    clock = FakeClock()
    quotas = UploadQuotas(QuotaLimits(per_minute=10), clock=clock)
    for _ in range(10):
        with quotas.uploading(A):
            clock.advance(1)
    refused = refusal(quotas, A)
    assert str(refused) == "your address started 10 uploads in the last minute: try again in 50 s"
    assert refused.retry_after == 50  # the first of the ten leaves the window then
    with quotas.uploading(B):
        pass
    clock.advance(30)
    # Refusals are not counted: pressing on does not push the wait further out.
    for _ in range(5):
        assert refusal(quotas, A).retry_after == 20
    clock.advance(20)
    with quotas.uploading(A):  # one place free: the first upload's
        pass
    assert refusal(quotas, A).retry_after == 1
    clock.advance(WINDOW)
    for _ in range(10):
        with quotas.uploading(A):
            pass


def test_a_wait_under_a_second_is_said_as_one() -> None:
    clock = FakeClock()
    quotas = UploadQuotas(QuotaLimits(per_minute=1), clock=clock)
    with quotas.uploading(A):
        pass
    clock.advance(WINDOW - 0.25)
    assert refusal(quotas, A).retry_after == 1


def test_each_quota_is_logged_once_per_address(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="signal_server.pool")
    clock = FakeClock()
    quotas = UploadQuotas(QuotaLimits(in_flight=1, per_minute=2), clock=clock)
    with quotas.uploading(A):
        for _ in range(5):
            refusal(quotas, A)
    with quotas.uploading(A):
        pass
    for _ in range(5):
        refusal(quotas, A)
    # What a trusted proxy passed on is escaped: it cannot forge a line of its own.
    forged = B + "\nWARNING forged"
    with quotas.uploading(forged):
        refusal(quotas, forged)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "pool: '192.0.2.1' reached its quota of 1 uploads in flight; refusing more from it",
        "pool: '192.0.2.1' reached its quota of 2 uploads per minute; refusing more from it",
        "pool: '198.51.100.7\\nWARNING forged' reached its quota of 1 uploads in flight; refusing more from it",
    ]
    # Once the address is forgotten (nothing held, nothing in flight, the window past),
    # reaching a quota again is news again.
    clock.advance(WINDOW)
    with quotas.uploading(A):
        refusal(quotas, A)
    assert len(caplog.records) == 4


def test_memory_is_bounded_by_what_is_live() -> None:
    clock = FakeClock()
    quotas = UploadQuotas(clock=clock)
    for number in range(10_000):
        with quotas.uploading(f"2001:db8:{number:x}::/64"):
            pass
    assert len(quotas) == 10_000  # each started an upload within the minute
    quotas.hold(A)
    clock.advance(WINDOW)
    with quotas.uploading(B):
        pass
    assert len(quotas) == 2  # A holds a file; B just started
    quotas.release(A)
    assert len(quotas) == 1
