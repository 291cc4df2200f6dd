"""The pool's HTTP API on a real server: real multipart uploads, real downloads."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from helpers.pool import from_address, pool_area, pool_download, pool_stats, pool_upload
from helpers.server import RunningServer, running_server, wait_until
from signal_server.pool.routes import BATCH_SIZE
from signal_server.pool.store import read_cached

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
ELF = b"\x7fELF\x02\x01\x01" + bytes(100)
MB = 1000 * 1000


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def pool_dir(server: RunningServer) -> Path:
    assert server.config.pool_dir is not None
    return server.config.pool_dir


def raw_multipart(*parts: bytes, boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    """A multipart body written byte for byte: ``parts`` are each headers, blank line, body."""
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def post_raw(
    http: aiohttp.ClientSession, server: RunningServer, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    async with http.post(server.url + "/api/upload", data=body, headers=headers) as response:
        return response.status, await response.json()


async def chunks(total: int, size: int = 64 * 1024, fill: bytes = b"a") -> AsyncIterator[bytes]:
    """A body of ``total`` bytes sent as it is made, so no Content-Length goes with it."""
    for start in range(0, total, size):
        yield fill * min(size, total - start)


async def assert_nothing_kept(http: aiohttp.ClientSession, server: RunningServer, count: int = 0) -> None:
    assert (await pool_stats(http, server.url))["count"] == count
    assert pool_area(pool_dir(server), "incoming") == []
    assert len(pool_area(pool_dir(server), "files")) == count


async def test_upload_answers_with_id_name_size_type_and_token(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    status, text = await pool_upload(http, server.url, b"hello pool\n", "notes.txt")
    assert status == 201
    assert set(text) == {"id", "name", "size", "type", "token"}
    assert text["name"] == "notes.txt" and text["size"] == 11 and text["type"] == "text/plain"
    status, image = await pool_upload(http, server.url, PNG, "looks-like.txt")
    assert status == 201 and image["type"] == "image/png"  # by content, not by name
    assert image["id"] != text["id"] and image["token"] != text["token"]
    assert await pool_stats(http, server.url) == {
        "count": 2,
        "total_bytes": 11 + len(PNG),
        "types": {"text/plain": 1, "image/png": 1},
        "max_file_size": 50_000_000,
    }


async def test_download_gives_someone_elses_file_as_a_safe_attachment(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # A hostile name: path parts, a bidi override, and (encoded) a line break and a bell.
    hostile = "filename*=UTF-8''..%5C..%5Cinv%0D%0A%07oice_%E2%80%AEfdp.exe.txt"
    body, headers = raw_multipart(
        b'Content-Disposition: form-data; name="file"; ' + hostile.encode() + b"\r\n\r\n" + PNG
    )
    status, given = await post_raw(http, server, body, headers)
    assert status == 201 and given["name"] == "invoice_fdp.exe.txt"
    _, mine = await pool_upload(http, server.url, b"mine\n")
    status, response_headers, data = await pool_download(http, server.url, mine["token"])
    assert status == 200 and data == PNG
    assert response_headers["Content-Type"] == "image/png"
    assert response_headers["Content-Length"] == str(len(PNG))
    assert response_headers["Cache-Control"] == "no-store"
    assert response_headers["X-Content-Type-Options"] == "nosniff"
    disposition, params = parse_content_disposition(response_headers["Content-Disposition"])
    assert disposition == "attachment"
    assert content_disposition_filename(params) == "invoice_fdp.exe.txt"
    assert await pool_stats(http, server.url) == {
        "count": 1,
        "total_bytes": 5,
        "types": {"text/plain": 1},
        "max_file_size": 50_000_000,
    }


async def test_text_is_served_as_utf8(server: RunningServer, http: aiohttp.ClientSession) -> None:
    # As browsers send it: the name in UTF-8, as it is.
    body, headers = raw_multipart(
        'Content-Disposition: form-data; name="file"; filename="grüße.txt"\r\n\r\nGrüße\n'.encode()
    )
    assert (await post_raw(http, server, body, headers))[0] == 201
    _, other = await pool_upload(http, server.url, PNG, "x.png")
    _, headers, data = await pool_download(http, server.url, other["token"])
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert data.decode() == "Grüße\n"
    assert content_disposition_filename(parse_content_disposition(headers["Content-Disposition"])[1]) == "grüße.txt"


async def test_only_your_own_file_is_404_and_the_token_stays_valid(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, mine = await pool_upload(http, server.url, b"mine")
    for _ in range(2):
        status, headers, body = await pool_download(http, server.url, mine["token"])
        assert status == 404 and headers["Content-Type"].startswith("application/json")
        assert b"no file from someone else" in body and json.loads(body)["error_id"] == "pool-empty"
    await pool_upload(http, server.url, b"theirs")
    status, _, data = await pool_download(http, server.url, mine["token"])
    assert status == 200 and data == b"theirs"


async def test_spent_and_unknown_tokens_are_403_and_take_nothing(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, a = await pool_upload(http, server.url, b"a")
    await pool_upload(http, server.url, b"b")
    assert (await pool_download(http, server.url, a["token"]))[0] == 200
    await pool_upload(http, server.url, b"c")
    for token in (a["token"], "not-a-token", a["token"] + "x"):
        status, _, body = await pool_download(http, server.url, token)
        assert status == 403 and b"unknown or already spent" in body
        assert json.loads(body)["error_id"] == "token-refused"
    assert (await pool_stats(http, server.url))["count"] == 2


async def test_download_without_token_is_400(server: RunningServer, http: aiohttp.ClientSession) -> None:
    for query in ("", "?token=", "?other=1"):
        async with http.get(server.url + "/api/download" + query) as response:
            assert response.status == 400
            answer = await response.json()
            assert "token" in answer["error"] and answer["error_id"] == "no-token"


async def test_head_does_not_take_a_file(server: RunningServer, http: aiohttp.ClientSession) -> None:
    _, a = await pool_upload(http, server.url, b"a")
    await pool_upload(http, server.url, b"b")
    async with http.head(server.url + "/api/download", params={"token": a["token"]}) as response:
        assert response.status in (404, 405)  # the static files answer a HEAD nobody else takes
    assert (await pool_stats(http, server.url))["count"] == 2
    assert (await pool_download(http, server.url, a["token"]))[2] == b"b"


@pytest.mark.parametrize(
    "case, error_id, complaint",
    [
        ("other field only", "no-file-field", 'missing the multipart field "file"'),
        ("no parts", "no-file-field", 'missing the multipart field "file"'),
        ("two files", "several-files", "one file per upload"),
        ("empty file", "empty-file", "the file is empty"),
        ("base64", "unsupported-encoding", "Content-Transfer-Encoding"),
        ("broken", "malformed-body", "malformed multipart body"),
        ("control character in a header", "malformed-body", "malformed multipart body"),
    ],
)
async def test_malformed_uploads_are_400(
    server: RunningServer, http: aiohttp.ClientSession, case: str, error_id: str, complaint: str
) -> None:
    file_part = b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello'
    body, headers = {
        "other field only": lambda: raw_multipart(b'Content-Disposition: form-data; name="note"\r\n\r\nhi'),
        "no parts": lambda: raw_multipart(),
        "two files": lambda: raw_multipart(file_part, file_part),
        "empty file": lambda: raw_multipart(b'Content-Disposition: form-data; name="file"; filename="e.txt"\r\n\r\n'),
        "base64": lambda: raw_multipart(
            b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8="
        ),
        "control character in a header": lambda: raw_multipart(
            b'Content-Disposition: form-data; name="file"; filename="a\x07.txt"\r\n\r\nhello'
        ),
        "broken": lambda: (
            b'--b0undary\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
            {"Content-Type": "multipart/form-data; boundary=b0undary"},
        ),
    }[case]()
    status, answer = await post_raw(http, server, body, headers)
    assert status == 400
    assert complaint in answer["error"] and answer["error_id"] == error_id
    await assert_nothing_kept(http, server)


async def test_a_field_besides_the_file_is_ignored(server: RunningServer, http: aiohttp.ClientSession) -> None:
    body, headers = raw_multipart(
        b'Content-Disposition: form-data; name="note"\r\n\r\nignored',
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nkept',
    )
    status, answer = await post_raw(http, server, body, headers)
    assert status == 201 and answer["size"] == 4


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded"])
async def test_upload_that_is_not_multipart_is_400(
    server: RunningServer, http: aiohttp.ClientSession, content_type: str
) -> None:
    status, answer = await post_raw(http, server, b'{"file": "x"}', {"Content-Type": content_type})
    assert status == 400 and "multipart/form-data" in answer["error"] and answer["error_id"] == "not-multipart"


async def test_too_large_by_content_length_is_refused_before_reading(http: aiohttp.ClientSession) -> None:
    async with running_server(pool_max_file_size=1000) as server:
        status, answer = await pool_upload(http, server.url, b"a" * 200_000)
        assert status == 413 and "limit is 1000 bytes" in answer["error"] and answer["error_id"] == "file-too-large"
        await assert_nothing_kept(http, server)


@pytest.mark.parametrize("body", ["declared", "streamed"])
async def test_too_large_while_streaming_is_413_and_nothing_kept(http: aiohttp.ClientSession, body: str) -> None:
    async with running_server(pool_max_file_size=1000) as server:
        # Under the Content-Length allowance for multipart overhead, or with no length at all.
        data = b"a" * 1001 if body == "declared" else chunks(5000, size=100)
        status, answer = await pool_upload(http, server.url, data)
        assert status == 413 and "too large" in answer["error"]
        await assert_nothing_kept(http, server)
        status, _ = await pool_upload(http, server.url, b"a" * 1000)
        assert status == 201


@pytest.mark.parametrize(
    "data, name, complaint",
    [
        (ELF, "program", "ELF executable"),
        (b"MZ\x90\x00" + bytes(60), "tool.dat", "MZ/PE"),
        (b"#!/bin/sh\necho hi\n", "run.txt", "#!"),
        (b"@echo off\r\ndel *.*\r\n", "clean.bat", ".bat"),
        (b"WScript.Echo(1)", "hello.js", ".js"),
        (b"Sub AutoOpen()", "invoice.docm", ".docm"),
        (zipped({"AndroidManifest.xml": b"\x03\x00", "classes.dex": b"dex\n035\x00"}), "photos.zip", "Android"),
        (
            zipped({"META-INF/MANIFEST.MF": b"Main-Class: a.Main\n", "a/Main.class": b"\xca\xfe\xba\xbe"}),
            "photos.zip",
            "Java archive",
        ),
        (b"\x00\x01\x02\x03" * 10, "data.bin", "unrecognised binary"),
        # Web pages, whatever their name says, and names a desktop opens as a page or runs.
        (b"<!DOCTYPE html><script>alert(1)</script>", "a.txt", "looks like a web page"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "a.txt", "looks like a web page"),
        (b"<html><body onload=alert(1)>", "page", "looks like a web page"),
        (b"just text\n", "page.html", ".html"),
        (b"just text\n", "drawing.svg", ".svg"),
        (b"MIME-Version: 1.0\r\n", "saved.mht", ".mht"),
        (b"print('hi')\n", "tool.py", ".py"),
        (zipped({"__main__.py": b"print('hi')\n"}), "tool.pyz", ".pyz"),
        (b"-----BEGIN CERTIFICATE-----\n", "root.cer", ".cer"),
        (b"[Connect To]\n", "settings.ins", ".ins"),
    ],
)
async def test_refused_types_are_415(
    server: RunningServer, http: aiohttp.ClientSession, data: bytes, name: str, complaint: str
) -> None:
    status, answer = await pool_upload(http, server.url, data, name)
    assert status == 415
    assert complaint in answer["error"]
    # Refused for its name (the complaint names the extension) or for its content.
    assert answer["error_id"] == ("file-name-refused" if complaint.startswith(".") else "file-type-refused")
    await assert_nothing_kept(http, server)


async def test_pool_full_by_files_is_507(http: aiohttp.ClientSession) -> None:
    async with running_server(pool_max_files=2) as server:
        _, a = await pool_upload(http, server.url, b"a")
        await pool_upload(http, server.url, b"b")
        status, answer = await pool_upload(http, server.url, b"c")
        assert status == 507 and "pool is full" in answer["error"] and answer["error_id"] == "pool-full"
        await assert_nothing_kept(http, server, count=2)
        await pool_download(http, server.url, a["token"])
        assert (await pool_upload(http, server.url, b"c"))[0] == 201


async def test_pool_full_by_bytes_is_507_while_streaming(http: aiohttp.ClientSession) -> None:
    async with running_server(pool_max_bytes=1500) as server:
        assert (await pool_upload(http, server.url, b"a" * 1000))[0] == 201
        status, answer = await pool_upload(http, server.url, chunks(1000, size=100))
        assert status == 507 and "pool is full" in answer["error"]
        await assert_nothing_kept(http, server, count=1)
        assert (await pool_upload(http, server.url, b"a" * 500))[0] == 201


async def test_upload_cut_off_keeps_nothing_and_frees_its_place(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signal_server.pool")
    async with running_server(pool_max_files=1) as server:
        directory = pool_dir(server)
        stalled = asyncio.Event()

        async def stalling() -> AsyncIterator[bytes]:
            # Twice what the server writes to disk at once, so some of it is on disk
            # whatever tail the multipart reader holds back to look for the boundary.
            for _ in range(2 * BATCH_SIZE // 65536):
                yield b"a" * 65536
            await stalled.wait()  # never set: the client gives up instead
            yield b""

        task = asyncio.create_task(pool_upload(http, server.url, stalling()))
        await wait_until(
            lambda: any(p.stat().st_size > 0 for p in (directory / "incoming").rglob("data")),
            "the partial upload on disk",
        )
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(lambda: pool_area(directory, "incoming") == [], "the partial upload to go")
        assert "upload was cut off" in caplog.text
        assert "Error handling request" not in caplog.text
        assert (await pool_upload(http, server.url, b"a"))[0] == 201


async def test_download_cut_off_midway_loses_the_file_to_nobody_else(
    server: RunningServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signal_server.pool")
    big = b"b" * (32 * 1024 * 1024)
    await pool_upload(http, server.url, big, "big.txt")
    _, taker = await pool_upload(http, server.url, b"taker")
    async with http.get(server.url + "/api/download", params={"token": taker["token"]}) as response:
        assert response.status == 200
        assert await response.content.readexactly(65536) == big[:65536]
        response.close()  # the downloader goes away with most of the file unread
    await wait_until(lambda: pool_area(pool_dir(server), "claimed") == [], "the claimed file to be deleted")
    # Far more than the socket buffers hold was left unsent: the send itself broke.
    assert "download was cut off" in caplog.text
    assert "Error handling request" not in caplog.text
    # Handed out once claimed: not back in the pool, and the token is spent.
    assert await pool_stats(http, server.url) == {
        "count": 1,
        "total_bytes": 5,
        "types": {"text/plain": 1},
        "max_file_size": 50_000_000,
    }
    assert (await pool_download(http, server.url, taker["token"]))[0] == 403
    _, late = await pool_upload(http, server.url, b"late")
    assert (await pool_download(http, server.url, late["token"]))[2] == b"taker"


def evict(path: Path) -> None:
    """Drop ``path`` from the page cache, so reading it means the disk; skips the test
    where that cannot be done (tmpfs, or a system without RWF_NOWAIT to tell)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        # The kernel may keep a page it is still writing back or that someone else is
        # reading at that moment; a few tries get past that on a busy machine.
        for _ in range(100):
            os.fsync(descriptor)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            if read_cached(descriptor, 0, 1) is None:
                return
        pytest.skip("this file system keeps the file in memory, or cannot tell")
    finally:
        os.close(descriptor)


@pytest.mark.parametrize("where", ["page cache", "disk"])
async def test_a_file_of_many_chunks_arrives_whole(
    server: RunningServer, http: aiohttp.ClientSession, where: str
) -> None:
    # Numbered lines, so a chunk lost, repeated or out of order shows; not a whole number
    # of chunks or batches, so the last of each is short.
    data = b"".join(b"line %07d\n" % number for number in range(330_000))
    status, given = await pool_upload(http, server.url, data, "lines.txt")
    assert status == 201 and given["size"] == len(data)
    _, taker = await pool_upload(http, server.url, b"taker\n")
    if where == "disk":
        evict(pool_dir(server) / "files" / given["id"] / "data")
    status, headers, received = await pool_download(http, server.url, taker["token"])
    assert status == 200 and headers["Content-Length"] == str(len(data))
    assert received == data


async def test_a_hundred_clients_at_once_each_file_out_at_most_once(http: aiohttp.ClientSession) -> None:
    clients = 100
    # Each from an address of its own, as a hundred people would be.
    async with running_server(trusted_proxies=frozenset({"127.0.0.1"})) as server:

        async def client(number: int) -> tuple[str, str, int, bytes]:
            address = from_address(f"198.51.100.{number + 1}")
            gift = f"from client {number}\n".encode()
            status, given = await pool_upload(http, server.url, gift, f"{number}.txt", headers=address)
            assert status == 201, given
            status, _, data = await pool_download(http, server.url, given["token"], headers=address)
            return given["id"], given["token"], status, data

        results = await asyncio.gather(*(client(n) for n in range(clients)))
        delivered = [data for _, _, status, data in results if status == 200]
        waiting = [(upload_id, token) for upload_id, token, status, _ in results if status == 404]
        assert {status for _, _, status, _ in results} <= {200, 404}
        assert len(delivered) == len(set(delivered)), "a file was handed out twice"
        for number, (_, _, _, data) in enumerate(results):
            assert data != f"from client {number}\n".encode(), "a client got its own file back"
        # In balances out and what stays: every file not delivered is still in the pool, on disk.
        uploaded = {upload_id: f"from client {n}\n".encode() for n, (upload_id, *_) in enumerate(results)}
        remaining = {upload_id for upload_id, data in uploaded.items() if data not in delivered}
        stats = await pool_stats(http, server.url)
        assert len(delivered) + stats["count"] == clients
        assert set(pool_area(pool_dir(server), "files")) == remaining
        assert pool_area(pool_dir(server), "incoming") == []
        # A handler deletes its claimed file once it has sent the last byte, which may be
        # a moment after the client has read it.
        await wait_until(lambda: pool_area(pool_dir(server), "claimed") == [], "every claimed file to go")
        # Each download spends one token and removes one file, so they stay equal in number.
        assert len(pool_area(pool_dir(server), "tokens")) == stats["count"] == len(waiting)
        assert len(waiting) < clients


async def test_pool_page_is_served_with_the_strict_policy(server: RunningServer, http: aiohttp.ClientSession) -> None:
    for path in ("/pool", "/pool.css", "/js/pool/api.js", "/js/pool/page.js"):
        async with http.get(server.url + path) as response:
            assert response.status == 200, path
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    async with http.get(server.url + "/") as response:
        assert 'href="/pool"' in await response.text()


async def test_uploads_are_written_durably_under_generated_names(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, given = await pool_upload(http, server.url, b"hello", "../../outside.txt")
    entry = pool_dir(server) / "files" / given["id"]
    assert sorted(p.name for p in entry.iterdir()) == ["data", "meta.json"]
    assert (entry / "data").read_bytes() == b"hello"
    assert not (pool_dir(server).parent / "outside.txt").exists()
    assert os.listdir(pool_dir(server) / "files") == [given["id"]]


async def test_a_declared_type_is_never_sent_back_as_it_was_given(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # An OpenDocument "mimetype" with a header in it: before, it became the download's
    # Content-Type, and aiohttp's refusal to send it lost the file and the token.
    injected = zipped({"mimetype": b"application/vnd.oasis.opendocument.text\r\nX-Injected: 1"})
    status, given = await pool_upload(http, server.url, injected, "letter.odt")
    assert status == 201 and given["type"] == "application/zip"
    assert (await pool_stats(http, server.url))["types"] == {"application/zip": 1}
    _, mine = await pool_upload(http, server.url, b"mine\n")
    status, headers, data = await pool_download(http, server.url, mine["token"])
    assert status == 200 and data == injected
    assert headers["Content-Type"] == "application/zip" and "X-Injected" not in headers


async def test_a_download_in_progress_still_counts_against_the_quota(http: aiohttp.ClientSession) -> None:
    async with running_server(pool_max_file_size=35 * MB, pool_max_bytes=40 * MB) as server:
        # More than the socket buffers take, so the server is still sending while we hold it.
        await pool_upload(http, server.url, b"b" * (32 * MB), "big.txt")
        _, taker = await pool_upload(http, server.url, b"taker")
        async with http.get(server.url + "/api/download", params={"token": taker["token"]}) as response:
            assert response.status == 200  # headers read, the body left waiting
            assert (await pool_stats(http, server.url))["total_bytes"] == 5
            status, answer = await pool_upload(http, server.url, b"c" * (10 * MB))
            assert status == 507 and "pool is full" in answer["error"]
            response.close()
        await wait_until(lambda: pool_area(pool_dir(server), "claimed") == [], "the download to end")
        assert (await pool_upload(http, server.url, b"c" * (10 * MB)))[0] == 201


async def test_a_stalled_download_is_cut_off_and_frees_its_place(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signal_server.pool")
    async with running_server(pool_max_file_size=35 * MB, pool_max_bytes=40 * MB, pool_stall_timeout=0.5) as server:
        await pool_upload(http, server.url, b"b" * (32 * MB), "big.txt")
        _, taker = await pool_upload(http, server.url, b"taker")
        async with http.get(server.url + "/api/download", params={"token": taker["token"]}) as response:
            assert response.status == 200
            # A reader that takes the headers and nothing more: the server gives up on it.
            await wait_until(lambda: pool_area(pool_dir(server), "claimed") == [], "the server to cut it off")
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        assert "download was too slow" in caplog.text
        assert "Error handling request" not in caplog.text
        assert (await pool_upload(http, server.url, b"c" * (10 * MB)))[0] == 201
        assert (await pool_download(http, server.url, taker["token"]))[0] == 403


@pytest.mark.parametrize("pace", ["stalls", "trickles"])
async def test_a_slow_upload_is_cut_off_and_frees_its_place(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, pace: str
) -> None:
    caplog.set_level(logging.INFO, logger="signal_server.pool")
    async with running_server(pool_max_files=1, pool_stall_timeout=0.5) as server:
        never = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield b"a" * 100_000
            while pace == "trickles":
                # The client's own pace, a byte at a time: moving, but far too slowly.
                await asyncio.sleep(0.01)
                yield b"a"
            await never.wait()
            yield b""

        status, answer = await asyncio.wait_for(pool_upload(http, server.url, slow()), 10)
        assert status == 408 and "too slow" in answer["error"] and answer["error_id"] == "upload-too-slow"
        assert "upload was too slow" in caplog.text
        await assert_nothing_kept(http, server)
        assert (await pool_upload(http, server.url, b"a"))[0] == 201
