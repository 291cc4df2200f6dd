"""The memory a whole process tree holds (a browser: its main process, renderers, GPU,
network and storage services), sampled from /proc while something runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

PROC = Path("/proc")
#: How often the tree is sampled: often enough to catch a peak that lasts a second.
INTERVAL = 0.5


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: the fields after it are plain.
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, as they are now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        tree.append(pid)
        queue += children.get(pid, [])
    return tree


def resident(pid: int) -> int:
    """``pid``'s resident set size in bytes; 0 for a process that has just ended."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int) -> int:
    """The resident set sizes of ``root``'s whole tree, summed (pages two of them share
    count twice: what matters here is the growth)."""
    return sum(resident(pid) for pid in descendants(root))


def find_process(marker: str) -> int:
    """The one process whose command line holds ``marker`` as an argument and whose parent
    does not (the top of the tree it starts)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in arguments:
            found.append(int(entry.name))
    tops = [pid for pid in found if _parent(pid) not in found]
    if len(tops) != 1:
        raise RuntimeError(f"expected one process started with {marker}, found {tops}")
    return tops[0]


@dataclass
class Samples:
    """The tree's RSS at ``before`` (when sampling started) and at every sample since."""

    before: int
    values: list[tuple[float, int]] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max([self.before, *(value for _, value in self.values)])

    @property
    def growth(self) -> int:
        """The peak minus the RSS at the start."""
        return self.peak - self.before


@contextlib.asynccontextmanager
async def sampled(root: int, interval: float = INTERVAL) -> AsyncIterator[Samples]:
    """Samples ``root``'s tree every ``interval`` seconds while the block runs (and once more
    at its end)."""
    started = time.monotonic()
    samples = Samples(before=tree_rss(root))

    async def sample() -> None:
        while True:
            await asyncio.sleep(interval)
            samples.values.append((time.monotonic() - started, tree_rss(root)))

    task = asyncio.ensure_future(sample())
    try:
        yield samples
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        samples.values.append((time.monotonic() - started, tree_rss(root)))
