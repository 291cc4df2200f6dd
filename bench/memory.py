"""Peak memory of ``sendit send`` and ``sendit receive`` for a large file.

Each side's peak resident set size for a ``memory_size`` file, beside the same side's
peak for a 1-byte file in the same run: the difference is what the file's size costs
(the target is that it costs almost nothing, since bytes stream from disk to disk).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers.peers import start
from tests.helpers.server import server_process

from .config import MB, BenchConfig
from .files import random_file
from .results import Result

GROWTH_LIMIT = 100 * MB
TRANSFER_TIMEOUT = 900.0


async def peaks(server: str, source: Path, target: Path) -> tuple[int, int]:
    """One transfer of ``source``; the sender's and receiver's peak RSS in bytes."""
    target.mkdir()
    try:
        sender = await start("send", str(source), "--json", server=server, measure=True)
        code = await sender.code()
        receiver = await start("receive", "--yes", "--json", "-o", str(target), code, server=server, measure=True)
        for process in (receiver, sender):
            exit_code = await process.finish(timeout=TRANSFER_TIMEOUT)
            assert exit_code == 0, (exit_code, process.stderr[-2000:])
        assert (target / source.name).stat().st_size == source.stat().st_size
        return sender.peak_rss, receiver.peak_rss
    finally:
        shutil.rmtree(target)


async def run(config: BenchConfig) -> list[Result]:
    tiny, large = config.scratch / "one-byte.bin", config.scratch / "large.bin"
    tiny.write_bytes(b"x")
    random_file(large, config.memory_size)
    async with server_process() as server:
        tiny_peaks = await peaks(server.url, tiny, config.scratch / "tiny-received")
        large_peaks = await peaks(server.url, large, config.scratch / "large-received")
    large.unlink()
    tiny.unlink()
    results = []
    size = f"{config.memory_size / MB:,.0f} MB"
    for side, small, big in zip(("send", "receive"), tiny_peaks, large_peaks, strict=True):
        growth = big - small
        config.say(f"sendit {side}: peak RSS {big / MB:.1f} MB for {size}, {small / MB:.1f} MB for 1 byte")
        results.append(
            Result(
                section="memory",
                name=f"sendit {side}, {size} (baseline: 1 byte)",
                unit="MB",
                ours=round(big / MB, 1),
                baseline=round(small / MB, 1),
                target=f"growth < {GROWTH_LIMIT / MB:.0f} MB",
                met=growth < GROWTH_LIMIT,
                detail={"growth_mb": round(growth / MB, 1), "file_bytes": config.memory_size},
            )
        )
    return results
