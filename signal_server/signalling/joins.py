"""The join policy: what counts as a failed join, and how long an address must then wait.

A plain object over the registry and the limiter; it knows nothing of socket.io. A
guess at a code, whether it names no waiting code, an expired one or one already used,
or is not a code at all, counts against the guesser's address; a member who is already
holding a code made no guess, so that refusal is not counted.
"""

from __future__ import annotations

import logging
import math

from ..addresses import limit_key
from .codes import InvalidCode, normalize_code
from .ratelimit import FailureLimiter
from .registry import CodeNotFound, CodeRegistry, CodeUsed, Pairing

log = logging.getLogger(__name__)


class TooManyAttempts(Exception):
    """An address that must wait before its next join; the registry was not asked."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many attempts")
        #: Whole seconds to wait, at least 1: what a client can count down.
        self.retry_after = max(1, math.ceil(retry_after))


class JoinPolicy:
    """Joins ``member`` to the code a person typed, counting failures per address."""

    def __init__(self, registry: CodeRegistry, limiter: FailureLimiter) -> None:
        self.registry = registry
        self.limiter = limiter

    def join(self, text: str, member: str, address: str) -> Pairing:
        """Pair ``member``, connected from ``address``, with the code ``text`` (as typed).

        Raises :class:`TooManyAttempts`, or the registry's refusal."""
        key = limit_key(address)
        wait = self.limiter.retry_after(key)
        if wait > 0:
            raise TooManyAttempts(wait)
        try:
            try:
                code = normalize_code(text)
            except InvalidCode:
                # To the person who typed it, one more wrong code: the same answer, counted.
                raise CodeNotFound() from None
            return self.registry.join(code, member)
        except (CodeNotFound, CodeUsed) as error:
            self.limiter.record_failure(key)
            # Debug only: the limiter logs an address once when it starts making it wait.
            log.debug("failed join from %s: %s", key, error)
            raise
