"""How a peer run ends: exit codes, and the errors that carry them."""

from __future__ import annotations

from enum import IntEnum

from sendit_protocol.errors import ErrorId


class ExitCode(IntEnum):
    """The documented exit status of ``sendit`` (README.md, "Exit codes")."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CODE = 3
    CONNECTION = 4
    VERIFICATION = 5
    CANCELLED = 6
    WRONG_CODE = 7
    UNTRUSTED = 8


class PeerError(Exception):
    """A run that cannot finish; ``str(error)`` is one line for the user.

    ``told`` is what the other side hears of it, when this side tells it: the user's line
    may name this machine's paths, which are none of the peer's business. ``error_id``
    is the protocol's id of what happened, when there is one (scripts decide on it)."""

    exit_code = ExitCode.ERROR
    error_id: str | None = None

    def __init__(self, message: str, told: str | None = None, error_id: str | None = None) -> None:
        super().__init__(message)
        self.told = message if told is None else told
        if error_id is not None:
            self.error_id = error_id


class UsageError(PeerError):
    """The command line or its files cannot work."""

    exit_code = ExitCode.USAGE


class CodeRefused(PeerError):
    """The server does not know the code, it expired, or it is already used."""

    exit_code = ExitCode.CODE


class ConnectionFailed(PeerError):
    """The server or the peer could not be reached, or went away."""

    exit_code = ExitCode.CONNECTION


class GaveUpToo(ConnectionFailed):
    """The peer could not connect and said so: this side gave up too, for its own
    reason (docs/PROTOCOL.md 3.5)."""


class VerificationFailed(PeerError):
    """A file arrived damaged: its digest or length is wrong."""

    exit_code = ExitCode.VERIFICATION


class Cancelled(PeerError):
    """Someone cancelled or declined the transfer."""

    exit_code = ExitCode.CANCELLED


class ProtocolViolation(PeerError):
    """The other side broke docs/PROTOCOL.md; it has been told, where it could be."""


class Untrusted(PeerError):
    """The handshake went wrong in a way that no honest pair of peers causes: nothing
    from the other side can be trusted, so the run stops and keeps nothing.

    ``error_id`` says which (tampered, bad-handshake, wrong-code); the side that finds it
    tells the server ``cancel`` with it, and the other side decides on that id."""

    exit_code = ExitCode.UNTRUSTED
    error_id: ErrorId = ErrorId.TAMPERED
    #: The short words the server relays with the id.
    reason = "a signal failed its seal check"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.words())

    def words(self) -> str:
        return (
            "The connection was tampered with on the way (a signal failed its seal check); "
            "the transfer was stopped and nothing was kept."
        )


class BadHandshake(Untrusted):
    error_id = ErrorId.BAD_HANDSHAKE
    reason = "a handshake message was not valid"

    def words(self) -> str:
        return (
            "The other side's handshake message was not valid (a broken or hostile peer, or the connection "
            "was tampered with); the transfer was stopped and nothing was kept."
        )


class WrongCode(Untrusted):
    """The two sides hold different codes: the receiver typed other words than the
    sender's. The slot is used up: the sender needs a new code."""

    exit_code = ExitCode.WRONG_CODE
    error_id = ErrorId.WRONG_CODE
    reason = "the code does not match"

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__()

    def words(self) -> str:
        if self.role == "sender":
            return "Someone tried this code with the wrong words; it no longer works."
        return "That code doesn't match. Check the words with the sender and ask for a new code."


def untrusted(error_id: str, role: str) -> Untrusted | None:
    """This side's error for a handshake failure with ``error_id``, found here or told by
    the other side (through the server or the channel); None for any other id."""
    if error_id == ErrorId.WRONG_CODE:
        return WrongCode(role)
    if error_id == ErrorId.BAD_HANDSHAKE:
        return BadHandshake()
    if error_id == ErrorId.TAMPERED:
        return Untrusted()
    return None
