"""Per-address quotas of the pool through its HTTP API: real multipart uploads to a real
server behind a trusted proxy (127.0.0.1), each simulated client an X-Forwarded-For."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from helpers.pool import from_address, pool_area, pool_download, pool_stats, pool_upload
from helpers.server import RunningServer, running_server, wait_until
from signal_server.pool.routes import POOL_KEY

PROXY = frozenset({"127.0.0.1"})
A, B, C = "192.0.2.10", "198.51.100.20", "203.0.113.30"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def pool_dir(server: RunningServer) -> Path:
    return server.config.pool_dir


async def upload_from(
    http: aiohttp.ClientSession, server: RunningServer, address: str, data: bytes
) -> tuple[int, CIMultiDictProxy[str], dict[str, Any]]:
    """An upload from ``address``: status, headers and JSON answer."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename="a.txt", content_type="text/plain")
    async with http.post(server.url + "/api/upload", data=form, headers=from_address(address)) as response:
        return response.status, response.headers, await response.json()


async def assert_kept(http: aiohttp.ClientSession, server: RunningServer, count: int) -> None:
    """The pool holds ``count`` files, as many tokens, and nothing half received."""
    assert (await pool_stats(http, server.url))["count"] == count
    assert len(pool_area(pool_dir(server), "files")) == len(pool_area(pool_dir(server), "tokens")) == count
    assert pool_area(pool_dir(server), "incoming") == []


async def another_address_still_gives_and_takes(http: aiohttp.ClientSession, server: RunningServer) -> bytes:
    """B gives a file and takes one (from A, who is the only other giver); returns it."""
    status, given = await pool_upload(http, server.url, b"from b\n", headers=from_address(B))
    assert status == 201, given
    status, _, data = await pool_download(http, server.url, given["token"], headers=from_address(B))
    assert status == 200
    return data


async def test_files_held_by_one_address_are_capped_and_freed_as_they_are_taken(
    http: aiohttp.ClientSession,
) -> None:
    async with running_server(trusted_proxies=PROXY, pool_held_per_address=3) as server:
        for number in range(3):
            assert (await upload_from(http, server, A, b"from a %d\n" % number))[0] == 201
        status, headers, answer = await upload_from(http, server, A, b"one too many\n")
        assert status == 429 and answer["error_id"] == "too-many-files-held"
        assert answer["error"] == (
            "your address already has 3 files in the pool, or on their way, that nobody has taken yet: "
            "try again once someone has taken one"
        )
        assert "Retry-After" not in headers  # only someone else taking a file helps
        await assert_kept(http, server, 3)
        assert (await another_address_still_gives_and_takes(http, server)).startswith(b"from a")
        # One of A's files was taken: A may give one more, and only one.
        assert (await upload_from(http, server, A, b"from a 3\n"))[0] == 201
        assert (await upload_from(http, server, A, b"from a 4\n"))[0] == 429
        await assert_kept(http, server, 4)  # A's three and B's


async def test_uploads_per_minute_are_capped_with_a_time_to_come_back(http: aiohttp.ClientSession) -> None:
    async with running_server(trusted_proxies=PROXY) as server:  # the default: 10 a minute
        tokens = []
        for number in range(10):
            status, _, given = await upload_from(http, server, A, b"from a %d\n" % number)
            assert status == 201
            tokens.append(given["token"])
        status, headers, answer = await upload_from(http, server, A, b"one too many\n")
        assert status == 429
        wait = int(headers["Retry-After"])
        assert 0 < wait <= 60
        assert answer["error"] == f"your address started 10 uploads in the last minute: try again in {wait} s"
        assert answer["error_id"] == "rate-limited"
        await assert_kept(http, server, 10)
        # Nothing of A's was lost, and B is not held back by A.
        assert (await another_address_still_gives_and_takes(http, server)).startswith(b"from a")
        status, _, data = await pool_download(http, server.url, tokens[0], headers=from_address(A))
        assert status == 200 and data.startswith(b"from")


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def stalled_upload(server: RunningServer, address: str, part_headers: bool) -> Connection:
    """An upload that sends its request's headers (and, if ``part_headers``, its file
    part's) and then nothing. Its connection is left open (the caller closes it): the
    server's stall timeout, not the client, ends the upload."""
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /api/upload HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-For: {address}\r\n"
        "Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 100000\r\n\r\n".encode()
    )
    if part_headers:
        writer.write(b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="stalled.txt"\r\n\r\n')
    await writer.drain()
    return reader, writer


async def answer_of(connection: Connection) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The answer to the upload on ``connection``, which is then closed."""
    reader, writer = connection
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    status_line, *lines = head.strip().split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    body = await reader.readexactly(int(headers["content-length"]))
    writer.close()
    return int(status_line.split()[1]), headers, json.loads(body)


async def test_stalled_uploads_hold_places_of_their_own_address_only(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signal_server.pool")
    # A pool of five files: A's stalled uploads could otherwise hold all of them.
    async with running_server(trusted_proxies=PROXY, pool_max_files=5, pool_stall_timeout=2.0) as server:
        quotas = server.app[POOL_KEY].store.quotas
        stalled = [await stalled_upload(server, A, part_headers=True) for _ in range(3)]
        await wait_until(lambda: len(pool_area(pool_dir(server), "incoming")) == 3, "three stalled uploads")
        # The attack sent 1,000; twenty show the same. With or without their
        # part headers, each is refused at once and holds nothing.
        for number in range(20):
            status, headers, answer = await answer_of(await stalled_upload(server, A, part_headers=number % 2 == 0))
            assert status == 429 and answer["error_id"] == "too-many-uploads-in-flight"
            assert answer["error"] == (
                "your address already has 3 uploads in progress: wait for one to finish, then try again"
            )
            assert "retry-after" not in headers
        assert quotas.in_flight(A) == 3 and len(pool_area(pool_dir(server), "incoming")) == 3
        # Others give and take meanwhile, in the places A could not take.
        _, c = await pool_upload(http, server.url, b"from c\n", headers=from_address(C))
        assert await another_address_still_gives_and_takes(http, server) == b"from c\n"
        # The stall timeout cuts A's three off, and A's places come back.
        for connection in stalled:
            status, _, answer = await answer_of(connection)
            assert status == 408 and "too slow" in answer["error"]
        await wait_until(lambda: quotas.in_flight(A) == 0, "A's uploads to end")
        assert (await upload_from(http, server, A, b"from a\n"))[0] == 201
        await assert_kept(http, server, 2)  # B's (B took C's) and A's
    refusals = [record for record in caplog.records if "reached its quota" in record.getMessage()]
    assert [record.getMessage() for record in refusals] == [
        f"pool: '{A}' reached its quota of 3 uploads in flight; refusing more from it"
    ]
