"""The code a sender reads out to a receiver: its format, generation and parsing.

A code is ten symbols of Crockford's base32 (50 random bits), shown as two groups of
five: ``K7QM4-XTB9R``. The alphabet has no I, L, O or U, so nothing is ambiguous when
read aloud or written down; parsing ignores case, spaces and dashes and reads the
look-alikes I, L as 1 and O as 0. Everything about the format lives here, so a later
split into a looked-up part and a secret part changes one module.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
GROUP = 5
#: What a person may type: the formatted code plus a few separators and padding.
MAX_INPUT_LENGTH = 40
_LOOKALIKES = {"I": "1", "L": "1", "O": "0"}
_IGNORED = " -_\t.\u00a0"


class InvalidCode(ValueError):
    """The text cannot be a SendIt code."""


def generate_code() -> str:
    """A fresh random code, in canonical form (no separators)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """Canonical form to display form: ``K7QM4XTB9R`` -> ``K7QM4-XTB9R``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalize_code(text: str) -> str:
    """Whatever a person typed to the canonical code, or :class:`InvalidCode`."""
    if not isinstance(text, str) or len(text) > MAX_INPUT_LENGTH:
        raise InvalidCode("not a code")
    symbols = []
    for char in text:
        if char in _IGNORED:
            continue
        # Only ASCII is upper-cased: Unicode case mapping would read "ı" as I, then 1.
        char = _LOOKALIKES.get(char.upper(), char.upper()) if char.isascii() else char
        if char not in ALPHABET:
            raise InvalidCode(f"a code has no {char!r}")
        symbols.append(char)
    if len(symbols) != CODE_LENGTH:
        raise InvalidCode(f"a code has {CODE_LENGTH} letters and digits")
    return "".join(symbols)
