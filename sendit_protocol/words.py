"""The code words: the BIP-39 English list (docs/PROTOCOL.md 1), from the `mnemonic` package.

The list is never copied into this repository; it is read from the package once, here.
Every word is known by its first four letters, which is what lets a person type prefixes.
"""

from __future__ import annotations

from mnemonic import Mnemonic

#: The 2,048 words, in list order.
WORDS: tuple[str, ...] = tuple(Mnemonic("english").wordlist)
_KNOWN = frozenset(WORDS)
#: The shortest prefix that names a word: shorter ones would be guesses, not typing.
MIN_PREFIX = 4


def words_starting(prefix: str) -> list[str]:
    """The words that begin with ``prefix`` (exactly as given), in list order."""
    return [word for word in WORDS if word.startswith(prefix)]


def lookup(part: str) -> str | None:
    """The word ``part`` stands for: itself if it is a word, else the one word it begins
    if it has at least four letters, else None."""
    if part in _KNOWN:
        return part
    if len(part) < MIN_PREFIX:
        return None
    matches = words_starting(part)
    return matches[0] if len(matches) == 1 else None
