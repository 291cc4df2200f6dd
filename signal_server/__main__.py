"""``sendit-server`` / ``python -m signal_server``: run the signalling server."""

from __future__ import annotations

import asyncio
import gc
import logging
import resource
import sys
from pathlib import Path
from typing import Sequence

from aiohttp import web

from .accesslog import AccessLogger
from .app import create_app
from .config import load_config
from .errorlog import quiet_client_errors
from .tls import insecure_page_warning

log = logging.getLogger("signal_server")
#: What an unlimited hard limit is raised to: Linux's default ceiling (fs.nr_open).
UNLIMITED_FILES = 1_048_576


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (the ``fast`` extra): about a fifth less CPU per
    signalling message, measured with bench/signalling.py."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def tune_garbage_collection() -> None:
    """Keep collections from stalling every pairing at once.

    With a thousand pairs connected, a full collection walks some 300,000 long-lived
    objects and holds the event loop for over 100 ms (bench/signalling.py measured it
    as the p99 latency). Objects from start-up are frozen out of collections, and
    young collections run every 50,000 allocations instead of 700.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard one; returns (before, after).

    Each client's socket is an open file. The common soft limit of 1,024 lets 1,010 idle
    WebSockets make every other request fail, where the hard limit (often 524,288 or
    more) would hold them all and more; the per-address connection cap stops one client
    from getting near either."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = UNLIMITED_FILES if hard == resource.RLIM_INFINITY else hard
    # A container may grant a hard limit above the kernel's ceiling (fs.nr_open), which
    # setrlimit refuses; the ceiling is then the most there is.
    for limit in (wanted, min(wanted, _kernel_ceiling())):
        if soft == resource.RLIM_INFINITY or soft >= limit:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
            break
        except (ValueError, OSError):
            continue
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _kernel_ceiling() -> int:
    try:
        return int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        return UNLIMITED_FILES


def main(argv: Sequence[str] | None = None) -> None:
    config = load_config(argv)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_client_errors()
    files_before, files = raise_open_file_limit()
    app = create_app(config)
    tls = config.tls_context()
    tune_garbage_collection()

    def announce(_message: str) -> None:
        # run_app calls this once the socket is listening, so the line means "ready"; it is
        # the first line, which whoever started the server waits for.
        scheme = "http" if tls is None else "https"
        print(f"SendIt server on {scheme}://{config.host}:{config.port}/", file=sys.stderr, flush=True)
        log.info("open-file limit %d (it was %d)", files, files_before)
        warning = insecure_page_warning(config.host, tls is not None, bool(config.trusted_proxies))
        if warning is not None:
            log.warning("%s", warning)

    web.run_app(
        app,
        host=config.host,
        port=config.port,
        ssl_context=tls,
        print=announce,
        access_log_class=AccessLogger,
        loop=event_loop(),
        lingering_time=config.refusal_linger,
    )


if __name__ == "__main__":
    main()
