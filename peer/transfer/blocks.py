"""A file's leading blocks hashed from disk (docs/PROTOCOL.md 4.5, 4.6): what a sender
checks a receiver's claim against, and what a receiver holds of a file already there."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sendit_protocol.digest import BlockDigest

#: How much a prefix is read at a time.
READ_SIZE = 1024 * 1024


def kept_bytes(hashes: BlockDigest, size: int) -> int:
    """The bytes of a file of ``size`` that ``hashes`` stand for: a short last block
    held counts as what it is, not as a whole block."""
    return min(hashes.length, size)


def hash_prefix(stream: BinaryIO, size: int, limit: int) -> BlockDigest:
    """The hashes of the first ``limit`` bytes of ``stream`` (a file of ``size``), or of
    fewer if it ends sooner, with ``stream`` just after them; blocking (run it in a
    thread for a large file). Held blocks: ``held(size)``."""
    hashes = BlockDigest()
    while hashes.length < limit:
        chunk = stream.read(min(READ_SIZE, limit - hashes.length))
        if not chunk:
            break
        hashes.update(chunk)
    return hashes


def hash_file(path: Path, size: int, limit: int) -> BlockDigest:
    with open(path, "rb") as stream:
        return hash_prefix(stream, size, limit)
