"""Every HTTP route, through aiohttp's client with arbitrary paths, headers, tokens,
preflights and multipart shapes: no 5xx but the documented 503 and 507, the pool's
refusals are its JSON ``{"error": ..., "error_id": ...}``, every response carries the
security headers, nothing logs a traceback, and the pool still takes and gives a file
afterwards."""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import AsyncIterator

import aiohttp
import pytest
import yarl
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDictProxy

from helpers.fuzz import FUZZ
from helpers.measure import legit_pairing, tracebacks
from helpers.pool import pool_download, pool_upload
from helpers.server import RunningServer, running_server
from sendit_protocol.errors import ERROR_ID
from signal_server.app import SECURITY_HEADERS
from signal_server.pool.routes import STATUSES

#: The pool's API: its refusals are JSON. Another method on these paths falls through
#: to aiohttp's own 404 or 405, as any path the server does not have.
API = {("POST", "/api/upload"), ("GET", "/api/download"), ("GET", "/api/pool/stats")}
#: The pool's refusals (pool/routes.py), and the 5xx of them.
POOL_REFUSALS = {status for _kind, status in STATUSES}
DOCUMENTED_5XX = {503, 507}
HEADER_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "Origin",
            "Range",
            "If-Modified-Since",
            "If-None-Match",
            "Accept-Encoding",
            "X-Forwarded-For",
            "Cookie",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
            "Content-Transfer-Encoding",
        ]
    )
    | st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True),
    HEADER_VALUES,
    max_size=4,
)
PATHS = st.one_of(
    st.sampled_from(
        ["/", "/pool", "/index.html", "/pool.html", "/js/app.js", "/css", "/js/", "/words.json", *(p for _, p in API)]
    ),
    st.lists(st.sampled_from(["..", "%2e%2e", "js", "index.html", "%00", "~", "//", "%2F"]), max_size=5).map(
        lambda parts: "/" + "/".join(parts)
    ),
    st.text(max_size=40).map(lambda text: "/" + urllib.parse.quote(text, safe="/%.")),
)
#: A multipart body of any shape: parts named "file" or not, any file name, any
#: declared type and transfer encoding, any bytes, cut anywhere.
PART = st.fixed_dictionaries(
    {
        "name": st.one_of(st.just("file"), st.text(max_size=8)),
        "filename": st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["a.txt", "x.exe", "a.svg", ".."])),
        "type": st.one_of(st.none(), HEADER_VALUES),
        "encoding": st.one_of(st.none(), st.sampled_from(["binary", "base64", "quoted-printable", "8bit"])),
        "body": st.binary(max_size=200),
    }
)
BOUNDARY = st.from_regex(r"[A-Za-z0-9'()+_,-./:=?]{1,70}", fullmatch=True)


def multipart(boundary: str, parts: list[dict[str, object]], cut: int | None) -> bytes:
    body = b""
    for part in parts:
        disposition = f'form-data; name="{part["name"]}"'
        if part["filename"] is not None:
            disposition += f'; filename="{part["filename"]}"'
        headers = [f"Content-Disposition: {disposition}"]
        if part["type"] is not None:
            headers.append(f"Content-Type: {part['type']}")
        if part["encoding"] is not None:
            headers.append(f"Content-Transfer-Encoding: {part['encoding']}")
        head = "\r\n".join(headers).encode(errors="surrogateescape")
        body += b"--" + boundary.encode() + b"\r\n" + head + b"\r\n\r\n" + part["body"] + b"\r\n"  # type: ignore[operator]
    body += b"--" + boundary.encode() + b"--\r\n"
    return body if cut is None else body[:cut]


UPLOADS = st.builds(
    lambda boundary, parts, cut, content_type: (
        content_type.format(boundary=boundary),
        multipart(boundary, parts, cut),
    ),
    BOUNDARY,
    st.lists(PART, max_size=3),
    st.one_of(st.none(), st.integers(0, 400)),
    st.sampled_from(
        [
            "multipart/form-data; boundary={boundary}",
            'multipart/form-data; boundary="{boundary}"',
            "multipart/form-data",
            "multipart/mixed; boundary={boundary}",
            "text/plain",
            "multipart/form-data; boundary={boundary}; charset=utf-7",
        ]
    ),
)
REQUESTS = st.one_of(
    st.tuples(st.just("GET"), PATHS, st.just(b""), HEADERS),
    st.tuples(
        st.just("GET"),
        st.text(max_size=60).map(lambda t: "/api/download?token=" + urllib.parse.quote(t)),
        st.just(b""),
        HEADERS,
    ),
    st.tuples(st.just("OPTIONS"), PATHS.map(lambda path: "/api" + path), st.just(b""), HEADERS),
    st.tuples(st.just("POST"), st.just("/api/upload"), UPLOADS, HEADERS),
)


@pytest.fixture
async def fuzzed() -> AsyncIterator[RunningServer]:
    # Every upload comes from 127.0.0.1: quotas high enough that the fuzz reaches past
    # them (tests/pool has theirs), a stall timeout short enough for cut bodies.
    quotas = {"pool_held_per_address": 100_000, "pool_uploads_per_minute": 100_000}
    async with running_server(pool_stall_timeout=2.0, **quotas) as server:
        yield server


async def send(
    http: aiohttp.ClientSession, url: str, method: str, path: str, body: object, headers: dict[str, str]
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    if isinstance(body, tuple):
        content_type, data = body
        headers = {**headers, "Content-Type": content_type}
    else:
        data = body
    target = yarl.URL(url + path, encoded=True)
    async with http.request(method, target, data=data or None, headers=headers) as response:
        return response.status, response.headers, await response.read()


# aiohttp warns of each malformed part header it reads: attacker input, expected here.
@pytest.mark.filterwarnings("ignore::aiohttp.BadContentDispositionHeader")
@FUZZ
@given(request=REQUESTS)
async def test_any_request_is_answered_without_a_server_error(
    fuzzed: RunningServer, request: tuple[str, str, object, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    method, path, body, headers = request
    caplog.clear()
    with caplog.at_level(logging.INFO):
        async with aiohttp.ClientSession() as http:
            status, answered, content = await send(http, fuzzed.url, method, path, body, headers)
    assert tracebacks(caplog.records) == []
    assert status < 500 or status in DOCUMENTED_5XX, (status, content[:300])
    for header in SECURITY_HEADERS:
        assert header in answered, (status, header)
    route = urllib.parse.urlsplit(path).path
    if (method, route) in API and status >= 400:
        assert status in POOL_REFUSALS, status
        refusal = json.loads(content)
        assert set(refusal) == {"error", "error_id"} and isinstance(refusal["error"], str), refusal
        assert isinstance(refusal["error_id"], str) and ERROR_ID.fullmatch(refusal["error_id"]), refusal
    if route == "/api/upload" and status == 201:
        assert set(json.loads(content)) >= {"token", "name", "size"}


async def test_after_the_fuzz_the_pool_and_signalling_still_serve(fuzzed: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        status, first = await pool_upload(http, fuzzed.url, b"first")
        assert status == 201, first
        status, second = await pool_upload(http, fuzzed.url, b"second")
        assert status == 201, second
        status, _headers, data = await pool_download(http, fuzzed.url, second["token"])
        assert status == 200 and data
    assert await legit_pairing(fuzzed.url) < 1.0
