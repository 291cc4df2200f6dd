"""How a run or a transfer ends: a future settled once, and waiting on it alongside a step."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Awaitable, TypeVar

from .errors import PeerError

T = TypeVar("T")


def settle(ended: asyncio.Future[None], error: PeerError | None) -> bool:
    """End with ``error``, or successfully without; False if ``ended`` was already settled."""
    if ended.done():
        return False
    if error is None:
        ended.set_result(None)
    else:
        ended.set_exception(error)
        # An ending nobody awaits (it came before anything waited on it) is not a bug.
        ended.add_done_callback(lambda future: future.exception())
    return True


def set_once(future: asyncio.Future[T], value: T) -> None:
    """Give ``future`` its result unless it is settled already: the event that settles it
    may come again, or after whoever waited on it gave up (and cancelled it)."""
    if not future.done():
        future.set_result(value)


async def unless_ended(awaitable: Awaitable[Any], ended: asyncio.Future[None]) -> Any:
    """The result of ``awaitable``, unless ``ended`` settles first: then its error is
    raised (or ``None`` returned) and the step is cancelled."""
    step = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait([step, ended], return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        await _cancel(step)
        raise
    if not step.done():
        await _cancel(step)
        return ended.result()
    if ended.done() and ended.exception() is not None:
        # The reason the whole thing ended beats the step's own error.
        if not step.cancelled():
            step.exception()
        ended.result()
    return step.result()


async def _cancel(step: asyncio.Future[Any]) -> None:
    """Cancel ``step`` and wait for it to unwind; how it ends no longer matters."""
    step.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await step
