"""Data-channel transfer messages (docs/PROTOCOL.md 3.1): parsing, validation, and the
manifest split into messages that fit (and put together again)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from .digest import BLOCK_SIZE
from .errors import ERROR_ID, ErrorId, ProtocolError

PROTOCOL_VERSION = 2
#: The largest message either way, text in UTF-8 or binary: what every browser takes.
MAX_MESSAGE = 262_144
MAX_FILES = 10_000
MAX_NAME = 1_024
MAX_TYPE = 255
MAX_TEXT = 200
MAX_SIZE = 2**53 - 1
#: Blocks of docs/PROTOCOL.md 4.5 (1 MiB) in the largest file.
MAX_BLOCKS = -(-MAX_SIZE // BLOCK_SIZE)
# What no name may hold (docs/PROTOCOL.md 3.1): control characters (general category Cc:
# C0, DEL and C1) and Unicode's Bidi_Control characters, which reorder what follows
# them, so that "report\u202egpj.exe" shows as "reportexe.jpg" and is an .exe.
_CONTROLS = "\x00-\x1f\x7f-\x9f"
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}\\\\]")
_BIDI = re.compile(f"[{_BIDI_CONTROLS}]")
_UNSHOWABLE = re.compile(f"[{_CONTROLS}{_BIDI_CONTROLS}]")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class InvalidMessage(ProtocolError, ValueError):
    """A data-channel message that breaks the protocol (``protocol-error`` unless a
    manifest's version says otherwise)."""


@dataclass(frozen=True)
class FileEntry:
    """One file offered in a manifest."""

    name: str
    size: int
    type: str


@dataclass(frozen=True)
class ResumeEntry:
    """A receiver's claim in ``accept`` (docs/PROTOCOL.md 4.6): it already holds the
    first ``blocks`` blocks of file ``index``, whose prefix digest is ``digest``."""

    index: int
    blocks: int
    digest: str


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


def _error_id(value: Any) -> str:
    """Any well-formed id, known or not: a newer peer may have ids this one does not."""
    if not isinstance(value, str) or not ERROR_ID.fullmatch(value):
        raise InvalidMessage("error_id must be lower-case letters, digits and dashes, at most 40")
    return value


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def encode_message(message: dict[str, Any]) -> str:
    """The text sent for ``message``: compact JSON, ASCII only (so its length in UTF-8 is
    its length in characters)."""
    return json.dumps(message, separators=(",", ":"))


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def check_binary(data: bytes) -> bytes:
    """A binary message: 1 to MAX_MESSAGE bytes."""
    if not 1 <= len(data) <= MAX_MESSAGE:
        raise InvalidMessage(f"a binary message must be 1 to {MAX_MESSAGE} bytes, not {len(data)}")
    return data


def parse_message(text: str) -> dict[str, Any]:
    """Parse and validate one text message; the result holds only known fields."""
    # Each UTF-8 byte is at most one character: only a long text needs counting.
    if len(text) > MAX_MESSAGE // 4 and utf8_length(text) > MAX_MESSAGE:
        raise InvalidMessage(f"a message must be at most {MAX_MESSAGE} bytes")
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


def _version(value: Any) -> int:
    """Version 2; an older or newer peer is told so in words of its own."""
    version = 1 if value is None else _integer(value)
    if version is None:
        raise InvalidMessage("the manifest's version must be an integer")
    if version < PROTOCOL_VERSION:
        raise InvalidMessage("this peer speaks an older SendIt protocol", ErrorId.OLD_PROTOCOL)
    if version > PROTOCOL_VERSION:
        raise InvalidMessage("this peer speaks a newer SendIt protocol", ErrorId.NEW_PROTOCOL)
    return version


def _files(message: dict[str, Any], most: int) -> list[FileEntry]:
    files = message.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= most:
        raise InvalidMessage(f"a manifest part lists 1 to {most} files")
    return [_file_entry(f) for f in files]


def _manifest(message: dict[str, Any]) -> dict[str, Any]:
    version = _version(message.get("version"))
    count = _integer(message.get("count"))
    if count is None or not 1 <= count <= MAX_FILES:
        raise InvalidMessage(f"a manifest's count must be 1 to {MAX_FILES}")
    resume = message.get("resume", False)
    if not isinstance(resume, bool):
        raise InvalidMessage("a manifest's resume must be true or false")
    parsed = {"type": "manifest", "version": version, "count": count, "files": _files(message, count)}
    return {**parsed, "resume": True} if resume else parsed


def _manifest_more(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "manifest-more", "files": _files(message, MAX_FILES)}


def _no_fields(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": message["type"]}


def _index(message: dict[str, Any]) -> int:
    index = _integer(message.get("index"))
    if index is None or not 0 <= index < MAX_FILES:
        raise InvalidMessage("index must be a file's position in the manifest")
    return index


def _blocks(value: Any, field: str, least: int) -> int:
    blocks = _integer(value)
    if blocks is None or not least <= blocks <= MAX_BLOCKS:
        raise InvalidMessage(f"{field} must be an integer {least} to {MAX_BLOCKS}")
    return blocks


def _digest(value: Any) -> str:
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise InvalidMessage("digest must be 64 lower-case hex digits")
    return value


def _resume_entries(value: Any, least: int) -> list[ResumeEntry]:
    if not isinstance(value, list) or not least <= len(value) <= MAX_FILES:
        raise InvalidMessage(f"resume lists {least} to {MAX_FILES} entries")
    entries = []
    for entry in value:
        if not isinstance(entry, dict):
            raise InvalidMessage("each resume entry must be an object")
        blocks = _blocks(entry.get("blocks"), "a resume entry's blocks", 1)
        entries.append(ResumeEntry(index=_index(entry), blocks=blocks, digest=_digest(entry.get("digest"))))
    return entries


def _accept(message: dict[str, Any]) -> dict[str, Any]:
    """A bare ``accept``, or one that says what the receiver holds (4.6)."""
    if "resume_count" not in message and "resume" not in message:
        return {"type": "accept"}
    count = _integer(message.get("resume_count"))
    if count is None or not 0 <= count <= MAX_FILES:
        raise InvalidMessage(f"an accept's resume_count must be 0 to {MAX_FILES}")
    entries = _resume_entries(message.get("resume"), min(count, 1))
    if len(entries) > count:
        raise InvalidMessage(f"the accept lists more than the {count} resume entries it announced")
    return {"type": "accept", "resume_count": count, "resume": entries}


def _accept_more(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "accept-more", "resume": _resume_entries(message.get("resume"), 1)}


def _file_from(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "file-from", "index": _index(message), "block": _blocks(message.get("block"), "block", 0)}


def _continue(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "continue",
        "index": _index(message),
        "blocks": _blocks(message.get("blocks"), "blocks", 0),
        "digest": _digest(message.get("digest")),
    }


def _file_ok(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "file-ok", "index": _index(message)}


def _file_end(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "file-end", "index": _index(message), "digest": _digest(message.get("digest"))}


def _cancel(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "cancel",
        "reason": _text(message.get("reason", ""), "reason"),
        "error_id": _error_id(message.get("error_id", ErrorId.CANCELLED.value)),
    }


def _error(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "error",
        "message": _text(message.get("message"), "message"),
        "error_id": _error_id(message.get("error_id")),
    }


_PARSERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "manifest": _manifest,
    "manifest-more": _manifest_more,
    "accept": _accept,
    "accept-more": _accept_more,
    "file-from": _file_from,
    "continue": _continue,
    "decline": _no_fields,
    "done": _no_fields,
    "file-end": _file_end,
    "file-ok": _file_ok,
    "cancel": _cancel,
    "error": _error,
}


def check_offer(files: Sequence[FileEntry]) -> None:
    """What no single entry shows: a name twice, or a name that is a folder of another
    (``x`` beside ``x/y``): no receiver could save both."""
    names: set[str] = set()
    for entry in files:
        if entry.name in names:
            raise InvalidMessage(f"the offer names {entry.name} twice")
        names.add(entry.name)
    for name in names:
        for folder in _folders(name):
            if folder in names:
                raise InvalidMessage(f"the offer has both {folder} and {name}, which needs {folder} as a folder")


def _folders(name: str) -> Iterator[str]:
    """``a/b/c`` -> ``a``, ``a/b``."""
    end = name.find("/")
    while end != -1:
        yield name[:end]
        end = name.find("/", end + 1)


def _entry_json(entry: FileEntry) -> dict[str, Any]:
    return {"name": entry.name, "size": entry.size, "type": entry.type}


def _split(
    first: dict[str, Any], more: dict[str, Any], field: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``first`` then as many ``more`` as it takes, ``items`` under ``field`` in order, each
    message as full as it can be and none over MAX_MESSAGE bytes."""
    parts: list[list[dict[str, Any]]] = [[]]
    # What a part costs before its first item: the first part's envelope, the longer.
    envelope = utf8_length(encode_message({**first, field: []}))
    room = MAX_MESSAGE - envelope
    for item in items:
        cost = utf8_length(encode_message(item)) + 1  # the comma before it
        if cost > room and parts[-1]:
            parts.append([])
            room = MAX_MESSAGE - envelope
        parts[-1].append(item)
        room -= cost
    return [{**first, field: parts[0]}] + [{**more, field: part} for part in parts[1:]]


def split_manifest(files: Sequence[FileEntry], *, resume: bool) -> list[dict[str, Any]]:
    """The offer as ``manifest`` and as many ``manifest-more`` as it takes for every
    message to fit MAX_MESSAGE bytes; ``resume``: it says the sender can resume (4.6)."""
    first: dict[str, Any] = {"type": "manifest", "version": PROTOCOL_VERSION, "count": len(files)}
    if resume:
        first["resume"] = True
    return _split(first, {"type": "manifest-more"}, "files", [_entry_json(entry) for entry in files])


def split_accept(entries: Sequence[ResumeEntry]) -> list[dict[str, Any]]:
    """An ``accept`` that says what this side holds, and as many ``accept-more`` as it
    takes to fit (4.6)."""
    first = {"type": "accept", "resume_count": len(entries)}
    items = [{"index": e.index, "blocks": e.blocks, "digest": e.digest} for e in entries]
    return _split(first, {"type": "accept-more"}, "resume", items)


class ManifestAssembly:
    """A manifest put together from its parts, checked as a whole once complete."""

    def __init__(self) -> None:
        self.count: int | None = None
        self.files: list[FileEntry] = []

    @property
    def complete(self) -> bool:
        return self.count is not None and len(self.files) == self.count

    def add(self, message: dict[str, Any]) -> list[FileEntry] | None:
        """Take one parsed ``manifest`` (first) or ``manifest-more`` (after it); the whole
        offer once the last part arrived, else ``None``."""
        first = message["type"] == "manifest"
        if first != (self.count is None):
            raise InvalidMessage(f"unexpected {message['type']} while the manifest arrives")
        if first:
            self.count = message["count"]
        assert self.count is not None
        if len(self.files) + len(message["files"]) > self.count:
            raise InvalidMessage(f"the manifest has more than the {self.count} files it announced")
        self.files += message["files"]
        if not self.complete:
            return None
        check_offer(self.files)
        return self.files


def block_count(size: int) -> int:
    """How many blocks of docs/PROTOCOL.md 4.5 a file of ``size`` bytes is cut into."""
    return -(-size // BLOCK_SIZE)


class ResumeAssembly:
    """What the receiver holds, from an ``accept`` and its ``accept-more`` parts, checked
    against the offer (4.6): indices in the offer and ascending, no claim past a file's
    blocks."""

    def __init__(self, files: Sequence[FileEntry], accept: dict[str, Any]) -> None:
        self.files = files
        self.count: int = accept["resume_count"]
        if self.count > len(files):
            raise InvalidMessage(f"resume_count {self.count} is more than the {len(files)} files offered")
        self.entries: dict[int, ResumeEntry] = {}
        self._last = -1
        self._add(accept["resume"])

    @property
    def complete(self) -> bool:
        return len(self.entries) == self.count

    def add(self, message: dict[str, Any]) -> None:
        """Take one parsed ``accept-more``."""
        if message["type"] != "accept-more" or self.complete:
            raise InvalidMessage(f"unexpected {message['type']} while the accept's resume entries arrive")
        self._add(message["resume"])

    def _add(self, entries: list[ResumeEntry]) -> None:
        if len(self.entries) + len(entries) > self.count:
            raise InvalidMessage(f"the accept has more than the {self.count} resume entries it announced")
        for entry in entries:
            if not self._last < entry.index < len(self.files):
                raise InvalidMessage("resume entries name files of the offer, each once, in order")
            if entry.blocks > block_count(self.files[entry.index].size):
                raise InvalidMessage(f"a resume entry claims more blocks than file {entry.index} has")
            self.entries[entry.index] = entry
            self._last = entry.index
