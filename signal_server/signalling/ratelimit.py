"""Per-address limit on failed attempts, so codes cannot be guessed by brute force."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Callable


class FailureLimiter:
    """Allows at most ``limit`` failures per address in any ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        # Ordered by latest failure, oldest first, so stale addresses are pruned from the front.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

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
        self._failures.move_to_end(address)
        # Forget addresses whose latest failure has left the window, so addresses that
        # fail once and never come back do not pile up.
        horizon = self._clock() - self.window
        while self._failures:
            oldest = next(iter(self._failures.values()))
            if oldest[-1] > horizon:
                break
            self._failures.popitem(last=False)

    def __len__(self) -> int:
        """Addresses currently remembered (memory is bounded by recent failures)."""
        return len(self._failures)
