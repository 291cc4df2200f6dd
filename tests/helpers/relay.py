"""The test's hand on the server's relay (``running_server(relay_hook=...)``): what a
hostile server could do to the signals it passes between two peers.

Nothing here knows a key: it changes, replaces and replays sealed blobs the way the
server itself could, so only the peers' seal checks can find it out.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: What a change does to a signal's ``data`` (base64 in, base64 out).
Change = Callable[[str], str]


def flip_byte(data: str) -> str:
    """``data`` with one bit of the byte in the middle of what it encodes flipped: past
    the 12-byte IV, in the ciphertext of a sealed signal."""
    raw = bytearray(base64.b64decode(data))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def resealed(kind: str, plaintext: dict[str, Any]) -> Change:
    """A change that puts in place of a signal ``plaintext`` sealed as the protocol seals
    a ``kind`` (AES-256-GCM, a fresh IV, the type as associated data), under a key of the
    server's own: well formed in every way but the key."""

    def change(_: str) -> str:
        iv = os.urandom(12)
        sealed = AESGCM(os.urandom(32)).encrypt(iv, json.dumps(plaintext).encode(), kind.encode("ascii"))
        return base64.b64encode(iv + sealed).decode()

    return change


def replaced_by(data: str) -> Change:
    """A change that puts ``data`` (say, a signal of an earlier run) in place of a signal's."""
    return lambda _: data


@dataclass
class Relay:
    """A relay hook that records every signal it passes on, as its peer gets it, and, if
    given a ``change``, applies it to the first signal of type ``kind`` from ``role``."""

    role: str = ""
    kind: str = ""
    change: Change | None = None
    #: (the sending member's role, the signal as relayed), in the order relayed.
    relayed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: bool = False

    def __call__(self, role: str, signal: dict[str, Any]) -> dict[str, Any]:
        if self.change is not None and not self.changed and (role, signal["type"]) == (self.role, self.kind):
            signal = {**signal, "data": self.change(signal["data"])}
            self.changed = True
        self.relayed.append((role, signal))
        return signal

    def kinds(self, role: str) -> list[str]:
        """The types of the signals ``role`` sent, in order."""
        return [signal["type"] for sender, signal in self.relayed if sender == role]

    def data(self, role: str, kind: str) -> str:
        """The data of the first ``kind`` signal from ``role``."""
        return next(signal["data"] for sender, signal in self.relayed if (sender, signal["type"]) == (role, kind))
