"""The file digest of docs/PROTOCOL.md 3.3: SHA-256 over per-block SHA-256s."""

from __future__ import annotations

import hashlib

BLOCK_SIZE = 1_048_576


class BlockDigest:
    """Incremental digest: feed any chunks, holding at most one block of bytes."""

    def __init__(self) -> None:
        self._outer = hashlib.sha256()
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
                self._outer.update(self._block.digest())
                self._block = hashlib.sha256()
                self._filled = 0

    def hexdigest(self) -> str:
        outer = self._outer.copy()
        if self._filled:
            outer.update(self._block.digest())
        return outer.hexdigest()


def digest_bytes(data: bytes) -> str:
    """The protocol digest of a whole byte string."""
    digest = BlockDigest()
    digest.update(data)
    return digest.hexdigest()
