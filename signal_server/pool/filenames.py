"""Client file names: never used on disk, kept only as cleaned metadata for display
and for the download's ``Content-Disposition``."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

#: What most file systems allow for one name, in UTF-8 bytes.
MAX_NAME_BYTES = 255
#: The name of a file that came without a usable one.
FALLBACK_NAME = "file"
# An extension longer than this is more likely part of the name.
_MAX_EXTENSION = 16


def clean_name(raw: str | None) -> str:
    """The last path part of ``raw`` without control or format characters (no header
    injection, no right-to-left override disguising ``exe.pdf``), trimmed to fit."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    # Category C: controls, format characters (bidi overrides), surrogates, unassigned.
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C"))
    name = re.sub(r"\s+", " ", name)
    # Windows drops trailing dots and spaces (so "x.exe." is x.exe); a leading dot hides.
    name = name.strip(" .")
    return _fit(name) or FALLBACK_NAME


def _fit(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip(" .") + suffix


def content_disposition(name: str) -> str:
    """An ``attachment`` header for a cleaned name: an ASCII fallback for old clients and
    the exact name as RFC 6266 ``filename*``."""
    fallback = "".join(char if char.isascii() and char not in '"\\' else "_" for char in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
