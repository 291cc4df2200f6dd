"""The join policy: what counts as a failed join, and how many an address may make.

A plain object over the registry and the limiter; it knows nothing of socket.io. A
guess at a code, whether it names no waiting code, an expired one or one already used,
or is not a code at all, counts against the guesser's address; a member who is already
holding a code made no guess, so that refusal is not counted.
"""

from __future__ import annotations

import logging

from ..addresses import limit_key
from .codes import InvalidCode, normalize_code
from .ratelimit import FailureLimiter
from .registry import CodeNotFound, CodeRegistry, CodeUsed, Pairing

log = logging.getLogger(__name__)


class TooManyAttempts(Exception):
    """An address that has used up its failed joins for now; the registry was not asked."""

    def __init__(self) -> None:
        super().__init__("too many attempts")


class JoinPolicy:
    """Joins ``member`` to the code a person typed, counting failures per address."""

    def __init__(self, registry: CodeRegistry, limiter: FailureLimiter) -> None:
        self.registry = registry
        self.limiter = limiter

    def join(self, text: str, member: str, address: str) -> Pairing:
        """Pair ``member``, connected from ``address``, with the code ``text`` (as typed).

        Raises :class:`TooManyAttempts`, or the registry's refusal."""
        key = limit_key(address)
        if self.limiter.blocked(key):
            raise TooManyAttempts()
        try:
            try:
                code = normalize_code(text)
            except InvalidCode:
                # To the person who typed it, one more wrong code: the same answer, counted.
                raise CodeNotFound() from None
            return self.registry.join(code, member)
        except (CodeNotFound, CodeUsed) as error:
            self.limiter.record_failure(key)
            log.info("failed join from %s: %s", key, error)
            raise
