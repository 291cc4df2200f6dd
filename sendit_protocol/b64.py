"""Base64 as the protocol carries bytes (docs/PROTOCOL.md 2): RFC 4648 section 4, padded.

Decoding is strict: only the canonical encoding of some bytes is accepted (no whitespace,
no missing padding, no stray bits in the last character), so one value has one spelling
on every side.
"""

from __future__ import annotations

import base64
import binascii
import re

_SHAPE = re.compile("(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class InvalidBase64(ValueError):
    """Text that is not the canonical base64 of any bytes."""


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode(text: object) -> bytes:
    if not isinstance(text, str) or not _SHAPE.fullmatch(text):
        raise InvalidBase64("not base64")
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise InvalidBase64("not base64") from None
    if encode(data) != text:
        raise InvalidBase64("not the canonical base64 of its bytes")
    return data
