"""The pool in a real server process: killed mid-upload, fed more than it takes, short of
file descriptors, and what it writes to its log."""

from __future__ import annotations

import asyncio
import io
import json
import os
import zipfile
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import psutil
import pytest

from helpers.pool import pool_area, pool_download, pool_stats, pool_upload
from helpers.server import server_process, wait_until
from signal_server.pool.routes import BATCH_SIZE

pytestmark = pytest.mark.process

MB = 1000 * 1000


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM again from the current resident size (Linux: clear_refs, value 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def peak_rss(pid: int) -> int:
    """The most resident memory the process has had (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


async def test_kill_9_during_an_upload_leaves_no_partial_file(tmp_path: Path) -> None:
    pool = tmp_path / "pool"
    async with aiohttp.ClientSession() as http:
        async with server_process("--pool-dir", str(pool)) as server:
            status, kept = await pool_upload(http, server.url, b"kept across the crash\n", "kept.txt")
            assert status == 201
            never = asyncio.Event()

            async def endless() -> AsyncIterator[bytes]:
                # Twice what the server writes to disk at once, so some of it gets there.
                for _ in range(2 * BATCH_SIZE // 65536):
                    yield b"x" * 65536
                await never.wait()  # the server dies before this ends
                yield b""

            upload = asyncio.create_task(pool_upload(http, server.url, endless(), "partial.txt"))
            await wait_until(
                lambda: any(p.stat().st_size > 0 for p in (pool / "incoming").rglob("data")),
                "the partial upload on disk",
            )
            server.process.kill()
            await server.process.wait()
            with pytest.raises(aiohttp.ClientError):
                await upload
        # The crash left its partial behind...
        assert len(pool_area(pool, "incoming")) == 1
        async with server_process("--pool-dir", str(pool)) as server:
            # ...and the restart removed it, rebuilding the pool from what was complete.
            assert pool_area(pool, "incoming") == []
            assert pool_area(pool, "files") == [kept["id"]]
            assert await pool_stats(http, server.url) == {
                "count": 1,
                "total_bytes": len(b"kept across the crash\n"),
                "types": {"text/plain": 1},
                "max_file_size": 50 * MB,
            }
            # Tokens survive too: the one issued before the crash still takes a file.
            _, later = await pool_upload(http, server.url, b"after the restart\n")
            assert (await pool_download(http, server.url, kept["token"]))[2] == b"after the restart\n"
            assert (await pool_download(http, server.url, later["token"]))[2] == b"kept across the crash\n"


async def post_whole_body(url: str, size: int) -> tuple[int, dict[str, str]]:
    """Upload ``size`` bytes as one multipart file, chunked (no Content-Length), sending
    every byte even after the server has answered, as a stubborn client would; returns
    the status and JSON answer."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /api/upload HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: multipart/form-data; boundary=b0undary\r\nConnection: close\r\n\r\n".encode()
    )

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    writer.write(chunk(b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\n\r\n'))
    block = b"z" * (MB // 4)
    for _ in range(size // len(block)):
        writer.write(chunk(block))
        await writer.drain()
    writer.write(chunk(b"\r\n--b0undary--\r\n") + b"0\r\n\r\n")
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


async def test_a_60_mb_upload_is_refused_without_being_held_in_memory(tmp_path: Path) -> None:
    pool = tmp_path / "pool"
    async with server_process("--pool-dir", str(pool)) as server, aiohttp.ClientSession() as http:
        process = psutil.Process(server.process.pid)
        # Warm up every code path an upload takes, so only the upload's own memory shows.
        assert (await pool_upload(http, server.url, b"warm up\n"))[0] == 201
        reset_peak_rss(server.process.pid)
        before = process.memory_info().rss
        status, answer = await post_whole_body(server.url, 60 * MB)
        peak = peak_rss(server.process.pid)
        assert status == 413, answer
        assert "too large" in answer["error"] and answer["error_id"] == "file-too-large"
        growth = peak - before
        print(f"server RSS {before / MB:.1f} MB before, peak {peak / MB:.1f} MB: grew {growth / MB:.1f} MB")
        assert growth < 16 * MB
        assert pool_area(pool, "incoming") == []
        assert (await pool_stats(http, server.url))["count"] == 1


def zip_bomb(size: int) -> bytes:
    """A small ZIP whose "mimetype" member, as an OpenDocument file has, inflates to
    ``size`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("mimetype", "w", force_zip64=True) as member:
            member.write(b"application/vnd.oasis.opendocument.text")
            zeros = bytes(MB)
            for _ in range(size // MB):
                member.write(zeros)
    return buffer.getvalue()


async def test_a_zip_bomb_is_typed_without_being_inflated(tmp_path: Path) -> None:
    bomb = zip_bomb(200 * MB)
    assert len(bomb) < MB
    async with server_process("--pool-dir", str(tmp_path / "pool")) as server, aiohttp.ClientSession() as http:
        assert (await pool_upload(http, server.url, zip_bomb(0)))[0] == 201  # warm up the ZIP path
        reset_peak_rss(server.process.pid)
        before = psutil.Process(server.process.pid).memory_info().rss
        status, answer = await pool_upload(http, server.url, bomb, "bomb.odt")
        growth = peak_rss(server.process.pid) - before
        print(f"server RSS grew {growth / MB:.1f} MB for a {len(bomb) / MB:.1f} MB ZIP that inflates to 200 MB")
        assert growth < 16 * MB
        assert status == 201 and answer["type"] == "application/zip"


async def test_download_tokens_stay_out_of_the_access_log(tmp_path: Path) -> None:
    async with server_process("--pool-dir", str(tmp_path / "pool")) as server, aiohttp.ClientSession() as http:
        _, given = await pool_upload(http, server.url, b"given\n")
        _, taker = await pool_upload(http, server.url, b"taker\n")
        assert (await pool_download(http, server.url, taker["token"]))[0] == 200
        assert (await pool_download(http, server.url, taker["token"]))[0] == 403

        def downloads_logged() -> list[str]:
            return [line for line in server.log if "/api/download" in line]

        await wait_until(lambda: len(downloads_logged()) == 2, "both downloads in the access log")
        assert '"GET /api/download?token=redacted HTTP/1.1" 200' in downloads_logged()[0]
        assert '"GET /api/download?token=redacted HTTP/1.1" 403' in downloads_logged()[1]
        log = "".join(server.log)
        assert taker["token"] not in log and given["token"] not in log


def lowest_free_descriptor(pid: int) -> int:
    used = {int(name) for name in os.listdir(f"/proc/{pid}/fd")}
    return min(set(range(len(used) + 1)) - used)


async def test_a_download_that_fails_before_sending_keeps_the_file_and_the_token(tmp_path: Path) -> None:
    pool = tmp_path / "pool"
    async with server_process("--pool-dir", str(pool)) as server, aiohttp.ClientSession() as http:
        _, given = await pool_upload(http, server.url, b"given\n")
        _, taker = await pool_upload(http, server.url, b"taker\n")
        process = psutil.Process(server.process.pid)
        limits = process.rlimit(psutil.RLIMIT_NOFILE)
        # One descriptor left: the download's connection takes it, and then the server
        # cannot open anything to make its claim durable or read the file.
        process.rlimit(psutil.RLIMIT_NOFILE, (lowest_free_descriptor(process.pid) + 1, limits[1]))
        try:
            async with aiohttp.ClientSession() as fresh_connection:
                status, _, body = await pool_download(fresh_connection, server.url, taker["token"])
        finally:
            process.rlimit(psutil.RLIMIT_NOFILE, limits)
        assert status == 503 and b"your token stays valid" in body and b'"error_id": "unavailable"' in body
        assert (await pool_stats(http, server.url))["count"] == 2
        assert len(pool_area(pool, "files")) == len(pool_area(pool, "tokens")) == 2
        assert pool_area(pool, "claimed") == []
        assert (await pool_download(http, server.url, taker["token"]))[2] == b"given\n"
