"""The v2 code (docs/PROTOCOL.md 1): ``SLOT-word-word-word``, e.g. ``4821-river-fox-lunar``.

The slot (1..9999) is chosen by the server and is the only part it ever sees; the three
words are drawn by the sender and are the secret the handshake is keyed on. Parsing is
forgiving (case, separators, four-letter prefixes) and refuses a part that cannot be a
code word before anything is sent, so a typo never burns a slot.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Callable

from .messages import utf16_length
from .words import WORDS, lookup, words_starting

SLOT_MIN = 1
SLOT_MAX = 9999
WORD_COUNT = 3
#: Longer input is refused unread, in UTF-16 code units.
MAX_INPUT = 100
_SEPARATORS = re.compile("[ \t\\-_.\u00a0]+")
_WIRE_SLOT = re.compile("[1-9][0-9]{0,3}")
_TYPED_SLOT = re.compile("[0-9]{1,4}")
_LETTERS = re.compile("[a-z]+")
# Only ASCII is lower-cased: Unicode case mapping would turn "İ" into "i̇" and other surprises.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class InvalidCode(ValueError):
    """Text that cannot be a SendIt code; the message names the part at fault."""


@dataclass(frozen=True)
class Code:
    """A whole code. Its words are the secret, so they stay out of ``repr``."""

    slot: int
    words: tuple[str, str, str] = field(repr=False)

    def __post_init__(self) -> None:
        format_slot(self.slot)
        if len(self.words) != WORD_COUNT or not all(lookup(word) == word for word in self.words):
            raise InvalidCode("a code has three words of the list")

    @property
    def canonical(self) -> str:
        return "-".join((format_slot(self.slot), *self.words))

    @property
    def password(self) -> bytes:
        """What the handshake is keyed on: the slot is bound in with the words."""
        return self.canonical.encode("utf-8")


def parse_slot(text: object) -> int:
    """A slot as the wire carries it, checked strictly: 1..4 ASCII digits, no leading zero."""
    if not isinstance(text, str) or not _WIRE_SLOT.fullmatch(text):
        raise InvalidCode(f"a slot is a number from {SLOT_MIN} to {SLOT_MAX}, without leading zeros")
    return int(text)


def format_slot(slot: int) -> str:
    if type(slot) is not int or not SLOT_MIN <= slot <= SLOT_MAX:
        raise InvalidCode(f"a slot is a number from {SLOT_MIN} to {SLOT_MAX}")
    return str(slot)


def generate_words(random: Callable[[int], int] = secrets.randbelow) -> tuple[str, str, str]:
    """Three independent, uniform words; ``random(n)`` returns an integer in [0, n)."""
    first, second, third = (WORDS[random(len(WORDS))] for _ in range(WORD_COUNT))
    return first, second, third


def parse_code(text: str) -> Code:
    """Whatever a person typed to its :class:`Code`, or :class:`InvalidCode`."""
    if utf16_length(text) > MAX_INPUT:
        raise InvalidCode(f"a code is at most {MAX_INPUT} characters")
    parts = [part.translate(_ASCII_LOWER) for part in _SEPARATORS.split(text) if part]
    if len(parts) != 1 + WORD_COUNT:
        raise InvalidCode("a code is a number and three words")
    slot, *typed = parts
    if not _TYPED_SLOT.fullmatch(slot) or not SLOT_MIN <= int(slot) <= SLOT_MAX:
        raise InvalidCode(f'"{slot}" is not a code number: a code begins with a number from {SLOT_MIN} to {SLOT_MAX}')
    first, second, third = (_word(part) for part in typed)
    return Code(slot=int(slot), words=(first, second, third))


def _word(part: str) -> str:
    word = lookup(part) if _LETTERS.fullmatch(part) else None
    if word is None:
        raise InvalidCode(f'"{part}" is not one of the code words')
    return word


def complete(prefix: str) -> list[str]:
    """The code words a person may mean by ``prefix`` (ASCII case ignored), in list order."""
    return words_starting(prefix.translate(_ASCII_LOWER))
