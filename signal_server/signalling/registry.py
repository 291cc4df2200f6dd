"""The slot registry: which two members share a slot, and for how long a slot waits.

A plain object with an injectable clock and randomness; it knows nothing of socket.io,
and nothing of a code but its slot (the words never reach the server). Members are
opaque strings (the server uses socket.io session ids).
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from sendit_protocol.codes import SLOT_MAX, SLOT_MIN

from .quotas import Quota

#: Random draws before a slot is picked from the list of free ones: with most slots free
#: the first draw almost always finds one, and the list keeps a nearly full space cheap.
DRAWS = 32


class RegistryError(Exception):
    """A request the registry refuses (the adapter words each kind for the client)."""


class CodeNotFound(RegistryError):
    """No slot of that number waits for a receiver (never created, expired or withdrawn)."""


class CodeUsed(RegistryError):
    """The slot's one receiver has joined already."""


class AlreadyPaired(RegistryError):
    """The member holds a slot already."""


class TooManyOpenCodes(RegistryError):
    """The address holds as many waiting slots as it may."""


class NoFreeSlot(RegistryError):
    """Every slot is taken."""


class NotPaired(RegistryError):
    """The member holds no slot, or (where a pair is needed) none that a receiver joined."""


class PeerNotConnected(RegistryError):
    """The member's peer has left."""


@dataclass
class Pairing:
    """One slot: its sender, its receiver once joined, and when it stops waiting."""

    slot: int
    sender: str | None
    expires_at: float
    receiver: str | None = None
    #: Set once a receiver has joined; a slot is never joined twice.
    used: bool = False
    #: The address the slot counts against while it waits; None once it no longer waits.
    owner: str | None = None
    #: The receiver's address (as the join limit counts it) until the join policy has
    #: settled whether this join was a guess (see JoinPolicy.ended).
    receiver_key: str | None = None
    #: The receiver has sent its sealed answer: it got through the handshake's first half.
    answered: bool = False
    #: A member's ``done`` is ending the pair: its peer's, arriving while the news is
    #: being sent, is refused like one after the end, so a pair is counted once.
    done: bool = False

    def peer_of(self, member: str) -> str | None:
        return self.receiver if member == self.sender else self.sender

    def relay_to(self, member: str) -> str:
        """Where ``member``'s signals go: its joined peer, still connected."""
        if not self.used:  # a sender whose slot nobody has joined yet
            raise NotPaired()
        peer = self.peer_of(member)
        if peer is None:
            raise PeerNotConnected()
        return peer

    def role_of(self, member: str) -> str:
        return "sender" if member == self.sender else "receiver"


@dataclass(frozen=True)
class Departure:
    """What a member's leaving means: whom to tell, and in what role the leaver left."""

    peer: str | None
    #: The leaver's role, taken before the pairing forgot them.
    role: str


class SlotRegistry:
    """Gives out slots, pairs one receiver with each, and forgets pairs when both leave.

    A slot is taken from ``create`` until its pair is forgotten, so a joined slot stays
    used (``code-used``) while either member is left. With ``open_codes``, the slots
    waiting for a receiver are capped per address: each counts against its creator's
    address from ``create`` until it is joined, expires or is withdrawn."""

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.time,
        random: Callable[[int], int] = secrets.randbelow,
        open_codes: Quota | None = None,
        slots: range = range(SLOT_MIN, SLOT_MAX + 1),
    ) -> None:
        self.ttl = ttl
        self.open_codes = open_codes
        self.slots = slots
        self._clock = clock
        #: ``random(n)``: an integer in [0, n), uniform.
        self._random = random
        self._by_slot: dict[int, Pairing] = {}
        self._by_member: dict[str, Pairing] = {}
        # Every slot gets the same lifetime, so creation order is deadline order.
        self._deadlines: deque[Pairing] = deque()
        self._waiting = 0

    def __len__(self) -> int:
        return len(self._by_slot)

    @property
    def waiting(self) -> int:
        """Slots waiting for a receiver (open codes)."""
        return self._waiting

    @property
    def joined(self) -> int:
        """Pairs a receiver has joined that are not forgotten yet."""
        return len(self._by_slot) - self._waiting

    def now(self) -> float:
        """The registry's clock, on which ``expires_at`` and deadlines are given."""
        return self._clock()

    def create(self, sender: str, address: str = "") -> Pairing:
        """A new slot held by ``sender`` (connected from ``address``, as the cap on open
        codes counts it), waiting ``ttl`` seconds for a receiver."""
        if sender in self._by_member:
            raise AlreadyPaired()
        if len(self._by_slot) >= len(self.slots):
            raise NoFreeSlot()
        if self.open_codes is not None and not self.open_codes.acquire(address):
            raise TooManyOpenCodes()
        slot = self._free_slot()
        pairing = Pairing(slot=slot, sender=sender, expires_at=self._clock() + self.ttl, owner=address)
        self._by_slot[slot] = pairing
        self._by_member[sender] = pairing
        self._deadlines.append(pairing)
        self._waiting += 1
        return pairing

    def _free_slot(self) -> int:
        """A slot drawn uniformly among the free ones (there is one). Each way of drawing
        is uniform among them, so their mixture is too."""
        for _ in range(DRAWS):
            slot = self.slots[self._random(len(self.slots))]
            if slot not in self._by_slot:
                return slot
        free = [slot for slot in self.slots if slot not in self._by_slot]
        return free[self._random(len(free))]

    def lookup(self, slot: int) -> Pairing | None:
        return self._by_slot.get(slot)

    def pairing_of(self, member: str) -> Pairing | None:
        return self._by_member.get(member)

    def paired(self, member: str) -> Pairing:
        """``member``'s pairing, or :class:`NotPaired`."""
        pairing = self._by_member.get(member)
        if pairing is None:
            raise NotPaired()
        return pairing

    def join(self, slot: int, receiver: str) -> Pairing:
        """Pair ``receiver`` with the sender of ``slot``; a slot admits one receiver ever."""
        if receiver in self._by_member:
            raise AlreadyPaired()
        pairing = self._by_slot.get(slot)
        if pairing is None:
            raise CodeNotFound()
        if pairing.used:
            raise CodeUsed()
        if self._clock() >= pairing.expires_at:
            # Left for expire(), so the sender is still told the slot expired.
            raise CodeNotFound()
        pairing.receiver = receiver
        pairing.used = True
        self._stop_waiting(pairing)
        self._by_member[receiver] = pairing
        return pairing

    def _stop_waiting(self, pairing: Pairing) -> None:
        """The slot no longer waits for a receiver: it stops counting against its owner."""
        if pairing.owner is None:
            return
        self._waiting -= 1
        if self.open_codes is not None:
            self.open_codes.release(pairing.owner)
        pairing.owner = None

    def _drop_settled(self) -> None:
        """Drop slots from the deadline queue that no longer wait (joined or forgotten)."""
        queue = self._deadlines
        while queue and (queue[0].used or self._by_slot.get(queue[0].slot) is not queue[0]):
            queue.popleft()

    def next_deadline(self) -> float | None:
        """When the next waiting slot expires, if any slot is waiting."""
        self._drop_settled()
        return self._deadlines[0].expires_at if self._deadlines else None

    def expire(self) -> list[Pairing]:
        """Remove every slot whose wait is over without a receiver; return them."""
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
            del self._by_slot[pairing.slot]
            self._stop_waiting(pairing)
        elif not pairing.used:
            # A sender who leaves before anyone joined takes the slot with it.
            self._forget(pairing)
        return Departure(peer=peer, role=role)

    def end(self, member: str) -> Pairing | None:
        """End ``member``'s pair for both members (cancelled or done)."""
        pairing = self._by_member.get(member)
        if pairing is not None:
            self._forget(pairing)
        return pairing

    def _forget(self, pairing: Pairing) -> None:
        self._by_slot.pop(pairing.slot, None)
        self._stop_waiting(pairing)
        for member in (pairing.sender, pairing.receiver):
            if member is not None and self._by_member.get(member) is pairing:
                del self._by_member[member]
