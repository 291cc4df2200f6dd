"""Per-address limit on failed attempts, so codes cannot be guessed by brute force."""

from __future__ import annotations

import time
from collections import deque
from typing import Callable


class FailureLimiter:
    """Allows at most ``limit`` failures per address in any ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def blocked(self, address: str) -> bool:
        """Whether this address has used up its failures for now."""
        failures = self._recent(address)
        return failures is not None and len(failures) >= self.limit

    def record_failure(self, address: str) -> None:
        failures = self._recent(address)
        if failures is None:
            failures = self._failures[address] = deque()
        failures.append(self._clock())

    def __len__(self) -> int:
        """Addresses currently remembered (memory is bounded by recent failures)."""
        return len(self._failures)
