"""What the TURN relay answered to a connection's Allocate while it gathered its candidates.

aioice asks the relay for a relayed candidate and, if that fails, drops the candidate
without a word: a relay that refuses our credentials would look exactly like no path
at all. docs/PROTOCOL.md 3.5 tells the two apart, so a refusal is caught on its way
out of ``aioice.ice.relayed_candidate`` and kept for the connection it belongs to,
through a context variable as in :mod:`.localip`. A relay that gave no candidate
without refusing is the other fact, unreachable (:mod:`.candidates` tells it).
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Any, Iterator

import aioice.ice
from aioice import stun

from sendit_protocol.ice import TURN_REFUSALS

#: A nonce the relay no longer takes: not a refusal, a request to try again with the new one.
STALE_NONCE = 438


@dataclass
class TurnAnswer:
    """Whether the relay refused one connection's Allocate."""

    refused: bool = False


_watched: contextvars.ContextVar[TurnAnswer | None] = contextvars.ContextVar("sendit_turn_answer", default=None)
_allocate = aioice.ice.relayed_candidate


def refusal(error: BaseException) -> bool:
    """Whether a failed Allocate is the relay refusing us (3.5)."""
    return isinstance(error, stun.TransactionFailed) and error.response.error_code in TURN_REFUSALS


async def _relayed_candidate(**kwargs: Any) -> Any:
    try:
        try:
            return await _allocate(**kwargs)
        except stun.TransactionFailed as error:
            if error.response.error_code != STALE_NONCE:
                raise
        # aioice spends its one retry on the 401 that brings the first nonce, so a stale
        # one ends its Allocate; a fresh Allocate is told a fresh nonce (RFC 8489 9.2.5).
        return await _allocate(**kwargs)
    except BaseException as error:
        answer = _watched.get()
        if answer is not None and refusal(error):
            answer.refused = True
        raise


# aioice looks the function up in its module each time it gathers, in a task created
# under the caller's context, so the variable set by watching() reaches it.
aioice.ice.relayed_candidate = _relayed_candidate


@contextlib.contextmanager
def watching(answer: TurnAnswer) -> Iterator[None]:
    """Keep in ``answer`` how the relay answered connections gathering inside."""
    token = _watched.set(answer)
    try:
        yield
    finally:
        _watched.reset(token)
