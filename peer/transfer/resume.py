"""Resume entries (docs/PROTOCOL.md 4.6, ``accept`` and ``accept-more``): what a receiver
says it holds of each file (the sender puts them together with
sendit_protocol.messages.ResumeAssembly)."""

from __future__ import annotations

from sendit_protocol.digest import prefix_digest
from sendit_protocol.messages import ResumeEntry


def entries_of(holdings: dict[int, list[bytes]]) -> list[ResumeEntry]:
    """A receiver's entries for what it holds: the hashes of each file's leading blocks."""
    return [
        ResumeEntry(index=index, blocks=len(hashes), digest=prefix_digest(hashes))
        for index, hashes in sorted(holdings.items())
    ]
