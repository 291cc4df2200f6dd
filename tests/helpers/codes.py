"""Codes as people type them, right and wrong (docs/PROTOCOL.md 1)."""

from __future__ import annotations

from sendit_protocol.words import WORDS


def typed_loosely(code: str) -> str:
    """``4821-river-fox-lunar`` as a person might type it: `` 4821 RIVE  Fox.luna``, with
    capitals, other separators, and words by their first four letters."""
    slot, first, second, third = code.split("-")
    return f" {slot} {first[:4].upper()}  {second.capitalize()}.{third[:4]}"


def wrong_words(code: str) -> str:
    """``code`` with its last word swapped for the next one of the list: the slot and two
    words right, as a person who misheard one word would have it."""
    *rest, last = code.split("-")
    return "-".join([*rest, WORDS[(WORDS.index(last) + 1) % len(WORDS)]])
