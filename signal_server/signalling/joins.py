"""The join policy: what counts as a failed join, and how long an address must then wait.

A plain object over the registry and the limiter; it knows nothing of socket.io. A
guess at a slot, whether it names no waiting slot, an expired one or one already used,
counts against the guesser's address; a member who is already holding a slot made no
guess, so that refusal is not counted. Neither is a payload that is no join at all (a
whole code, say): it is refused before it gets here.

A guess can also find a waiting slot: the server cannot check the words, only the
sender's handshake can. So a joined pair that ends before its receiver sent its sealed
answer, or that either member ends reporting a failed handshake, counts as a failed join
of the receiver's address too; otherwise a guesser who found live slots would guess for
free.
"""

from __future__ import annotations

import logging
import math

from sendit_protocol.errors import ErrorId

from ..addresses import limit_key
from .ratelimit import FailureLimiter
from .registry import CodeNotFound, CodeUsed, Pairing, SlotRegistry

log = logging.getLogger(__name__)

#: What a member reports when the handshake told it the other side had the wrong words,
#: or was not a SendIt peer at all.
HANDSHAKE_FAILURES = frozenset({ErrorId.WRONG_CODE, ErrorId.TAMPERED, ErrorId.BAD_HANDSHAKE})


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
            pairing = self.registry.join(slot, member)
        except (CodeNotFound, CodeUsed) as error:
            self.limiter.record_failure(key)
            # Debug only: the limiter logs an address once when it starts making it wait.
            log.debug("failed join from %s: %s", key, type(error).__name__)
            raise
        pairing.receiver_key = key
        return pairing

    def ended(self, pairing: Pairing, reported: str | None = None) -> None:
        """``pairing``, joined, is ending (cancelled with ``reported`` as its error id, done,
        or a member left): count it as a failed join if its handshake did not get through."""
        key, pairing.receiver_key = pairing.receiver_key, None
        if key is not None and (not pairing.answered or reported in HANDSHAKE_FAILURES):
            self.limiter.record_failure(key)
            log.debug("join from %s ended without a handshake", key)
