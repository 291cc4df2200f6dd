"""aiohttp adapter of the pool: each handler validates, calls :class:`PoolStore`, and
answers; refusals are JSON ``{"error": words, "error_id": id}`` with their status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import asdict
from io import FileIO
from pathlib import Path
from typing import AsyncIterator

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http import HttpProcessingError

from ..addresses import client_address, limit_key
from .cors import CorsPolicy, CorsRefused
from .filenames import clean_name, content_disposition
from .filetypes import TypeRefused, check_name
from .quotas import QuotaExceeded
from .refusal import Refusal
from .store import (
    Claim,
    EmptyFile,
    Entry,
    FileTooLarge,
    NothingToGive,
    PoolError,
    PoolFull,
    PoolStore,
    TokenRefused,
    Unavailable,
    Upload,
    read_cached,
)

log = logging.getLogger(__name__)

#: The unit of the stall timeout, and of each read from the request and write to the response.
CHUNK_SIZE = 256 * 1024
#: Bytes moved to or from the disk per worker-thread hop. A hop costs far more than
#: writing or reading 256 KiB in the page cache, so at one per chunk the hops, not the
#: disk, set the pace; four chunks per hop keep what a transfer holds in memory small.
BATCH_SIZE = 4 * CHUNK_SIZE
#: A multipart body is its file plus boundaries and part headers.
MULTIPART_OVERHEAD = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}


class BadRequest(Refusal):
    """A request that is not a well-formed upload or download (each kind its own id)."""

    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message, error_id)


class TooSlow(Refusal):
    """An upload that stalled, or crawled, past the stall timeout."""

    error_id = "upload-too-slow"

    def __init__(self, timeout: float) -> None:
        super().__init__(
            f"the upload was too slow: less than {CHUNK_SIZE // 1024} KiB arrived "
            f"in {timeout:g} s, so it was cut off; nothing was kept"
        )


STATUSES: tuple[tuple[type[Refusal], int], ...] = (
    (BadRequest, 400),
    (EmptyFile, 400),
    (TokenRefused, 403),
    (CorsRefused, 403),
    (NothingToGive, 404),
    (TooSlow, 408),
    (FileTooLarge, 413),
    (TypeRefused, 415),
    (QuotaExceeded, 429),
    (Unavailable, 503),
    (PoolFull, 507),
)


def refusal(error: Refusal) -> web.Response:
    """The answer to a refused request: its status, its words and its id."""
    status = next(status for kind, status in STATUSES if isinstance(error, kind))
    headers = dict(NO_STORE)
    if isinstance(error, QuotaExceeded) and error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return web.json_response({"error": str(error), "error_id": error.error_id}, status=status, headers=headers)


def content_type(mime: str) -> str:
    # Text was checked to be UTF-8; saying so keeps a browser from guessing otherwise.
    return f"{mime}; charset=utf-8" if mime.startswith("text/") else mime


async def _next_file_part(reader: MultipartReader) -> BodyPartReader | None:
    """The next part named "file", the parts before it skipped; None at the end."""
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "file":
            return part
        await part.release()
    return None


def _file_name(part: BodyPartReader) -> str:
    """The cleaned name of the file in ``part``, refused if the pool does not take it."""
    encoding = part.headers.get("Content-Transfer-Encoding", "binary").lower()
    if encoding not in ("binary", "8bit", "7bit"):
        raise BadRequest(
            f"Content-Transfer-Encoding {encoding!r} is not supported: send the bytes as they are",
            "unsupported-encoding",
        )
    name = clean_name(part.filename)
    check_name(name)
    return name


class PoolRoutes:
    """The pool's HTTP API, bound to one store and one CORS policy.

    Each upload counts against its client's address (behind ``trusted_proxies``, the
    address they forwarded) from its request's headers to its answer: one that never
    sends its body holds a place of its own address's, not everyone's.

    An upload or download must move a chunk (256 KiB, or the rest of the file) every
    ``stall_timeout`` seconds, or it is cut off: a client that stalls, or trickles a byte
    now and then, would otherwise hold its file's place in the quota for ever.
    """

    def __init__(
        self, store: PoolStore, cors: CorsPolicy, stall_timeout: float, *, trusted_proxies: frozenset[str]
    ) -> None:
        self.store = store
        self.cors = cors
        self.stall_timeout = stall_timeout
        self.trusted_proxies = trusted_proxies

    async def stats(self, _request: web.Request) -> web.Response:
        # The size limit too, so a page can refuse a file before sending it.
        stats = {**asdict(self.store.stats()), "max_file_size": self.store.limits.max_file_size}
        return web.json_response(stats, headers=NO_STORE)

    async def upload(self, request: web.Request) -> web.Response:
        uploader = limit_key(client_address(request, self.trusted_proxies))
        try:
            self._check_upload(request)
            with self.store.quotas.uploading(uploader):
                entry, token = await self._take_upload(request, uploader)
        except (PoolError, TypeRefused, QuotaExceeded, BadRequest, TooSlow) as error:
            return refusal(error)
        except ConnectionResetError:
            # Routine, not a server error: aiohttp would log a traceback for it.
            log.info("pool: an upload was cut off by its client; nothing kept")
            return refusal(BadRequest("the upload was cut off", "upload-cut-off"))
        answer = {"id": entry.id, "name": entry.name, "size": entry.size, "type": entry.type, "token": token}
        return web.json_response(answer, status=201, headers=NO_STORE)

    def _check_upload(self, request: web.Request) -> None:
        """Refuse from the headers alone what could not succeed, before reading the body."""
        limit = self.store.limits.max_file_size
        if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
            raise FileTooLarge(limit)
        if request.content_type != "multipart/form-data":
            raise BadRequest('send the file as multipart/form-data, in a field named "file"', "not-multipart")
        self.store.check_room()

    async def _take_upload(self, request: web.Request, uploader: str) -> tuple[Entry, str]:
        """Read the body up to its file part, receive the file into the store, read the
        rest of the body, and commit: all of it or nothing enters the pool."""
        loop = asyncio.get_running_loop()
        async with self._reading(loop.time() + self.stall_timeout) as deadline:
            reader = await request.multipart()
            part = await _next_file_part(reader)
            if part is None:
                raise BadRequest('missing the multipart field "file"', "no-file-field")
            name = _file_name(part)
        async with self.store.uploading(name, uploader) as upload:
            async with self._reading(deadline.when()) as deadline:
                await self._receive(part, upload, deadline)
                if await _next_file_part(reader) is not None:
                    raise BadRequest("send one file per upload", "several-files")
            return await upload.commit()

    @contextlib.asynccontextmanager
    async def _reading(self, when: float | None) -> AsyncIterator[asyncio.Timeout]:
        """A stretch of reading the body that must end by ``when`` (a deadline each chunk
        that arrives moves on); what aiohttp says of a malformed body, or a stall, becomes
        the refusal to answer."""
        try:
            async with asyncio.timeout_at(when) as deadline:
                yield deadline
        except (ValueError, HttpProcessingError) as error:  # aiohttp's words for a malformed body
            raise BadRequest(f"malformed multipart body: {error}", "malformed-body") from None
        except TimeoutError:
            log.info("pool: an upload was too slow and was cut off; nothing kept")
            raise TooSlow(self.stall_timeout) from None

    async def download(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if not token:
            return refusal(BadRequest('missing the "token" query parameter', "no-token"))
        try:
            async with self.store.claiming(token) as claim:
                response = await self._start_download(request, claim)
                # From its first byte the file is handed out: whatever happens from here,
                # it leaves the pool. Putting it back after a broken download would let one
                # token read every file in the pool, each up to its last byte, and give one
                # person's file to two.
                claim.hand_out()
                await self._send_to_the_end(request, response, claim)
        except PoolError as error:
            return refusal(error)
        return response

    async def _receive(self, part: BodyPartReader, upload: Upload, deadline: asyncio.Timeout) -> None:
        """Write the part's bytes to ``upload`` a batch at a time, so it holds at most a
        batch and a chunk in memory. Each chunk is counted against the quota, and moves
        the stall deadline, as it arrives: a file too large is refused at once."""
        loop = asyncio.get_running_loop()
        batch: list[bytes] = []
        batched = paced = 0
        while chunk := await part.read_chunk(CHUNK_SIZE):
            upload.reserve(len(chunk))
            batch.append(chunk)
            batched += len(chunk)
            if batched >= BATCH_SIZE:
                await upload.write(batch)
                batch, batched = [], 0
            if upload.size - paced >= CHUNK_SIZE:
                paced = upload.size
                deadline.reschedule(loop.time() + self.stall_timeout)
        if batch:
            await upload.write(batch)

    async def _send_to_the_end(self, request: web.Request, response: web.StreamResponse, claim: Claim) -> None:
        """Send the claimed file; a download cut off is routine, not a server error."""
        try:
            await self._send(response, claim.data)
        except ConnectionError:
            # A reset on writing, or, waiting for the client to drain, aiohttp's plain
            # "Connection lost".
            log.info("pool: a download was cut off by its client; the file is gone")
        except TimeoutError:
            log.info("pool: a download was too slow and was cut off; the file is gone")
            # Close without flushing: what is still buffered would never drain.
            if request.transport is not None:
                request.transport.abort()

    async def _send(self, response: web.StreamResponse, data: FileIO) -> None:
        """Stream ``data`` to the client, each chunk taken by it within the stall timeout.

        What the page cache holds, usually all of a file just uploaded, is read on the
        loop as a bare handler would, without a thread hop per chunk; the rest is read in
        a worker thread, and that wait for the disk is the server's, not the client's.
        """
        loop = asyncio.get_running_loop()
        source = data.fileno()
        offset = 0
        async with asyncio.timeout(None) as deadline:
            while True:
                block: bytes | bytearray | None = read_cached(source, offset, CHUNK_SIZE)
                if block is None:
                    deadline.reschedule(None)
                    block = await asyncio.to_thread(os.pread, source, BATCH_SIZE, offset)
                if not block:
                    break
                offset += len(block)
                view = memoryview(block)
                for start in range(0, len(view), CHUNK_SIZE):
                    deadline.reschedule(loop.time() + self.stall_timeout)
                    await response.write(view[start : start + CHUNK_SIZE])
            deadline.reschedule(loop.time() + self.stall_timeout)
            await response.write_eof()

    async def _start_download(self, request: web.Request, claim: Claim) -> web.StreamResponse:
        """Send the response's headers; raises :class:`Unavailable` with nothing sent."""
        entry = claim.entry
        try:
            response = web.StreamResponse(
                headers={
                    "Content-Type": content_type(entry.type),
                    "Content-Disposition": content_disposition(entry.name),
                    **NO_STORE,
                }
            )
            response.content_length = entry.size
            await response.prepare(request)
        except Exception as error:
            # Nothing went out, not even the file's name: a failure of the server's own
            # costs the downloader nothing.
            log.warning("pool: a download failed before it started, file and token kept: %r", error)
            raise Unavailable() from error
        return response

    async def preflight(self, request: web.Request) -> web.Response:
        try:
            headers = self.cors.preflight_headers(
                request.headers.get("Origin"),
                request.headers.get("Access-Control-Request-Method"),
                request.headers.get("Access-Control-Request-Headers"),
            )
        except CorsRefused as error:
            return refusal(error)
        return web.Response(status=204, headers=headers)

    async def add_cors_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        # A response hook, so refusals and aiohttp's own errors are readable cross-origin too.
        if request.path.startswith("/api/"):
            response.headers.update(self.cors.response_headers(request.headers.get("Origin")))


POOL_KEY = web.AppKey("pool", PoolRoutes)


def add_pool(app: web.Application, routes: PoolRoutes, root: Path) -> None:
    """Mount the exchange page, and the pool's API served by ``routes``, on ``app``."""
    app[POOL_KEY] = routes

    async def page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(root / "pool.html")

    app.router.add_get("/pool", page)
    app.router.add_get("/api/pool/stats", routes.stats)
    app.router.add_post("/api/upload", routes.upload)
    # No HEAD: it would claim a file and send none of it.
    app.router.add_get("/api/download", routes.download, allow_head=False)
    app.router.add_route("OPTIONS", "/api/{path:.*}", routes.preflight)
    app.on_response_prepare.append(routes.add_cors_headers)
