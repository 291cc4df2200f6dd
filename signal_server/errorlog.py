"""What the server's log takes from clients: one short line for a malformed input, at
most a few a second, with the client's text escaped, so a flood of garbage costs the log
nothing and cannot forge lines. Tracebacks are for our own bugs."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from aiohttp.http_exceptions import HttpProcessingError

#: How much of a client's text the log shows (escaped): enough to recognise it.
SHOWN = 40
HELD_BACK = " (%d similar lines suppressed)"


class Sparse:
    """Lets at most ``per_second`` lines a second through and counts the rest."""

    def __init__(self, per_second: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second
        self.clock = clock
        self.next_at = 0.0
        self.held = 0

    def admit(self) -> int | None:
        """None if this line is held back; else how many were held back before it."""
        now = self.clock()
        if now < self.next_at:
            self.held += 1
            return None
        self.next_at = now + self.interval
        held, self.held = self.held, 0
        return held


class SparseLog:
    """Warnings through a :class:`Sparse`; a line that goes out says how many it follows."""

    def __init__(self, logger: logging.Logger, sparse: Sparse | None = None) -> None:
        self.logger = logger
        self.sparse = sparse or Sparse()

    def warning(self, message: str, *args: Any) -> None:
        held = self.sparse.admit()
        if held is None:
            return
        if held:
            message, args = message + HELD_BACK, (*args, held)
        self.logger.warning(message, *args)


def shown(data: str | bytes) -> str:
    """A client's text as the log shows it: its start, escaped, so it cannot forge lines."""
    return repr(data[:SHOWN]) + ("..." if len(data) > SHOWN else "")


class ClientErrorFilter(logging.Filter):
    """Turns aiohttp's traceback for a request it could not parse (the client's fault,
    answered with 400) into one short warning, sparse; lets everything else through."""

    def __init__(self, sparse: Sparse | None = None) -> None:
        super().__init__()
        self.sparse = sparse or Sparse()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        held = self.sparse.admit()
        if held is None:
            return False
        lines = str(error.message).strip().splitlines()
        record.msg = "refused a malformed HTTP request (%d): %s" + (HELD_BACK if held else "")
        record.args = (error.code, shown(lines[0] if lines else ""), *((held,) if held else ()))
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = None
        record.exc_text = None
        return True


def quiet_client_errors() -> None:
    """Install the filter on aiohttp's server log, once per process."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorFilter) for f in server_log.filters):
        server_log.addFilter(ClientErrorFilter())
