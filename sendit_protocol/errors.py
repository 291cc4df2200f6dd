"""The error identifiers of docs/PROTOCOL.md: the words a refusal is decided on.

Every refusal on the wire (a failed acknowledgement, a data-channel ``error`` or
``cancel``, a pool JSON error) carries one of these beside its English words; clients
decide on the id, never on the words, and word each refusal for their person in one
place of their own.
"""

from __future__ import annotations

import re
from enum import StrEnum

#: What any error id looks like on the wire (ids a peer does not know are still valid).
ERROR_ID = re.compile(r"[a-z][a-z0-9-]{0,39}")


class ErrorId(StrEnum):
    # Server acknowledgements (docs/PROTOCOL.md section 2).
    INVALID_PAYLOAD = "invalid-payload"
    OLD_PROTOCOL = "old-protocol"
    NEW_PROTOCOL = "new-protocol"
    CODE_NOT_FOUND = "code-not-found"
    CODE_USED = "code-used"
    TOO_MANY_ATTEMPTS = "too-many-attempts"
    ALREADY_HOLDING = "already-holding"
    TOO_MANY_CODES = "too-many-codes"
    NO_FREE_SLOT = "no-free-slot"
    NOT_PAIRED = "not-paired"
    PEER_NOT_CONNECTED = "peer-not-connected"
    TOO_MANY_CONNECTIONS = "too-many-connections"
    # The handshake (section 3).
    WRONG_CODE = "wrong-code"
    TAMPERED = "tampered"
    BAD_HANDSHAKE = "bad-handshake"
    # The transfer (section 4).
    PROTOCOL_ERROR = "protocol-error"
    HASH_MISMATCH = "hash-mismatch"
    NO_MANIFEST = "no-manifest"
    OFFER_TIMEOUT = "offer-timeout"
    CANNOT_SAVE = "cannot-save"
    READ_FAILED = "read-failed"
    CANCELLED = "cancelled"
    # Local-only: how a run ended, never on the wire.
    PEER_LEFT = "peer-left"
    # Why a connection did not open (section 3.5), local too.
    NO_PATH = "no-path"
    RELAY_UNAVAILABLE = "relay-unavailable"
    TURN_REFUSED = "turn-refused"
    TURN_UNREACHABLE = "turn-unreachable"
    NO_LOCAL_CANDIDATES = "no-local-candidates"
    NO_REMOTE_CANDIDATES = "no-remote-candidates"
    NO_STUN = "no-stun"
    NEEDS_TURN = "needs-turn"


class ProtocolError(Exception):
    """A refusal with its id; ``str(error)`` is its words."""

    error_id: ErrorId = ErrorId.PROTOCOL_ERROR

    def __init__(self, message: str, error_id: ErrorId | None = None) -> None:
        super().__init__(message)
        if error_id is not None:
            self.error_id = error_id


class WrongCode(ProtocolError):
    """The peer's key confirmation does not match: the two sides hold different codes."""

    error_id = ErrorId.WRONG_CODE


class Tampered(ProtocolError):
    """A signal broke the handshake after a good confirmation, or failed its seal check."""

    error_id = ErrorId.TAMPERED


class BadHandshake(ProtocolError):
    """The peer's handshake message is no valid message of the other side."""

    error_id = ErrorId.BAD_HANDSHAKE
