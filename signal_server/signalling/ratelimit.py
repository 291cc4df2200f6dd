"""Per-address limit on failed attempts, so codes cannot be guessed by brute force, without
locking out everyone who shares an address with a guesser for long."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger(__name__)

#: Addresses remembered at most; past it, the one whose latest failure is oldest is
#: forgotten. Some 300 bytes each, 550 with a full window of failures (measured with
#: tracemalloc), so the limiter stays under 6 MB however many addresses fail.
MAX_ADDRESSES = 10_000


@dataclass(frozen=True)
class Backoff:
    """How failures are answered: ``allowance`` per ``window`` seconds for free; from then
    on each failure makes its address wait ``first`` seconds, doubled for every further
    failure within the window, at most ``longest``."""

    allowance: int
    window: float
    first: float = 1.0
    longest: float = 60.0

    def wait(self, failures: int) -> float:
        """The wait after ``failures`` failures within the window."""
        if failures < self.allowance:
            return 0.0
        # min() before the power: a huge exponent would overflow a float.
        return min(self.first * 2.0 ** min(failures - self.allowance, 64), self.longest)


@dataclass(slots=True)
class _Record:
    # A list, not a deque: it holds a few dozen times at most, and an empty deque alone
    # takes over 600 bytes.
    failures: list[float] = field(default_factory=list)
    blocked_until: float = 0.0
    #: Whether the address's first wait has been logged (once per record, not per refusal).
    reported: bool = False


class FailureLimiter:
    """Counts failures per address and says how long an address must wait before its next
    attempt. A success resets nothing: behind a shared address, one person's success must
    not clear a guesser's failures."""

    def __init__(
        self,
        backoff: Backoff,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.backoff = backoff
        self.max_addresses = max_addresses
        self._clock = clock
        # Ordered by latest failure, oldest first, so stale addresses are pruned from the front.
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _expired(self, record: _Record, now: float) -> bool:
        return record.failures[-1] + self.backoff.window <= now and record.blocked_until <= now

    def retry_after(self, address: str) -> float:
        """Seconds this address must wait before its next attempt; 0 if it may try now."""
        record = self._records.get(address)
        if record is None:
            return 0.0
        return max(0.0, record.blocked_until - self._clock())

    def record_failure(self, address: str) -> float:
        """Count a failure; returns the wait it imposes (0 within the allowance)."""
        now = self._clock()
        record = self._records.get(address)
        if record is None or self._expired(record, now):
            record = self._records[address] = _Record()
        horizon = now - self.backoff.window
        record.failures = [failure for failure in record.failures if failure > horizon]
        record.failures.append(now)
        self._records.move_to_end(address)
        wait = self.backoff.wait(len(record.failures))
        if wait:
            record.blocked_until = now + wait
            if not record.reported:
                record.reported = True
                log.warning(
                    "%r failed %d times within %g s; it now waits before each further attempt",
                    address,
                    self.backoff.allowance,
                    self.backoff.window,
                )
        self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        # Forget addresses that have stopped failing, so addresses that fail once and never
        # come back do not pile up; and the oldest past the bound, so that many addresses
        # failing at once do not either.
        records = self._records
        while records and (len(records) > self.max_addresses or self._expired(next(iter(records.values())), now)):
            records.popitem(last=False)

    def __len__(self) -> int:
        """Addresses currently remembered."""
        return len(self._records)
