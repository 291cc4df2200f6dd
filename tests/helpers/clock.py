"""A clock the test moves by hand, for the plain objects that take one (registry,
limiter, join policy): time passes exactly as the test says."""

from __future__ import annotations


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
