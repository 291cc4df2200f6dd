"""The ICE servers each ``create`` and ``join`` acknowledgement hands out
(docs/PROTOCOL.md 2.1): the operator's static list, their STUN URLs, and their TURN URLs
with credentials issued for this one acknowledgement.

Issued credentials are those of the TURN REST API, which coturn checks with
``use-auth-secret``: ``username`` is ``<expiry>:<tag>``, ``credential`` the base64
HMAC-SHA1 of the username under a secret the server shares with the relay. The relay
needs nothing but the secret to check them, and they stop working by themselves; the
secret is never handed out, so a visitor cannot make credentials of their own.

A plain object with an injectable clock and randomness; it knows nothing of socket.io.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

IceServer = dict[str, Any]
#: Random bytes in a username's tag: enough that no two acknowledgements share one.
TAG_BYTES = 12


def turn_credential(secret: str, username: str) -> str:
    """The password coturn's ``use-auth-secret`` expects for ``username``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class TurnRest:
    """TURN URLs whose relay checks credentials against ``secret``."""

    urls: tuple[str, ...]
    secret: str = field(repr=False)
    #: Seconds a transfer may go on once its peers have met (a relayed allocation lives
    #: as long as its credentials are valid, and is refreshed with them).
    allowance: float


class IceServers:
    """What each acknowledgement's ``ice_servers`` holds."""

    def __init__(
        self,
        static: Sequence[IceServer] = (),
        stun: Sequence[str] = (),
        turn: TurnRest | None = None,
        *,
        code_ttl: float,
        clock: Callable[[], float] = time.time,
        tag: Callable[[], str] = lambda: secrets.token_urlsafe(TAG_BYTES),
    ) -> None:
        self._fixed = [dict(server) for server in static]
        if stun:
            self._fixed.append({"urls": list(stun)})
        self.turn = turn
        self.code_ttl = code_ttl
        self._clock = clock
        self._tag = tag

    def for_create(self) -> list[IceServer]:
        """A sender's: valid while its code waits, and the allowance after that."""
        return self._with_turn(self.code_ttl)

    def for_join(self) -> list[IceServer]:
        """A receiver's: the sender is waiting, so the allowance from now."""
        return self._with_turn(0)

    def _with_turn(self, wait: float) -> list[IceServer]:
        if self.turn is None:
            return list(self._fixed)
        expiry = int(self._clock() + wait + self.turn.allowance)
        username = f"{expiry}:{self._tag()}"
        credential = turn_credential(self.turn.secret, username)
        return [*self._fixed, {"urls": list(self.turn.urls), "username": username, "credential": credential}]
