"""What one benchmark run measures, and how hard."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

SECTIONS = ("throughput", "signalling", "pool", "memory", "attack", "pake", "turn", "browser-disk", "resume")
MB = 1_000_000
MIB = 1 << 20


@dataclass
class BenchConfig:
    """Settings shared by every section; the defaults are the ones issue 6 names."""

    #: A scratch directory for the files sent and received (emptied by the caller).
    scratch: Path
    sections: tuple[str, ...] = SECTIONS
    #: Transfers per pair and per side (ours, baseline); the median is reported.
    runs: int = 5
    #: Bytes timed per transfer, after ``warmup`` bytes over the same connection.
    transfer_size: int = 200 * MB
    warmup: int = 50 * MB
    pairings: tuple[int, ...] = (100, 1000)
    #: Seconds over which the starts of the concurrent pairings are spread.
    spread: float = 1.0
    pool_size: int = 50 * MB
    #: A 50 MB pool transfer takes milliseconds on loopback: many runs steady the median.
    pool_runs: int = 15
    memory_size: int = 1000 * MB
    #: Seconds of legit pairings without a flood, and then as long with each flood.
    attack_seconds: float = 10.0
    #: One side's PAKE takes milliseconds: many runs steady the median.
    pake_runs: int = 51
    #: The page's runs each load a fresh page, a fraction of a second: fewer of them.
    pake_page_runs: int = 21
    #: Bytes timed per transfer in the lab, relayed and direct (after ``warmup``).
    turn_size: int = 50 * MB
    #: Sizes of the browser → browser transfers whose receiving browser's memory is measured.
    disk_sizes: tuple[int, ...] = (1024 * MIB, 4096 * MIB)
    #: The file broken at about 60 % and resumed, and blipped.
    resume_size: int = 1024 * MIB
    log: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        """Progress for the person waiting (standard error), kept for the JSON file."""
        print(line, file=sys.stderr, flush=True)
        self.log.append(line)
