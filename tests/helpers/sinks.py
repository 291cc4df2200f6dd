"""A sink in memory: takes any valid name, keeps only what was committed (verified)."""

from __future__ import annotations

from typing import Sequence

from sendit_protocol.digest import BlockDigest
from sendit_protocol.messages import FileEntry


class MemoryFile:
    def __init__(self, sink: MemorySink, entry: FileEntry) -> None:
        self.sink = sink
        self.entry = entry
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def commit(self) -> None:
        self.sink.kept.append((self.entry, bytes(self.data)))
        self.sink.open_files.remove(self)

    def truncate(self, kept: BlockDigest) -> None:
        del self.data[kept.length :]

    def discard(self, keep: bool) -> None:
        self.sink.open_files.remove(self)


class MemorySink:
    """peer.transfer.sink.Sink in memory: ``kept`` is what was handed over as verified."""

    def __init__(self) -> None:
        self.kept: list[tuple[FileEntry, bytes]] = []
        self.open_files: list[MemoryFile] = []

    def check(self, files: Sequence[FileEntry], resume: bool = False) -> None:
        """Any offer can be saved here."""

    def holdings(self, files: Sequence[FileEntry]) -> dict[int, list[bytes]]:
        return {}

    def open(self, index: int, entry: FileEntry, kept: BlockDigest | None = None) -> MemoryFile:
        writer = MemoryFile(self, entry)
        self.open_files.append(writer)
        return writer
