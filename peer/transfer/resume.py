"""Resume entries (docs/PROTOCOL.md 4.6, ``accept`` and ``accept-more``): what a receiver
says it holds of each file, and the sender's side of putting them together."""

from __future__ import annotations

from typing import Sequence

from sendit_protocol.digest import prefix_digest
from sendit_protocol.messages import InvalidMessage, ResumeEntry

from .blocks import block_count


def entries_of(holdings: dict[int, list[bytes]]) -> list[ResumeEntry]:
    """A receiver's entries for what it holds: the hashes of each file's leading blocks."""
    return [
        ResumeEntry(index=index, blocks=len(hashes), digest=prefix_digest(hashes))
        for index, hashes in sorted(holdings.items())
    ]


class ResumeAssembly:
    """The entries of an ``accept`` and its ``accept-more``, checked against the offer
    (indices ascending, each of a file with at least that many blocks)."""

    def __init__(self, sizes: Sequence[int], count: int) -> None:
        if count > len(sizes):
            raise InvalidMessage(f"resume_count {count} is more than the {len(sizes)} files offered")
        self.sizes = sizes
        self.count = count
        self.entries: dict[int, ResumeEntry] = {}

    def add(self, entries: Sequence[ResumeEntry]) -> dict[int, ResumeEntry] | None:
        """Take one message's entries; all of them, by index, once ``count`` have come."""
        if len(self.entries) + len(entries) > self.count:
            raise InvalidMessage(f"more resume entries than the {self.count} announced")
        for entry in entries:
            if self.entries and entry.index <= max(self.entries):
                raise InvalidMessage("resume entries must be in ascending order of index")
            if entry.index >= len(self.sizes):
                raise InvalidMessage(f"a resume entry for file {entry.index}, which is not offered")
            if entry.blocks > block_count(self.sizes[entry.index]):
                raise InvalidMessage(f"a resume entry of {entry.blocks} blocks for file {entry.index}, which has fewer")
            self.entries[entry.index] = entry
        return self.entries if len(self.entries) == self.count else None
