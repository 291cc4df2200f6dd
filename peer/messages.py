"""Data-channel transfer messages (docs/PROTOCOL.md 3.1): parsing and validation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 1
MAX_FILES = 10_000
MAX_NAME = 1_024
MAX_TYPE = 255
MAX_TEXT = 200
MAX_SIZE = 2**53 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_NO_FIELDS = ("accept", "decline", "done")


class InvalidMessage(ValueError):
    """A data-channel message that breaks the protocol."""


@dataclass(frozen=True)
class FileEntry:
    """One file offered in a manifest."""

    name: str
    size: int
    type: str


def _is_int(value: Any) -> bool:
    return type(value) is int


def check_name(name: Any) -> str:
    """A safe relative path: no empty, ``.`` or ``..`` part, no backslash or control character."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise InvalidMessage("file name must be 1 to 1024 characters")
    if _CONTROL.search(name):
        raise InvalidMessage("file name has a backslash or control character")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidMessage("file name must be a relative path without empty, . or .. parts")
    return name


def _file_entry(entry: Any) -> FileEntry:
    if not isinstance(entry, dict):
        raise InvalidMessage("each file must be an object")
    size, kind = entry.get("size"), entry.get("type")
    if not _is_int(size) or not 0 <= size <= MAX_SIZE:
        raise InvalidMessage("file size must be an integer 0 to 2^53-1")
    if not isinstance(kind, str) or len(kind) > MAX_TYPE:
        raise InvalidMessage("file type must be a string of at most 255 characters")
    return FileEntry(name=check_name(entry.get("name")), size=size, type=kind)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidMessage(f"{field} must be a string of at most {MAX_TEXT} characters")
    return value


def parse_message(text: str) -> dict[str, Any]:
    """Parse and validate one text message; the result holds only known fields."""
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        raise InvalidMessage("not a JSON message") from None
    if not isinstance(message, dict):
        raise InvalidMessage("a message must be a JSON object")
    kind = message.get("type")
    if kind == "manifest":
        files = message.get("files")
        if message.get("version") != PROTOCOL_VERSION:
            raise InvalidMessage(f"unsupported protocol version {message.get('version')!r}")
        if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
            raise InvalidMessage("a manifest lists 1 to 10000 files")
        return {"type": kind, "version": PROTOCOL_VERSION, "files": [_file_entry(f) for f in files]}
    if kind in _NO_FIELDS:
        return {"type": kind}
    if kind in ("file-end", "file-ok"):
        index = message.get("index")
        if not _is_int(index) or not 0 <= index < MAX_FILES:
            raise InvalidMessage("index must be a file's position in the manifest")
        if kind == "file-ok":
            return {"type": kind, "index": index}
        digest = message.get("digest")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise InvalidMessage("digest must be 64 lower-case hex digits")
        return {"type": kind, "index": index, "digest": digest}
    if kind == "cancel":
        return {"type": kind, "reason": _text(message.get("reason", ""), "reason")}
    if kind == "error":
        return {"type": kind, "message": _text(message.get("message"), "message")}
    raise InvalidMessage(f"unknown message type {kind!r}")
