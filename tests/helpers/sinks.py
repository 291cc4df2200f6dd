"""A sink in memory: takes any valid name, keeps only what was committed (verified)."""

from __future__ import annotations

from typing import Mapping, Sequence

from sendit_protocol.digest import BlockDigest
from sendit_protocol.messages import FileEntry


class MemoryFile:
    def __init__(self, sink: MemorySink, entry: FileEntry, data: bytes = b"") -> None:
        self.sink = sink
        self.entry = entry
        self.data = bytearray(data)

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
    """peer.transfer.sink.Sink in memory: ``kept`` is what was handed over as verified;
    ``held``, the bytes it holds of files from an earlier run, by index (for resuming)."""

    def __init__(self, held: Mapping[int, bytes] | None = None) -> None:
        self.kept: list[tuple[FileEntry, bytes]] = []
        self.open_files: list[MemoryFile] = []
        self.held = dict(held or {})

    def check(self, files: Sequence[FileEntry], resume: bool = False) -> None:
        """Any offer can be saved here."""

    def holdings(self, files: Sequence[FileEntry]) -> dict[int, list[bytes]]:
        """As a directory's: the whole blocks held, the short last one only of a whole file."""
        found = {}
        for index, data in self.held.items():
            if len(data) <= files[index].size:
                hashes = BlockDigest()
                hashes.update(data)
                if blocks := hashes.held(files[index].size):
                    found[index] = blocks
        return found

    def open(self, index: int, entry: FileEntry, kept: BlockDigest | None = None) -> MemoryFile:
        start = self.held.get(index, b"")[: min(kept.length, entry.size)] if kept else b""
        writer = MemoryFile(self, entry, start)
        self.open_files.append(writer)
        return writer
