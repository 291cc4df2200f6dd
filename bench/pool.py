"""The exchange pool: upload and download speed, and the server's memory during an upload.

Our real server (``python -m signal_server``, default pool limits) and a bare aiohttp
streaming server (:mod:`bench.bare_pool`) run as subprocesses on loopback side by side,
and one client, the same for both, moves the same file through each, the two
interleaved run by run so that drift on the machine hits both.

What is timed, per run and per side, with ``time.perf_counter`` in the client:

- upload: from the start of the ``POST /api/upload`` (the file streamed from disk as
  multipart) to the whole answer read. For our server that includes everything before
  its ``201``: writing, fsyncing the data, identifying the type, writing and fsyncing
  the metadata and token, the commit's renames and directory fsyncs. The bare server
  writes to the page cache and answers; it does not fsync.
- download: from the start of the ``GET /api/download`` to the last byte read (in
  256 KiB chunks, counted and discarded, so the client's disk is not measured). For our
  server that includes the claim and its directory fsyncs before the first byte.

After each download the client asks ``GET /api/pool/stats`` over the same connection
(one per side), which is answered only once the download's handler has returned: the
server has deleted the file, so its deletion cannot slow the next transfer, of either
side. That time, download plus settling, is kept in the detail: deleting a file that was
fsynced to disk costs far more than deleting one the page cache still holds (the bare
server's), and on a reused connection a browser's next request waits for it.

The file is the largest the pool takes at its default limit: ``--pool-max-file-size``
counts the file's own bytes (multipart boundaries and headers are allowed 64 KiB on
top), and 50 MB is 50,000,000 bytes, so a file of exactly 50,000,000 bytes. Its content
is random after a gzip header: an incompressible archive, the kind of file that is
large, identified from its first bytes (text would be read through once more to check
it is UTF-8).

The pool's rules shape the order: a token cannot take its own upload, so each side is
primed with two uploads and one download (untimed, the warm-up); then each run's upload
gives a token that takes the previous run's file, so the pool holds at most two files.
The bare server is sent the same way: each run downloads the previous run's file.

During the two warm-up uploads into each fresh server process a thread samples its RSS
every few milliseconds; the growth reported is the larger peak-minus-before of the two.
The timed uploads are not sampled, so the sampler cannot take the client's GIL while
they are timed.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from signal_server.pool.store import PoolLimits
from tests.helpers.server import server_process

from .config import MB, BenchConfig
from .files import random_file
from .results import Result, median

SECTION = "pool"
CHUNK_SIZE = 256 * 1024
#: ours / bare at least this, for upload and for download.
TARGET_RATIO = 0.8
#: Peak server RSS minus RSS before, during one upload: under this counts as flat.
#: A 50 MB file held in memory would show as ~50 MB; buffers of a few chunks as ~1 MB.
FLAT_RSS = 10 * MB
RSS_INTERVAL = 0.002
#: A gzip member header (magic, deflate, no flags): the pool takes the file as gzip.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
FILE_NAME = "bench.gz"


@dataclass
class Side:
    """One server under test and what was measured of it."""

    name: str
    url: str
    pid: int
    upload_mbps: list[float] = field(default_factory=list)
    download_mbps: list[float] = field(default_factory=list)
    #: Seconds from the start of each timed download until the server was done with it.
    settled: list[float] = field(default_factory=list)
    #: Bytes, peak minus before, for each warm-up upload.
    rss_growth: list[int] = field(default_factory=list)
    rss_before: list[int] = field(default_factory=list)


class RssSampler:
    """Samples one process's RSS from a thread, so a busy event loop cannot delay it."""

    def __init__(self, pid: int, interval: float = RSS_INTERVAL) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.before = self._rss()
        self.peak = self.before

    def _rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        # One last look: the peak may be right at the end, when the file is sealed.
        self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return self.peak - self.before


def make_file(path: Path, size: int) -> float:
    """Write a file of ``size`` bytes the pool takes as gzip (the header, then random
    bytes); returns the seconds its fsync took, what durability costs on this disk."""
    random_file(path, size, head=GZIP_HEADER)
    with open(path, "rb") as file:
        start = time.perf_counter()
        os.fsync(file.fileno())
        return time.perf_counter() - start


async def upload(http: aiohttp.ClientSession, url: str, source: Path) -> tuple[float, str]:
    """POST ``source`` as the multipart field "file", streamed from disk; returns the
    seconds until the answer was read, and the token it gave."""
    with open(source, "rb") as file:
        form = aiohttp.FormData()
        form.add_field("file", file, filename=FILE_NAME, content_type="application/gzip")
        start = time.perf_counter()
        async with http.post(url + "/api/upload", data=form) as response:
            answer = await response.text()
        seconds = time.perf_counter() - start
    if response.status != 201:
        raise RuntimeError(f"upload to {url} answered {response.status}: {answer}")
    return seconds, str(json.loads(answer)["token"])


async def download(http: aiohttp.ClientSession, url: str, token: str, size: int) -> float:
    """GET the file ``token`` gives, reading it in chunks and discarding them; returns
    the seconds until its last byte."""
    received = 0
    start = time.perf_counter()
    async with http.get(url + "/api/download", params={"token": token}) as response:
        if response.status != 200:
            raise RuntimeError(f"download from {url} answered {response.status}: {await response.text()}")
        async for chunk in response.content.iter_chunked(CHUNK_SIZE):
            received += len(chunk)
    seconds = time.perf_counter() - start
    if received != size:
        raise RuntimeError(f"download from {url} gave {received} bytes, not {size}")
    return seconds


async def sampled_upload(side: Side, http: aiohttp.ClientSession, source: Path) -> str:
    """An upload with the server's RSS sampled throughout; the growth is kept on ``side``."""
    with RssSampler(side.pid) as rss:
        _, token = await upload(http, side.url, source)
    side.rss_growth.append(rss.growth)
    side.rss_before.append(rss.before)
    return token


async def settle(http: aiohttp.ClientSession, url: str) -> None:
    """Return once the server is done with the previous request on this connection."""
    async with http.get(url + "/api/pool/stats") as response:
        await response.read()


def _mbps(size: int, seconds: float) -> float:
    return size / seconds / MB


async def measure(config: BenchConfig, sides: list[Side], source: Path, size: int) -> None:
    """Warm up each side (RSS sampled), then time ``config.pool_runs`` uploads and
    downloads, the sides interleaved."""
    # One connection per side, so a request waits for the one before it (see settle).
    sessions = {side.name: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for side in sides}
    try:
        # Per side, the token that takes a file for the next download: ours gives a file
        # uploaded by another token, the bare server the file it names.
        pending: dict[str, str] = {}
        for side in sides:
            http = sessions[side.name]
            first = await sampled_upload(side, http, source)
            second = await sampled_upload(side, http, source)
            await download(http, side.url, second if side.name == "ours" else first, size)
            await settle(http, side.url)
            pending[side.name] = second
        for run in range(config.pool_runs):
            # Alternate who goes first, so neither always meets a warmer or busier machine.
            order = sides if run % 2 == 0 else sides[::-1]
            tokens: dict[str, str] = {}
            for side in order:
                seconds, token = await upload(sessions[side.name], side.url, source)
                side.upload_mbps.append(_mbps(size, seconds))
                tokens[side.name] = token
            for side in order:
                http = sessions[side.name]
                # Ours: the new token takes the previous run's file. Bare: name that file.
                token = tokens[side.name] if side.name == "ours" else pending[side.name]
                start = time.perf_counter()
                seconds = await download(http, side.url, token, size)
                await settle(http, side.url)
                side.settled.append(time.perf_counter() - start)
                side.download_mbps.append(_mbps(size, seconds))
                pending[side.name] = tokens[side.name]
            config.say(
                "pool run {}: upload {}, download {}".format(
                    run + 1,
                    ", ".join(f"{s.name} {s.upload_mbps[-1]:.0f}" for s in order),
                    ", ".join(f"{s.name} {s.download_mbps[-1]:.0f}" for s in order),
                )
                + " MB/s"
            )
    finally:
        for http in sessions.values():
            await http.close()


def results(ours: Side, bare: Side, size: int, fsync_seconds: float) -> list[Result]:
    """The three rows: upload and download speed against bare, and RSS growth."""
    rows = []
    detail = {
        "file_bytes": size,
        "file_type": "application/gzip (random content)",
        "baseline": "bare aiohttp streaming handler (bench/bare_pool.py), no fsync",
        "client": "aiohttp ClientSession, file streamed from disk, download read in "
        f"{CHUNK_SIZE // 1024} KiB chunks and discarded",
        "fsync_ms_of_the_file_on_this_disk": round(fsync_seconds * 1000, 2),
    }
    settled = {
        "download_until_server_done_ms": [round(s * 1000, 2) for s in ours.settled],
        "baseline_download_until_server_done_ms": [round(s * 1000, 2) for s in bare.settled],
    }
    for what, timed, ours_runs, bare_runs, extra in (
        ("upload", "POST start to the JSON answer; ours includes its fsyncs", ours.upload_mbps, bare.upload_mbps, {}),
        (
            "download",
            "GET start to the last byte; ours includes the claim's fsyncs",
            ours.download_mbps,
            bare.download_mbps,
            settled,
        ),
    ):
        result = Result(
            section=SECTION,
            name=f"{what} {size / MB:g} MB",
            unit="MB/s",
            ours=median(ours_runs),
            baseline=median(bare_runs),
            target=f"≥ {TARGET_RATIO}× bare aiohttp",
            runs=ours_runs,
            baseline_runs=bare_runs,
            detail={**detail, "timed": timed, **extra},
        )
        result.met = result.ratio is not None and result.ratio >= TARGET_RATIO
        rows.append(result)
    worst, bare_worst = max(ours.rss_growth), max(bare.rss_growth)
    rows.append(
        Result(
            section=SECTION,
            name=f"server RSS growth, {size / MB:g} MB upload",
            unit="MB",
            ours=worst / MB,
            baseline=bare_worst / MB,
            target=f"flat: < {FLAT_RSS / MB:g} MB",
            met=worst < FLAT_RSS,
            detail={
                "measure": f"peak minus before, RSS sampled every {RSS_INTERVAL * 1000:g} ms during "
                "the two warm-up uploads into the fresh process; the larger",
                "ours_growth_mb": [g / MB for g in ours.rss_growth],
                "baseline_growth_mb": [g / MB for g in bare.rss_growth],
                "ours_rss_before_mb": [b / MB for b in ours.rss_before],
                "baseline_rss_before_mb": [b / MB for b in bare.rss_before],
            },
        )
    )
    return rows


async def run(config: BenchConfig) -> list[Result]:
    """Pool upload and download MB/s against a bare aiohttp server, and RSS during uploads."""
    limit = PoolLimits().max_file_size
    if config.pool_size > limit:
        raise ValueError(f"pool_size {config.pool_size} is above the pool's default limit of {limit} bytes")
    size = config.pool_size
    work = config.scratch / "pool"
    work.mkdir(parents=True, exist_ok=True)
    source = work / FILE_NAME
    try:
        fsync_seconds = make_file(source, size)
        config.say(f"pool: {size:,} bytes, {config.pool_runs} runs per side, ours and bare interleaved")
        async with (
            # The runs upload from one address, faster than the per-address quota lets
            # a person: the quota is not what is measured.
            server_process("--pool-dir", str(work / "ours"), "--pool-uploads-per-minute", "100000") as server,
            server_process("--dir", str(work / "bare"), module="bench.bare_pool") as bare_server,
        ):
            ours = Side("ours", server.url, server.process.pid)
            bare = Side("bare", bare_server.url, bare_server.process.pid)
            await measure(config, [ours, bare], source, size)
        return results(ours, bare, size, fsync_seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
