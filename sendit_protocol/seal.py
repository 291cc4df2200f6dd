"""Sealed signals (docs/PROTOCOL.md 3): AES-256-GCM, so the server relays what it can
neither read nor change.

The key is the sending side's seal key, the IV 12 fresh random bytes, the associated data
the signal's type (so an ``offer`` cannot be replayed as a ``candidate``), and the wire
form base64(IV || ciphertext || 16-byte tag).
"""

from __future__ import annotations

import os
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import b64
from .errors import Tampered

IV_LENGTH = 12
TAG_LENGTH = 16


def seal(key: bytes, kind: str, plaintext: bytes, *, random: Callable[[int], bytes] = os.urandom) -> str:
    """The ``data`` of a sealed signal of type ``kind``."""
    iv = random(IV_LENGTH)
    if len(iv) != IV_LENGTH:
        raise ValueError(f"an IV is {IV_LENGTH} bytes")
    return b64.encode(iv + AESGCM(key).encrypt(iv, plaintext, kind.encode("ascii")))


def open_sealed(key: bytes, kind: str, data: object) -> bytes:
    """The plaintext of a sealed signal, or :class:`Tampered` if it was not sealed, as
    this type, with this key."""
    try:
        sealed = b64.decode(data)
    except b64.InvalidBase64:
        raise Tampered("a sealed signal is not base64") from None
    if len(sealed) < IV_LENGTH + TAG_LENGTH:
        raise Tampered("a sealed signal is too short")
    try:
        return AESGCM(key).decrypt(sealed[:IV_LENGTH], sealed[IV_LENGTH:], kind.encode("ascii"))
    except InvalidTag:
        raise Tampered("a signal failed its seal check") from None
