"""The code registry: which two members share a code, and for how long a code waits.

A plain object with an injectable clock; it knows nothing of socket.io. Members are
opaque strings (the server uses socket.io session ids).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from .codes import generate_code
from .quotas import Quota


class RegistryError(Exception):
    """A request the registry refuses; ``str(error)`` is the message for the client."""


class CodeNotFound(RegistryError):
    def __init__(self) -> None:
        super().__init__("code not found or expired")


class CodeUsed(RegistryError):
    def __init__(self) -> None:
        super().__init__("code already used")


class AlreadyPaired(RegistryError):
    def __init__(self) -> None:
        super().__init__("already holding a code; leave it first")


class TooManyOpenCodes(RegistryError):
    def __init__(self) -> None:
        super().__init__("too many open codes")


@dataclass
class Pairing:
    """One code: its sender, its receiver once joined, and when it stops waiting."""

    code: str
    sender: str | None
    expires_at: float
    receiver: str | None = None
    #: Set once a receiver has joined; a code is never joined twice.
    used: bool = False
    #: The address the code counts against while it waits; None once it no longer waits.
    owner: str | None = None

    def peer_of(self, member: str) -> str | None:
        return self.receiver if member == self.sender else self.sender

    def role_of(self, member: str) -> str:
        return "sender" if member == self.sender else "receiver"


@dataclass(frozen=True)
class Departure:
    """What a member's leaving means: whom to tell, and in what role the leaver left."""

    peer: str | None
    #: The leaver's role, taken before the pairing forgot them.
    role: str


class CodeRegistry:
    """Creates codes, pairs one receiver with each, and forgets pairs when both leave.

    With ``open_codes``, the codes waiting for a receiver are capped per address: each
    counts against its creator's address from ``create`` until it is joined, expires or
    is withdrawn."""

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.time,
        generate: Callable[[], str] = generate_code,
        open_codes: Quota | None = None,
    ) -> None:
        self.ttl = ttl
        self.open_codes = open_codes
        self._clock = clock
        self._generate = generate
        self._by_code: dict[str, Pairing] = {}
        self._by_member: dict[str, Pairing] = {}
        # Every code gets the same lifetime, so creation order is deadline order.
        self._deadlines: deque[Pairing] = deque()

    def __len__(self) -> int:
        return len(self._by_code)

    def now(self) -> float:
        """The registry's clock, on which ``expires_at`` and deadlines are given."""
        return self._clock()

    def create(self, sender: str, address: str = "") -> Pairing:
        """A new code held by ``sender`` (connected from ``address``, as the cap on open
        codes counts it), waiting ``ttl`` seconds for a receiver."""
        if sender in self._by_member:
            raise AlreadyPaired()
        if self.open_codes is not None and not self.open_codes.acquire(address):
            raise TooManyOpenCodes()
        code = self._generate()
        while code in self._by_code:
            code = self._generate()
        pairing = Pairing(code=code, sender=sender, expires_at=self._clock() + self.ttl, owner=address)
        self._by_code[code] = pairing
        self._by_member[sender] = pairing
        self._deadlines.append(pairing)
        return pairing

    def lookup(self, code: str) -> Pairing | None:
        return self._by_code.get(code)

    def pairing_of(self, member: str) -> Pairing | None:
        return self._by_member.get(member)

    def join(self, code: str, receiver: str) -> Pairing:
        """Pair ``receiver`` with the sender of ``code``; a code admits one receiver ever."""
        if receiver in self._by_member:
            raise AlreadyPaired()
        pairing = self._by_code.get(code)
        if pairing is None:
            raise CodeNotFound()
        if pairing.used:
            raise CodeUsed()
        if self._clock() >= pairing.expires_at:
            # Left for expire(), so the sender is still told the code expired.
            raise CodeNotFound()
        pairing.receiver = receiver
        pairing.used = True
        self._stop_waiting(pairing)
        self._by_member[receiver] = pairing
        return pairing

    def _stop_waiting(self, pairing: Pairing) -> None:
        """The code no longer waits for a receiver: it stops counting against its owner."""
        if pairing.owner is not None and self.open_codes is not None:
            self.open_codes.release(pairing.owner)
        pairing.owner = None

    def _drop_settled(self) -> None:
        """Drop codes from the deadline queue that no longer wait (joined or forgotten)."""
        queue = self._deadlines
        while queue and (queue[0].used or self._by_code.get(queue[0].code) is not queue[0]):
            queue.popleft()

    def next_deadline(self) -> float | None:
        """When the next waiting code expires, if any code is waiting."""
        self._drop_settled()
        return self._deadlines[0].expires_at if self._deadlines else None

    def expire(self) -> list[Pairing]:
        """Remove every code whose wait is over without a receiver; return them."""
        now = self._clock()
        expired = []
        self._drop_settled()
        while self._deadlines and now >= self._deadlines[0].expires_at:
            pairing = self._deadlines.popleft()
            self._forget(pairing)
            expired.append(pairing)
            self._drop_settled()
        return expired

    def leave(self, member: str) -> Departure | None:
        """``member`` is gone; the pair is forgotten once neither member is left."""
        pairing = self._by_member.pop(member, None)
        if pairing is None:
            return None
        peer = pairing.peer_of(member)
        role = pairing.role_of(member)
        if member == pairing.sender:
            pairing.sender = None
        else:
            pairing.receiver = None
        if pairing.sender is None and pairing.receiver is None:
            del self._by_code[pairing.code]
            self._stop_waiting(pairing)
        elif not pairing.used:
            # A sender who leaves before anyone joined takes the code with it.
            self._forget(pairing)
        return Departure(peer=peer, role=role)

    def end(self, member: str) -> Pairing | None:
        """End ``member``'s pair for both members (cancelled or done)."""
        pairing = self._by_member.get(member)
        if pairing is not None:
            self._forget(pairing)
        return pairing

    def _forget(self, pairing: Pairing) -> None:
        self._by_code.pop(pairing.code, None)
        self._stop_waiting(pairing)
        for member in (pairing.sender, pairing.receiver):
            if member is not None and self._by_member.get(member) is pairing:
                del self._by_member[member]
