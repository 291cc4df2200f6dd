"""The handshake of docs/PROTOCOL.md 3, free of I/O: signals in, signals out.

Sender (side A)                               Receiver (side B)
                                              join {slot, pake: B-message}
peer_joined {pake}  -> pake, confirm_A, sealed offer (n=0), sealed candidates
                                              pake    -> confirm_B
                                              confirm -> trusted; opens the offer;
                                                         sealed answer (n=0), candidates
confirm -> trusted; opens the answer

Nothing sealed is opened before the peer's confirmation has been checked. A confirmation
that does not match means the two sides hold different codes (``WrongCode``); anything
out of order, repeated, unopenable or malformed after that is ``Tampered``; a PAKE
message that is no valid message of the other side is ``BadHandshake``.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, Callable, Iterator

from . import b64
from .codes import parse_code
from .errors import BadHandshake, ProtocolError, Tampered, WrongCode
from .messages import InvalidMessage, _integer, _json_object, utf16_length
from .pake import KEY_LENGTH, ROLES, Keys, Pake, Role, same
from .seal import open_sealed, seal

log = logging.getLogger(__name__)

MAX_SDP = 65_536
MAX_CANDIDATE = 1_024
MAX_MID = 64
MAX_UFRAG = 256
MAX_MLINE_INDEX = 255
#: Reconnections (docs/PROTOCOL.md 4.6) a pair may make: a bound, not a budget.
MAX_ATTEMPT = 1_000
#: What each role seals: its description first, then candidates, and a new description
#: for each reconnection.
_DESCRIPTION: dict[Role, str] = {"sender": "offer", "receiver": "answer"}
_CANDIDATE_FIELDS = {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}


class State(StrEnum):
    WAITING_FOR_PAKE = "waiting-for-pake"
    WAITING_FOR_CONFIRM = "waiting-for-confirm"
    TRUSTED = "trusted"
    FAILED = "failed"


class InvalidFields(ValueError):
    """A sealed signal's fields that break their schema."""


class Handshake:
    """One side's handshake. ``entropy`` feeds the PAKE, ``random`` the IVs."""

    def __init__(
        self,
        role: Role,
        code: str,
        *,
        entropy: Callable[[int], bytes] = os.urandom,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self.role: Role = role
        self._peer: Role = "receiver" if role == "sender" else "sender"
        self._pake = Pake(role, parse_code(code).password, entropy=entropy)
        self._random = random
        self._keys: Keys | None = None
        self._sealed = 0
        self._opened = 0
        #: The attempt of our last description and of the peer's (-1: none yet).
        self._attempt = -1
        self._peer_attempt = -1
        self.state = State.WAITING_FOR_PAKE
        #: Base64 of our 33-byte PAKE message (the receiver puts it in ``join``).
        self.pake: str = b64.encode(self._pake.message)

    @property
    def trusted(self) -> bool:
        """The peer's confirmation has been checked: its sealed signals may be opened."""
        return self.state is State.TRUSTED

    def _set_state(self, state: State) -> None:
        log.debug("handshake %s: %s -> %s", self.role, self.state, state)
        self.state = state

    def peer_joined(self, pake: str) -> list[dict[str, str]]:
        """Sender: the receiver's PAKE message, from ``peer_joined``; returns our ``pake``
        and ``confirm`` signals, to send in that order before anything sealed."""
        with self._failing():
            if self.role != "sender" or self.state is not State.WAITING_FOR_PAKE:
                raise Tampered("peer_joined out of order")
            self._finish(pake)
            return [{"type": "pake", "data": self.pake}, self._confirm()]

    def receive(self, signal: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
        """A relayed signal: returns the signals to send now and the opened inner signal
        (``{"type": "offer" | "answer" | "candidate", ...fields}``) to apply, if any."""
        with self._failing():
            if not isinstance(signal, dict):
                raise Tampered("a signal is an object")
            kind, data = signal.get("type"), signal.get("data")
            if self.state is State.WAITING_FOR_PAKE and kind == "pake" and self.role == "receiver":
                self._finish(data)
                return [self._confirm()], None
            if self.state is State.WAITING_FOR_CONFIRM and kind == "confirm":
                self._check_confirm(data)
                return [], None
            if self.state is State.TRUSTED and kind in (_DESCRIPTION[self._peer], "candidate"):
                return [], self._open(str(kind), data)
            raise Tampered(f"an unexpected {str(kind)[:20]!r} signal")

    def seal(self, kind: str, fields: dict[str, Any]) -> dict[str, str]:
        """Our next sealed signal: our description (``offer``/``answer``) first, then
        candidates; a new description for each reconnection, with its ``attempt``
        (PROTOCOL.md 4.6). ``fields`` without ``n``; breaking the schema or the order
        is our bug: ValueError."""
        # The sender's offer goes out with its confirmation; the receiver answers only an
        # offer it opened, so only once it trusts the sender.
        ready = State.WAITING_FOR_CONFIRM if self.role == "sender" else State.TRUSTED
        if self.state not in (ready, State.TRUSTED):
            raise ValueError(f"a {self.role} seals nothing before the handshake reaches {ready}")
        try:
            checked = _checked_fields(kind, fields)
        except InvalidFields as error:
            raise ValueError(str(error)) from None
        attempt = checked.get("attempt", 0)
        description = _DESCRIPTION[self.role]
        if kind not in (description, "candidate"):
            raise ValueError(f"a {self.role} seals only {description}s and candidates")
        if self._sealed == 0 and (kind != description or attempt):
            raise ValueError(f"a {self.role} seals its {description} first, of attempt 0")
        if kind == description:
            answers = self.role == "sender" or attempt == self._peer_attempt
            if self._sealed and (attempt <= self._attempt or not answers):
                raise ValueError(f"a new {description} needs the next attempt (after {self._attempt})")
            self._attempt = attempt
        elif attempt != self._attempt:
            raise ValueError(f"a {self.role} seals candidates of its current attempt, {self._attempt}")
        assert self._keys is not None
        plaintext = json.dumps({"n": self._sealed, **checked}, ensure_ascii=False, separators=(",", ":"))
        key = self._keys.seal_a if self.role == "sender" else self._keys.seal_b
        self._sealed += 1
        return {"type": kind, "data": seal(key, kind, plaintext.encode("utf-8"), random=self._random)}

    @contextmanager
    def _failing(self) -> Iterator[None]:
        """Any refusal ends the handshake: nothing after it is trusted or opened."""
        if self.state is State.FAILED:
            raise Tampered("the handshake has already failed")
        try:
            yield
        except ProtocolError:
            self._set_state(State.FAILED)
            raise

    def _finish(self, pake: object) -> None:
        try:
            message = b64.decode(pake)
        except b64.InvalidBase64:
            raise BadHandshake("the handshake message is not base64") from None
        self._keys = self._pake.finish(message)
        self._set_state(State.WAITING_FOR_CONFIRM)

    def _confirm(self) -> dict[str, str]:
        assert self._keys is not None
        return {"type": "confirm", "data": b64.encode(self._confirmation(self.role))}

    def _confirmation(self, role: Role) -> bytes:
        assert self._keys is not None
        return self._keys.confirm_a if role == "sender" else self._keys.confirm_b

    def _check_confirm(self, data: object) -> None:
        try:
            confirmation = b64.decode(data)
        except b64.InvalidBase64:
            raise BadHandshake("the confirmation is not base64") from None
        if len(confirmation) != KEY_LENGTH:
            raise BadHandshake(f"a confirmation is {KEY_LENGTH} bytes")
        if not same(self._confirmation(self._peer), confirmation):
            raise WrongCode("the confirmation does not match: the two sides hold different codes")
        self._set_state(State.TRUSTED)

    def _open(self, kind: str, data: object) -> dict[str, Any]:
        assert self._keys is not None
        key = self._keys.seal_a if self._peer == "sender" else self._keys.seal_b
        plaintext = open_sealed(key, kind, data)
        try:
            inner = _json_object(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, InvalidMessage):
            raise Tampered("a sealed signal holds no JSON object") from None
        n = _integer(inner.pop("n", None))
        if n != self._opened:
            raise Tampered(f"sealed signal number {n} where {self._opened} was next")
        description = _DESCRIPTION[self._peer]
        if kind != description and (n == 0 or kind != "candidate"):
            raise Tampered(f"a {kind} as sealed signal number {n}")
        try:
            checked = _checked_fields(kind, inner)
        except InvalidFields as error:
            raise Tampered(f"a sealed {kind} breaks its schema: {error}") from None
        self._check_attempt(kind == description, n, checked.get("attempt", 0))
        self._opened += 1
        return {"type": kind, **checked}

    def _check_attempt(self, is_description: bool, n: int, attempt: int) -> None:
        """The peer's attempts only go up (a replayed older description is refused), an
        answer answers an offer we made, and no candidate is of an attempt to come."""
        if is_description:
            ours = self.role == "receiver" or attempt <= max(self._attempt, 0)
            if (n == 0) != (attempt == 0) or attempt <= self._peer_attempt or not ours:
                raise Tampered(f"a description of attempt {attempt} after attempt {self._peer_attempt}")
            self._peer_attempt = attempt
        elif attempt > self._peer_attempt:
            raise Tampered(f"a candidate of attempt {attempt}, whose description has not come")


def _checked_fields(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a sealed ``kind`` (without ``n``), exactly as the schema allows; an
    ``attempt`` only when it is not 0."""
    main = "candidate" if kind == "candidate" else "sdp"
    if set(fields) - {"attempt"} != {main}:
        raise InvalidFields(f"a sealed {kind} holds exactly its {main} (and maybe an attempt)")
    checked: dict[str, Any] = {}
    if kind == "candidate":
        checked["candidate"] = _candidate(fields["candidate"])
    else:
        sdp = fields["sdp"]
        if not isinstance(sdp, str) or not 1 <= utf16_length(sdp) <= MAX_SDP:
            raise InvalidFields(f"an sdp is a string of 1 to {MAX_SDP} characters")
        checked["sdp"] = sdp
    if "attempt" in fields:
        attempt = _integer(fields["attempt"])
        if attempt is None or not 1 <= attempt <= MAX_ATTEMPT:
            raise InvalidFields(f"an attempt is an integer 1 to {MAX_ATTEMPT}")
        checked["attempt"] = attempt
    return checked


def _candidate(candidate: Any) -> dict[str, Any] | None:
    if candidate is None:
        return None
    if not isinstance(candidate, dict) or set(candidate) != _CANDIDATE_FIELDS:
        raise InvalidFields("a candidate is null or an object of exactly " + ", ".join(sorted(_CANDIDATE_FIELDS)))
    line, mid, index, ufrag = (candidate[name] for name in ("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"))
    if not isinstance(line, str) or utf16_length(line) > MAX_CANDIDATE:
        raise InvalidFields(f"candidate.candidate is a string of at most {MAX_CANDIDATE} characters")
    if not _optional_text(mid, MAX_MID):
        raise InvalidFields(f"candidate.sdpMid is null or a string of at most {MAX_MID} characters")
    if not _optional_text(ufrag, MAX_UFRAG):
        raise InvalidFields(f"candidate.usernameFragment is null or a string of at most {MAX_UFRAG} characters")
    number = None if index is None else _integer(index)
    if index is not None and (number is None or not 0 <= number <= MAX_MLINE_INDEX):
        raise InvalidFields(f"candidate.sdpMLineIndex is null or an integer 0 to {MAX_MLINE_INDEX}")
    return {"candidate": line, "sdpMid": mid, "sdpMLineIndex": number, "usernameFragment": ufrag}


def _optional_text(value: Any, limit: int) -> bool:
    return value is None or (isinstance(value, str) and utf16_length(value) <= limit)
