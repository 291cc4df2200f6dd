"""Data-channel transfer messages (docs/PROTOCOL.md 3.1): parsing and validation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

PROTOCOL_VERSION = 1
MAX_FILES = 10_000
MAX_NAME = 1_024
MAX_TYPE = 255
MAX_TEXT = 200
MAX_SIZE = 2**53 - 1
# What no name may hold (docs/PROTOCOL.md 3.1): control characters (general category Cc:
# C0, DEL and C1) and Unicode's Bidi_Control characters, which reorder what follows
# them, so that "report\u202egpj.exe" shows as "reportexe.jpg" and is an .exe.
_CONTROLS = "\x00-\x1f\x7f-\x9f"
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}\\\\]")
_BIDI = re.compile(f"[{_BIDI_CONTROLS}]")
_UNSHOWABLE = re.compile(f"[{_CONTROLS}{_BIDI_CONTROLS}]")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class InvalidMessage(ValueError):
    """A data-channel message that breaks the protocol."""


@dataclass(frozen=True)
class FileEntry:
    """One file offered in a manifest."""

    name: str
    size: int
    type: str


def _integer(value: Any) -> int | None:
    """A JSON integer; JSON does not tell 1 from 1.0, and neither may we (JavaScript can't)."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def utf16_length(text: str) -> int:
    """Length as JavaScript counts it: the protocol's limits are in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to at most ``limit`` UTF-16 code units, never inside a character."""
    units = text.encode("utf-16-le", "surrogatepass")[: 2 * limit]
    if units and 0xD800 <= int.from_bytes(units[-2:], "little") <= 0xDBFF:
        units = units[:-2]
    return units.decode("utf-16-le", "surrogatepass")


def neutralised(text: str) -> str:
    """The peer's words (a reason, an error message) safe to show: control and
    bidirectional formatting characters replaced by U+FFFD."""
    return _UNSHOWABLE.sub("\ufffd", text)


def check_name(name: Any) -> str:
    """A safe relative path: no empty, ``.`` or ``..`` part, no backslash, control or
    bidirectional formatting character."""
    if not isinstance(name, str) or not 1 <= utf16_length(name) <= MAX_NAME:
        raise InvalidMessage("file name must be 1 to 1024 characters")
    if not _well_formed(name):
        raise InvalidMessage("file name is not valid Unicode")
    if _CONTROL.search(name):
        raise InvalidMessage("file name has a backslash or control character")
    if _BIDI.search(name):
        raise InvalidMessage("file name has a bidirectional formatting character, which could disguise it")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidMessage("file name must be a relative path without empty, . or .. parts")
    return name


def _well_formed(text: str) -> bool:
    """No lone surrogate: a name must be writable as a path."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _file_entry(entry: Any) -> FileEntry:
    if not isinstance(entry, dict):
        raise InvalidMessage("each file must be an object")
    size, kind = _integer(entry.get("size")), entry.get("type")
    if size is None or not 0 <= size <= MAX_SIZE:
        raise InvalidMessage("file size must be an integer 0 to 2^53-1")
    if not isinstance(kind, str) or utf16_length(kind) > MAX_TYPE:
        raise InvalidMessage("file type must be a string of at most 255 characters")
    return FileEntry(name=check_name(entry.get("name")), size=size, type=kind)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or utf16_length(value) > MAX_TEXT:
        raise InvalidMessage(f"{field} must be a string of at most {MAX_TEXT} characters")
    return value


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def parse_message(text: str) -> dict[str, Any]:
    """Parse and validate one text message; the result holds only known fields."""
    message = _json_object(text)
    kind = message.get("type")
    # A type that is no string (a list, say) is unknown too, and could not even be looked up.
    parse = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        raise InvalidMessage(f"unknown message type {kind!r}")
    return parse(message)


def _json_object(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text, parse_constant=_not_json)
    except (json.JSONDecodeError, TypeError, ValueError):
        raise InvalidMessage("not a JSON message") from None
    if not isinstance(message, dict):
        raise InvalidMessage("a message must be a JSON object")
    return message


def _manifest(message: dict[str, Any]) -> dict[str, Any]:
    files = message.get("files")
    if _integer(message.get("version")) != PROTOCOL_VERSION:
        raise InvalidMessage(f"unsupported protocol version {message.get('version')!r}")
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
        raise InvalidMessage("a manifest lists 1 to 10000 files")
    return {"type": "manifest", "version": PROTOCOL_VERSION, "files": [_file_entry(f) for f in files]}


def _no_fields(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": message["type"]}


def _index(message: dict[str, Any]) -> int:
    index = _integer(message.get("index"))
    if index is None or not 0 <= index < MAX_FILES:
        raise InvalidMessage("index must be a file's position in the manifest")
    return index


def _file_ok(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "file-ok", "index": _index(message)}


def _file_end(message: dict[str, Any]) -> dict[str, Any]:
    index = _index(message)
    digest = message.get("digest")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidMessage("digest must be 64 lower-case hex digits")
    return {"type": "file-end", "index": index, "digest": digest}


def _cancel(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "cancel", "reason": _text(message.get("reason", ""), "reason")}


def _error(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "error", "message": _text(message.get("message"), "message")}


_PARSERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "manifest": _manifest,
    "accept": _no_fields,
    "decline": _no_fields,
    "done": _no_fields,
    "file-end": _file_end,
    "file-ok": _file_ok,
    "cancel": _cancel,
    "error": _error,
}
