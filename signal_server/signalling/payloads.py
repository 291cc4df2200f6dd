"""Validation of client -> server event payloads (docs/PROTOCOL.md, section 2)."""

from __future__ import annotations

from typing import Any

from .codes import MAX_INPUT_LENGTH

MAX_SDP = 65_536
MAX_CANDIDATE = 1_024
MAX_MID = 64
MAX_UFRAG = 256
MAX_REASON = 200


class InvalidPayload(ValueError):
    """The payload does not match its event's schema."""

    def __str__(self) -> str:
        return f"invalid payload: {self.args[0]}"


def _object(payload: Any) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise InvalidPayload("expected an object")
    return payload


def _string(value: Any, what: str, max_length: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidPayload(f"{what} must be a string")
    if len(value) > max_length:
        raise InvalidPayload(f"{what} longer than {max_length} characters")
    if not value and not allow_empty:
        raise InvalidPayload(f"{what} is empty")
    return value


def _optional_string(value: Any, what: str, max_length: int) -> str | None:
    return None if value is None else _string(value, what, max_length, allow_empty=True)


def empty(payload: Any) -> None:
    """Events that take no fields still refuse a payload that is not an object."""
    _object(payload)


def join_code(payload: Any) -> str:
    """The code text of a ``join`` (still to be parsed by :mod:`codes`)."""
    return _string(_object(payload).get("code"), "code", MAX_INPUT_LENGTH)


def cancel_reason(payload: Any) -> str:
    return _string(_object(payload).get("reason", ""), "reason", MAX_REASON, allow_empty=True)


def signal(payload: Any) -> dict[str, Any]:
    """A well-formed signal, rebuilt from known fields only, ready to relay."""
    payload = _object(payload)
    kind = payload.get("type")
    if kind in ("offer", "answer"):
        return {"type": kind, "sdp": _string(payload.get("sdp"), "sdp", MAX_SDP)}
    if kind != "candidate":
        raise InvalidPayload('type must be "offer", "answer" or "candidate"')
    candidate = payload.get("candidate")
    if candidate is None:
        return {"type": "candidate", "candidate": None}
    if not isinstance(candidate, dict):
        raise InvalidPayload("candidate must be an object or null")
    index = candidate.get("sdpMLineIndex")
    if index is not None and (type(index) is not int or not 0 <= index <= 255):
        raise InvalidPayload("sdpMLineIndex must be an integer 0..255 or null")
    return {
        "type": "candidate",
        "candidate": {
            "candidate": _string(candidate.get("candidate"), "candidate", MAX_CANDIDATE, allow_empty=True),
            "sdpMid": _optional_string(candidate.get("sdpMid"), "sdpMid", MAX_MID),
            "sdpMLineIndex": index,
            "usernameFragment": _optional_string(candidate.get("usernameFragment"), "usernameFragment", MAX_UFRAG),
        },
    }
