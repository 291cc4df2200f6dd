"""The join policy: what counts as a failed join, and how long an address must then wait.

A plain object over the registry and the limiter; it knows nothing of socket.io. A
guess at a slot, whether it names no waiting slot, an expired one or one already used,
counts against the guesser's address; a member who is already holding a slot made no
guess, so that refusal is not counted. Neither is a payload that is no join at all (a
whole code, say): it is refused before it gets here.
"""

from __future__ import annotations

import logging
import math

from ..addresses import limit_key
from .ratelimit import FailureLimiter
from .registry import CodeNotFound, CodeUsed, Pairing, SlotRegistry

log = logging.getLogger(__name__)


class TooManyAttempts(Exception):
    """An address that must wait before its next join; the registry was not asked."""

    def __init__(self, retry_after: float) -> None:
        super().__init__()
        #: Whole seconds to wait, at least 1: what a client can count down.
        self.retry_after = max(1, math.ceil(retry_after))


class JoinPolicy:
    """Joins ``member`` to the slot of the code a person typed, counting failures per address."""

    def __init__(self, registry: SlotRegistry, limiter: FailureLimiter) -> None:
        self.registry = registry
        self.limiter = limiter

    def join(self, slot: int, member: str, address: str) -> Pairing:
        """Pair ``member``, connected from ``address``, with the sender of ``slot``.

        Raises :class:`TooManyAttempts`, or the registry's refusal."""
        key = limit_key(address)
        wait = self.limiter.retry_after(key)
        if wait > 0:
            raise TooManyAttempts(wait)
        try:
            return self.registry.join(slot, member)
        except (CodeNotFound, CodeUsed) as error:
            self.limiter.record_failure(key)
            # Debug only: the limiter logs an address once when it starts making it wait.
            log.debug("failed join from %s: %s", key, type(error).__name__)
            raise
