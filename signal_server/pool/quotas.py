"""What one client address may have of the pool: files held, uploads in flight, and
uploads started per minute.

A plain object, counted under the addresses' limit keys (see
:func:`signal_server.addresses.limit_key`) and told of each change by the routes (an
upload begins and ends) and by the store (a file enters the shelf or leaves it). Without
it one address could fill the pool for everyone, hold every token, or tie up every
upload slot with uploads that never send their body.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Iterator

from .refusal import Refusal

log = logging.getLogger(__name__)

#: The span that ``QuotaLimits.per_minute`` counts uploads over, in seconds.
WINDOW = 60.0


@dataclass(frozen=True)
class QuotaLimits:
    """How much one address may have of the pool at once (see docs/POOL.md for why)."""

    #: Files in the pool from the address that nobody has taken yet, its uploads in
    #: flight included (each may become one).
    held: int = 20
    #: Uploads in progress, from their request's headers to their answer.
    in_flight: int = 3
    #: Uploads started in any :data:`WINDOW`; those a quota refuses are not counted
    #: (one refused later, for its type or size, was started and is).
    per_minute: int = 10


class QuotaExceeded(Refusal):
    """An upload refused because its address is at a quota; ``str(error)`` is for the
    uploader, ``error_id`` names the quota."""

    def __init__(self, message: str, error_id: str, retry_after: int | None = None) -> None:
        super().__init__(message, error_id)
        #: Whole seconds after which the address may upload again; None when that
        #: depends on others (someone taking a file) or on the uploader's own uploads.
        self.retry_after = retry_after


class UploadQuotas:
    """The pool's per-address quotas. Memory is bounded by what is live: an address is
    remembered only while it holds a file, has an upload in flight, or started one
    within the window."""

    def __init__(self, limits: QuotaLimits = QuotaLimits(), clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._held: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        # Ordered by latest start, oldest first, so stale addresses are pruned from the front.
        self._starts: OrderedDict[str, deque[float]] = OrderedDict()
        #: The quotas each address was logged as reaching, so a client pressing on a
        #: quota writes one line, not one per refusal.
        self._logged: dict[str, set[str]] = {}

    def held(self, key: str) -> int:
        return self._held[key]

    def in_flight(self, key: str) -> int:
        return self._in_flight[key]

    def __len__(self) -> int:
        """Addresses currently remembered."""
        return len(self._held.keys() | self._in_flight.keys() | self._starts.keys())

    @contextlib.contextmanager
    def uploading(self, key: str) -> Iterator[None]:
        """One upload from ``key`` in flight for the length of the block; raises
        :class:`QuotaExceeded`, counting nothing, if the address is at a quota."""
        self._admit(key)
        try:
            yield
        finally:
            self._decrement(self._in_flight, key)

    def hold(self, key: str) -> None:
        """A file from ``key`` entered the pool (or came back to it)."""
        self._held[key] += 1

    def release(self, key: str) -> None:
        """A file from ``key`` left the pool: someone took it."""
        self._decrement(self._held, key)

    def _admit(self, key: str) -> None:
        limits = self.limits
        now = self._clock()
        self._prune(now)
        if self._in_flight[key] >= limits.in_flight:
            self._refuse(
                key,
                f"{limits.in_flight} uploads in flight",
                "too-many-uploads-in-flight",
                f"your address already has {limits.in_flight} uploads in progress: "
                "wait for one to finish, then try again",
            )
        if self._held[key] + self._in_flight[key] >= limits.held:
            self._refuse(
                key,
                f"{limits.held} files held",
                "too-many-files-held",
                f"your address already has {limits.held} files in the pool, or on their way, "
                "that nobody has taken yet: try again once someone has taken one",
            )
        starts = self._recent(key, now)
        if len(starts) >= limits.per_minute:
            wait = max(1, math.ceil(starts[0] + WINDOW - now))
            self._refuse(
                key,
                f"{limits.per_minute} uploads per minute",
                "rate-limited",
                f"your address started {limits.per_minute} uploads in the last minute: try again in {wait} s",
                wait,
            )
        self._in_flight[key] += 1
        starts.append(now)
        self._starts[key] = starts
        self._starts.move_to_end(key)

    def _refuse(self, key: str, quota: str, error_id: str, message: str, retry_after: int | None = None) -> None:
        logged = self._logged.setdefault(key, set())
        if quota not in logged:
            logged.add(quota)
            # repr: behind a trusted proxy the address is whatever the proxy passed on.
            log.warning("pool: %r reached its quota of %s; refusing more from it", key, quota)
        raise QuotaExceeded(message, error_id, retry_after)

    def _recent(self, key: str, now: float) -> deque[float]:
        """The starts of ``key`` within the window (a new deque if none)."""
        starts = self._starts.get(key, deque())
        while starts and starts[0] <= now - WINDOW:
            starts.popleft()
        return starts

    def _prune(self, now: float) -> None:
        """Forget the addresses whose latest start has left the window (they are first:
        the order is by latest start)."""
        while self._starts:
            key, starts = next(iter(self._starts.items()))
            if starts[-1] > now - WINDOW:
                break
            del self._starts[key]
            self._forget_if_idle(key)

    def _decrement(self, counter: Counter[str], key: str) -> None:
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]
            self._forget_if_idle(key)

    def _forget_if_idle(self, key: str) -> None:
        if key not in self._held and key not in self._in_flight and key not in self._starts:
            self._logged.pop(key, None)
