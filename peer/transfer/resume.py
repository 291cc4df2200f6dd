"""Resume entries (docs/PROTOCOL.md 4.1, ``accept`` and ``accept-more``): what a
receiver says it holds of each file, and the sender's side of putting them together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from sendit_protocol.messages import InvalidMessage

from .blocks import block_count, prefix_digest


@dataclass(frozen=True)
class Claim:
    """The receiver holds the first ``blocks`` blocks of a file, whose digest is ``digest``."""

    blocks: int
    digest: str


def entries_of(holdings: dict[int, list[bytes]]) -> list[dict[str, Any]]:
    """A receiver's entries for what it holds: the hashes of each file's leading blocks."""
    return [
        {"index": index, "blocks": len(blocks), "digest": prefix_digest(blocks)}
        for index, blocks in sorted(holdings.items())
    ]


def claims_of(entries: Sequence[dict[str, Any]]) -> dict[int, Claim]:
    return {entry["index"]: Claim(blocks=entry["blocks"], digest=entry["digest"]) for entry in entries}


class ResumeAssembly:
    """The entries of an ``accept`` and its ``accept-more``, checked against the offer
    (indices ascending, each of a file with at least that many blocks)."""

    def __init__(self, sizes: Sequence[int], count: int) -> None:
        if count > len(sizes):
            raise InvalidMessage(f"resume_count {count} is more than the {len(sizes)} files offered")
        self.sizes = sizes
        self.count = count
        self.entries: list[dict[str, Any]] = []

    def add(self, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Take one message's entries; all of them once ``count`` have come, else None."""
        if len(self.entries) + len(entries) > self.count:
            raise InvalidMessage(f"more resume entries than the {self.count} announced")
        for entry in entries:
            index, blocks = entry["index"], entry["blocks"]
            if self.entries and index <= self.entries[-1]["index"]:
                raise InvalidMessage("resume entries must be in ascending order of index")
            if index >= len(self.sizes):
                raise InvalidMessage(f"a resume entry for file {index}, which is not offered")
            if not 1 <= blocks <= block_count(self.sizes[index]):
                raise InvalidMessage(f"a resume entry of {blocks} blocks for file {index}, which has fewer")
            self.entries.append(entry)
        return self.entries if len(self.entries) == self.count else None
