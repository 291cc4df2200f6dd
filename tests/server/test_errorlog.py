"""signal_server/errorlog.py: what clients' garbage costs the log. Malformed HTTP goes
over a raw TCP connection to a real server."""

from __future__ import annotations

import asyncio
import logging

import pytest

from helpers.clock import FakeClock
from helpers.server import RunningServer
from signal_server.errorlog import ClientErrorFilter, Sparse, SparseLog, quiet_client_errors

MALFORMED = [
    b"GE\x00T / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
]


async def send_raw(server: RunningServer, request: bytes) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.fixture
def quiet() -> None:
    quiet_client_errors()


@pytest.mark.parametrize("request_bytes", MALFORMED)
async def test_a_malformed_request_costs_one_short_escaped_line(
    server: RunningServer, quiet: None, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        answer = await send_raw(server, request_bytes)
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:100]
    lines = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(lines) <= 1
    for record in lines:
        assert record.exc_info is None and record.levelno == logging.WARNING
        message = record.getMessage()
        assert message.startswith("refused a malformed HTTP request (400)") and "\n" not in message, message


async def test_a_flood_of_malformed_requests_writes_a_few_lines(
    server: RunningServer, quiet: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        for _ in range(200):
            await send_raw(server, MALFORMED[1])
    lines = [r for r in caplog.records if r.name == "aiohttp.server"]
    # 200 requests take well under a few seconds; five lines a second go out at most
    # (the filter is the process's, so an earlier test may have spent this second's).
    assert len(lines) < 40, len(lines)
    assert all(r.exc_info is None for r in lines)


def test_our_own_errors_keep_their_traceback() -> None:
    record = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", (), None)
    try:
        raise KeyError("a bug of ours")
    except KeyError:
        import sys

        record.exc_info = sys.exc_info()
    assert ClientErrorFilter().filter(record) and record.exc_info is not None


def test_sparse_log_says_how_many_lines_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sparse = SparseLog(logging.getLogger("test.sparse"), Sparse(per_second=2, clock=clock))
    with caplog.at_level(logging.WARNING, logger="test.sparse"):
        for _ in range(50):
            sparse.warning("refused %s", "x")
        clock.advance(0.5)
        sparse.warning("refused %s", "y")
    assert [r.getMessage() for r in caplog.records] == ["refused x", "refused y (49 similar lines suppressed)"]
