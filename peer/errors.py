"""How a peer run ends: exit codes, and the errors that carry them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit status of ``sendit`` (README.md, "Exit codes")."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CODE = 3
    CONNECTION = 4
    VERIFICATION = 5
    CANCELLED = 6


class PeerError(Exception):
    """A run that cannot finish; ``str(error)`` is one line for the user.

    ``told`` is what the other side hears of it, when this side tells it: the user's line
    may name this machine's paths, which are none of the peer's business."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str, told: str | None = None) -> None:
        super().__init__(message)
        self.told = message if told is None else told


class UsageError(PeerError):
    """The command line or its files cannot work."""

    exit_code = ExitCode.USAGE


class CodeRefused(PeerError):
    """The server does not know the code, it expired, or it is already used."""

    exit_code = ExitCode.CODE


class ConnectionFailed(PeerError):
    """The server or the peer could not be reached, or went away."""

    exit_code = ExitCode.CONNECTION


class VerificationFailed(PeerError):
    """A file arrived damaged: its digest or length is wrong."""

    exit_code = ExitCode.VERIFICATION


class Cancelled(PeerError):
    """Someone cancelled or declined the transfer."""

    exit_code = ExitCode.CANCELLED


class ProtocolViolation(PeerError):
    """The other side broke docs/PROTOCOL.md; it has been told, where it could be."""
