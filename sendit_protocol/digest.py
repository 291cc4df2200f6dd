"""The file digest of docs/PROTOCOL.md 4.5: SHA-256 over per-block SHA-256s, and the
digest of a file's leading blocks that resuming compares (4.6)."""

from __future__ import annotations

import hashlib
from typing import Sequence

BLOCK_SIZE = 1_048_576


def prefix_digest(hashes: Sequence[bytes]) -> str:
    """The digest of the blocks whose SHA-256s are ``hashes``: of a whole file when they
    are all its blocks, of its first ``len(hashes)`` blocks otherwise."""
    return hashlib.sha256(b"".join(hashes)).hexdigest()


class BlockDigest:
    """Incremental digest: feed any chunks, holding at most one block of bytes. It keeps
    the SHA-256 of each whole block (32 bytes per MiB), so a resumed or reconnected
    transfer can start from any of them."""

    def __init__(self, hashes: Sequence[bytes] = ()) -> None:
        #: The SHA-256 of each whole block so far.
        self.hashes: list[bytes] = list(hashes)
        self._block = hashlib.sha256()
        self._filled = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), BLOCK_SIZE - self._filled)
            self._block.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == BLOCK_SIZE:
                self.hashes.append(self._block.digest())
                self._block = hashlib.sha256()
                self._filled = 0

    @property
    def length(self) -> int:
        """The bytes fed so far, counting each hash it started from as a whole block."""
        return len(self.hashes) * BLOCK_SIZE + self._filled

    def held(self, size: int) -> list[bytes]:
        """The hashes that count as held of a file of ``size`` bytes (4.6): its whole
        blocks, and its short last block only once the file is complete."""
        if self._filled and self.length == size:
            return self.hashes + [self._block.digest()]
        return list(self.hashes)

    def hexdigest(self) -> str:
        """The digest of everything fed: its last block may be short."""
        return prefix_digest(self.hashes + [self._block.digest()] if self._filled else self.hashes)


def digest_bytes(data: bytes) -> str:
    """The protocol digest of a whole byte string."""
    digest = BlockDigest()
    digest.update(data)
    return digest.hexdigest()
