"""What the TURN relay answered to a connection's Allocate while it gathered its candidates.

aioice asks the relay for a relayed candidate and, if that fails, drops the candidate
without a word: a relay that refuses our credentials would look exactly like no path
at all. docs/PROTOCOL.md 3.5 tells the two apart, so the failure is caught on its way
out of ``aioice.ice.relayed_candidate`` and kept for the connection it belongs to,
through a context variable as in :mod:`.localip`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from dataclasses import dataclass
from typing import Any, Iterator

import aioice.ice
from aioice import stun

from sendit_protocol.ice import TURN_REFUSALS, TurnError


@dataclass
class TurnAnswer:
    """How the relay answered one connection's Allocate, if it failed."""

    error: TurnError | None = None


_watched: contextvars.ContextVar[TurnAnswer | None] = contextvars.ContextVar("sendit_turn_answer", default=None)
_allocate = aioice.ice.relayed_candidate


def turn_error(error: BaseException) -> TurnError | None:
    """What a failed Allocate means (3.5): refused, unreachable, or neither."""
    if isinstance(error, stun.TransactionFailed):
        return TurnError.REFUSED if error.response.error_code in TURN_REFUSALS else None
    if isinstance(error, (stun.TransactionTimeout, OSError, asyncio.CancelledError)):
        # aioice gives gathering 5 s and then cancels what is still pending: a relay
        # that has not answered by then did not answer.
        return TurnError.UNREACHABLE
    return None


async def _relayed_candidate(**kwargs: Any) -> Any:
    try:
        return await _allocate(**kwargs)
    except BaseException as error:
        answer = _watched.get()
        if answer is not None and answer.error is None:
            answer.error = turn_error(error)
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
