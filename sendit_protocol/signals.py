"""The signalling events a client sends the server (docs/PROTOCOL.md section 2): their
payloads' schemas and limits.

Each function takes the payload as socket.io decoded it (``None`` when the client sent
none) and returns what the event carries, or raises a :class:`ProtocolError` whose
``error_id`` is the acknowledgement's. A payload holds exactly the fields its event lists:
any other field is refused, never dropped, so what the server relays is what was sent.
The server reads nothing of a signal but its envelope: ``data`` is opaque to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import b64
from .codes import InvalidCode, parse_slot
from .errors import ERROR_ID, ErrorId, ProtocolError
from .ice import Route
from .messages import utf16_length

PROTOCOL_VERSION = 2
SIGNAL_TYPES = ("pake", "confirm", "offer", "answer", "candidate")
#: A signal's ``data``, in base64 characters: a confirmation is 44, a sealed description
#: of 65,536 ASCII characters (an SDP is ASCII) some 87,500.
MIN_DATA = 4
MAX_DATA = 200_000
#: A PAKE message: a side byte and a 32-byte element.
PAKE_BYTES = 33
MAX_REASON = 200
#: The alphabet, and padding only at the end; with a length that is a multiple of 4, at
#: most two ``=`` make a whole last quantum.
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class InvalidPayload(ProtocolError):
    """The payload does not match its event's schema."""

    error_id = ErrorId.INVALID_PAYLOAD

    def __init__(self, what: str) -> None:
        super().__init__(f"invalid payload: {what}")


class OldProtocol(ProtocolError):
    """A peer of protocol 1 (no ``version``, or a ``join`` by code)."""

    error_id = ErrorId.OLD_PROTOCOL

    def __init__(self) -> None:
        super().__init__("this peer speaks an older SendIt protocol; update it")


class NewProtocol(ProtocolError):
    """A peer of a protocol newer than this server's."""

    error_id = ErrorId.NEW_PROTOCOL

    def __init__(self) -> None:
        super().__init__("this server speaks an older SendIt protocol than this peer")


@dataclass(frozen=True)
class Join:
    """A receiver's ``join``: the slot it asks for, and its PAKE message for the sender."""

    slot: int
    pake: str


@dataclass(frozen=True)
class Cancel:
    """A ``cancel``: the words for the peer (possibly empty) and the id of why."""

    reason: str
    error_id: str


def _fields(payload: Any, allowed: frozenset[str], required: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``payload`` as an object with only ``allowed`` fields and every ``required`` one;
    no payload at all is the empty object."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise InvalidPayload("expected an object")
    unknown = payload.keys() - allowed
    if unknown:
        # Keys are strings (JSON); sorted, so that the words do not vary between runs.
        raise InvalidPayload(f"unknown field {sorted(unknown)[0]!r}")
    missing = required - payload.keys()
    if missing:
        raise InvalidPayload(f"missing field {sorted(missing)[0]!r}")
    return payload


def _check_version(payload: Any) -> None:
    """Protocol 2, or the refusal a peer of another protocol can tell apart: checked
    before the fields, since an older peer's payload has other fields."""
    if payload is not None and not isinstance(payload, dict):
        raise InvalidPayload("expected an object")
    version = None if payload is None else payload.get("version")
    if version is None:
        raise OldProtocol()
    # A JSON number: JavaScript does not tell 2 from 2.0, so neither may we.
    if isinstance(version, bool) or not isinstance(version, (int, float)):
        raise InvalidPayload("version must be a number")
    if version < PROTOCOL_VERSION:
        raise OldProtocol()
    if version > PROTOCOL_VERSION:
        raise NewProtocol()
    if version != PROTOCOL_VERSION:  # NaN, which Python's JSON reads
        raise InvalidPayload("version must be a number")


def _base64(value: Any, what: str, shortest: int, longest: int) -> str:
    """Base64 that :func:`b64.decode` takes, checked without decoding all of it (the
    server never reads ``data``): of well-shaped text only the last quantum can be
    spelt other than its bytes' one spelling."""
    if not isinstance(value, str):
        raise InvalidPayload(f"{what} must be a string")
    if not shortest <= utf16_length(value) <= longest:
        raise InvalidPayload(f"{what} must be {shortest} to {longest} characters")
    try:
        if len(value) % 4 or not _BASE64.fullmatch(value):
            raise b64.InvalidBase64("not base64")
        b64.decode(value[-4:])
    except b64.InvalidBase64:
        raise InvalidPayload(f"{what} must be base64 (RFC 4648, padded, canonical, no white space)") from None
    return value


def _pake(value: Any) -> str:
    try:
        if len(b64.decode(value)) != PAKE_BYTES:
            raise b64.InvalidBase64("not a PAKE message")
    except b64.InvalidBase64:
        raise InvalidPayload(f"pake must be {PAKE_BYTES} bytes in base64") from None
    return value


def _slot(value: Any) -> int:
    try:
        return parse_slot(value)
    except InvalidCode as error:
        raise InvalidPayload(str(error)) from None


_CREATE = frozenset({"version"})
_JOIN = frozenset({"version", "slot", "pake"})
_SIGNAL = frozenset({"type", "data"})
_CANCEL = frozenset({"reason", "error_id"})
_DONE = frozenset({"route"})
_NONE: frozenset[str] = frozenset()


def create(payload: Any) -> None:
    """A sender's ``create`` ``{"version": 2}``."""
    _check_version(payload)
    _fields(payload, _CREATE)


def join(payload: Any) -> Join:
    """A receiver's ``join`` ``{"version": 2, "slot": "4821", "pake": <base64>}``."""
    _check_version(payload)
    fields = _fields(payload, _JOIN, _JOIN)
    return Join(slot=_slot(fields["slot"]), pake=_pake(fields["pake"]))


def signal(payload: Any) -> dict[str, Any]:
    """A ``signal`` ``{"type": T, "data": <base64>}``, as a fresh object to relay."""
    fields = _fields(payload, _SIGNAL, _SIGNAL)
    kind = fields["type"]
    if not isinstance(kind, str) or kind not in SIGNAL_TYPES:
        raise InvalidPayload(f"type must be one of {', '.join(SIGNAL_TYPES)}")
    return {"type": kind, "data": _base64(fields["data"], "data", MIN_DATA, MAX_DATA)}


def cancel(payload: Any) -> Cancel:
    """A ``cancel`` ``{"reason"?: words, "error_id"?: id}``; an absent id is ``cancelled``."""
    fields = _fields(payload, _CANCEL)
    reason = fields.get("reason", "")
    if not isinstance(reason, str) or utf16_length(reason) > MAX_REASON:
        raise InvalidPayload(f"reason must be a string of at most {MAX_REASON} characters")
    error_id = fields.get("error_id", ErrorId.CANCELLED.value)
    if not isinstance(error_id, str) or not ERROR_ID.fullmatch(error_id):
        raise InvalidPayload("error_id must be an error id: a-z, 0-9 and -, at most 40, a letter first")
    return Cancel(reason=reason, error_id=error_id)


def done(payload: Any) -> Route | None:
    """A ``done`` ``{"route"?: "lan" | "nat" | "relay"}``: how the sender of it was
    connected (3.5), None when it does not say."""
    fields = _fields(payload, _DONE)
    if "route" not in fields:
        return None
    route = fields["route"]
    if not isinstance(route, str) or route not in {known.value for known in Route}:
        raise InvalidPayload(f"route must be one of {', '.join(Route)}")
    return Route(route)


def empty(payload: Any) -> None:
    """``leave``: ``{}`` (or no payload)."""
    _fields(payload, _NONE)
