"""The files the benchmarks send: random bytes, so nothing along the way can compress them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

BLOCK = 1_000_000


def random_file(path: Path, size: int, head: bytes = b"") -> Path:
    """``size`` bytes at ``path``: ``head``, then random bytes, written a block at a time
    (never all in memory)."""
    with open(path, "wb") as out:
        out.write(head)
        for offset in range(len(head), size, BLOCK):
            out.write(os.urandom(min(BLOCK, size - offset)))
    return path


def concatenated(path: Path, parts: list[Path]) -> Path:
    """One file holding ``parts`` one after the other."""
    with open(path, "wb") as out:
        for part in parts:
            with open(part, "rb") as source:
                shutil.copyfileobj(source, out, BLOCK)
    return path
