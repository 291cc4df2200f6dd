"""A file's per-block hashes (docs/PROTOCOL.md 4.5) as its bytes go by: what resume
lists, what the receiver's sidecar keeps, and the file digest they make up."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO, Sequence

from sendit_protocol.digest import BLOCK_SIZE

#: How much a prefix is read at a time when a file on disk is hashed.
READ_SIZE = 1024 * 1024


def block_count(size: int) -> int:
    """How many blocks a file of ``size`` bytes has (the last one may be short)."""
    return -(-size // BLOCK_SIZE)


def prefix_digest(hashes: Sequence[bytes]) -> str:
    """The digest of the leading blocks whose hashes these are: SHA-256 over them
    (of nothing, for none), as 4.5 makes it of a whole file."""
    return hashlib.sha256(b"".join(hashes)).hexdigest()


class BlockHashes:
    """The hashes of a file's blocks so far, the block under way included in
    :meth:`digest`; it may start with blocks held from before (resume)."""

    def __init__(self, held: Sequence[bytes] = ()) -> None:
        self.blocks: list[bytes] = list(held)
        self._block = hashlib.sha256()
        self._filled = 0

    @property
    def length(self) -> int:
        """The bytes hashed: whole blocks, then the block under way."""
        return len(self.blocks) * BLOCK_SIZE + self._filled

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), BLOCK_SIZE - self._filled)
            self._block.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == BLOCK_SIZE:
                self._close_block()

    def _close_block(self) -> None:
        self.blocks.append(self._block.digest())
        self._block = hashlib.sha256()
        self._filled = 0

    def held(self, size: int) -> list[bytes]:
        """The blocks that count as held of a file of ``size`` bytes: the whole ones, and
        the short last one only once the file is complete."""
        if self._filled and self.length == size:
            self._close_block()
        return self.blocks

    def digest(self) -> str:
        """The digest of what was hashed, as of a whole file (4.5)."""
        tail = [self._block.digest()] if self._filled else []
        return prefix_digest(self.blocks + tail)


def hash_prefix(stream: BinaryIO, size: int, limit: int) -> BlockHashes:
    """The hashes of the first ``limit`` bytes of ``stream`` (a file of ``size``), or of
    fewer if it ends sooner; blocking (run it in a thread for a large file)."""
    hashes = BlockHashes()
    while hashes.length < limit:
        chunk = stream.read(min(READ_SIZE, limit - hashes.length))
        if not chunk:
            break
        hashes.update(chunk)
    hashes.held(size)
    return hashes


def hash_file(path: Path, size: int, limit: int) -> BlockHashes:
    with open(path, "rb") as stream:
        return hash_prefix(stream, size, limit)
