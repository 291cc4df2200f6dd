"""signal_server.signalling.registry: slots, one-shot pairing, expiry and departures, on a fake clock."""

from __future__ import annotations

from collections import Counter

import pytest

from helpers.clock import FakeClock
from sendit_protocol.codes import SLOT_MAX, SLOT_MIN
from signal_server.signalling.quotas import Quota
from signal_server.signalling.registry import (
    AlreadyPaired,
    CodeNotFound,
    CodeUsed,
    NoFreeSlot,
    NotPaired,
    PeerNotConnected,
    RegistryError,
    SlotRegistry,
    TooManyOpenCodes,
)

TTL = 600.0
OPEN_CODES = 2
HOME, OTHER = "203.0.113.5", "198.51.100.5"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock: FakeClock) -> SlotRegistry:
    return SlotRegistry(TTL, clock=clock)


def test_registry_create_issues_a_waiting_slot(registry: SlotRegistry, clock: FakeClock) -> None:
    pairing = registry.create("alice")
    assert type(pairing.slot) is int and SLOT_MIN <= pairing.slot <= SLOT_MAX
    assert pairing.sender == "alice"
    assert pairing.receiver is None
    assert not pairing.used
    assert pairing.expires_at == clock.now + TTL
    assert registry.lookup(pairing.slot) is pairing
    assert registry.pairing_of("alice") is pairing
    assert len(registry) == 1
    assert registry.next_deadline() == clock.now + TTL


def test_registry_create_never_reuses_a_live_slot(clock: FakeClock) -> None:
    drawn = iter([0, 0, 0, 2])
    registry = SlotRegistry(TTL, clock=clock, random=lambda n: next(drawn), slots=range(1, 4))
    assert registry.create("alice").slot == 1
    assert registry.create("bob").slot == 3


def test_registry_slots_are_drawn_uniformly_among_the_free_ones(clock: FakeClock) -> None:
    registry = SlotRegistry(TTL, clock=clock, slots=range(1, 11))
    for held in range(5):
        registry.create(f"holder {held}")
    free = set(range(1, 11)) - {registry.pairing_of(f"holder {n}").slot for n in range(5)}
    drawn: Counter[int] = Counter()
    for n in range(5000):
        drawn[registry.create(f"sender {n}").slot] += 1
        registry.leave(f"sender {n}")
    assert set(drawn) == free
    # 1,000 expected each; 5 standard deviations are 141.
    assert all(800 < count < 1200 for count in drawn.values()), drawn


def test_registry_a_nearly_full_space_still_gives_its_last_slots(clock: FakeClock) -> None:
    """Past the random draws, the free slots are listed: however unlucky the draws."""
    registry = SlotRegistry(TTL, clock=clock, random=lambda n: 0, slots=range(1, 101))
    slots = [registry.create(f"sender {n}").slot for n in range(100)]
    assert sorted(slots) == list(range(1, 101))


def test_registry_no_free_slot(clock: FakeClock) -> None:
    registry = SlotRegistry(TTL, clock=clock, open_codes=Quota(10, "open codes"), slots=range(1, 4))
    for n in range(3):
        registry.create(f"sender {n}", HOME)
    with pytest.raises(NoFreeSlot):
        registry.create("one too many", HOME)
    assert registry.pairing_of("one too many") is None and len(registry) == 3
    assert registry.open_codes is not None and registry.open_codes.held(HOME) == 3
    # A joined slot is still taken; one forgotten is free again.
    registry.join(registry.pairing_of("sender 0").slot, "receiver")
    with pytest.raises(NoFreeSlot):
        registry.create("one too many", OTHER)
    freed = registry.pairing_of("sender 1").slot
    registry.leave("sender 1")
    assert registry.create("one too many", OTHER).slot == freed


def test_registry_the_whole_space_is_1_to_9999(registry: SlotRegistry) -> None:
    assert registry.slots == range(1, 10_000)
    slots = {registry.create(f"sender {n}").slot for n in range(9999)}
    assert slots == set(range(1, 10_000))
    with pytest.raises(NoFreeSlot):
        registry.create("one too many")


def test_registry_join_pairs_receiver_with_sender(registry: SlotRegistry) -> None:
    pairing = registry.create("alice")
    joined = registry.join(pairing.slot, "bob")
    assert joined is pairing
    assert pairing.receiver == "bob" and pairing.used
    assert registry.pairing_of("bob") is pairing
    assert pairing.peer_of("alice") == "bob"
    assert pairing.peer_of("bob") == "alice"
    assert pairing.role_of("alice") == "sender"
    assert pairing.role_of("bob") == "receiver"


def test_registry_join_is_one_shot(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    registry.join(slot, "bob")
    with pytest.raises(CodeUsed):
        registry.join(slot, "carol")
    assert registry.pairing_of("carol") is None
    assert registry.lookup(slot).receiver == "bob"


def test_registry_join_stays_used_after_receiver_left(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    registry.join(slot, "bob")
    registry.leave("bob")
    with pytest.raises(CodeUsed):
        registry.join(slot, "carol")
    with pytest.raises(CodeUsed):
        registry.join(slot, "bob")
    assert registry.pairing_of("carol") is None
    assert registry.lookup(slot).receiver is None


def test_registry_join_stays_used_after_sender_left(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    registry.join(slot, "bob")
    registry.leave("alice")
    with pytest.raises(CodeUsed):
        registry.join(slot, "carol")


def test_registry_join_unknown_slot(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    with pytest.raises(CodeNotFound):
        registry.join(slot % SLOT_MAX + 1, "bob")
    assert registry.pairing_of("bob") is None


def test_registry_join_expired_slot(registry: SlotRegistry, clock: FakeClock) -> None:
    slot = registry.create("alice").slot
    clock.advance(TTL - 0.001)
    assert registry.expire() == []
    clock.advance(0.001)
    with pytest.raises(CodeNotFound):
        registry.join(slot, "bob")
    assert registry.pairing_of("bob") is None


def test_registry_failed_join_of_due_slot_still_reports_it_expired(registry: SlotRegistry, clock: FakeClock) -> None:
    """A join arriving between the deadline and expire() must not swallow the expiry:
    the sender is told through expire(), whose result the server turns into `expired`."""
    pairing = registry.create("alice")
    clock.advance(TTL + 1)
    with pytest.raises(CodeNotFound):
        registry.join(pairing.slot, "bob")
    assert registry.expire() == [pairing]
    assert registry.pairing_of("alice") is None
    assert len(registry) == 0


def test_registry_expire_returns_only_due_slots(registry: SlotRegistry, clock: FakeClock) -> None:
    first = registry.create("s1")
    clock.advance(100)
    second = registry.create("s2")
    clock.advance(100)
    joined = registry.create("s3")
    registry.join(joined.slot, "r3")
    clock.advance(100)
    third = registry.create("s4")

    assert registry.expire() == []
    assert registry.next_deadline() == first.expires_at
    clock.now = first.expires_at
    assert registry.expire() == [first]
    assert registry.next_deadline() == second.expires_at
    assert registry.lookup(first.slot) is None
    assert registry.pairing_of("s1") is None

    clock.now = third.expires_at + 1
    assert registry.expire() == [second, third]
    assert registry.next_deadline() is None
    assert registry.expire() == []
    # A joined slot does not expire.
    assert registry.lookup(joined.slot) is joined
    assert registry.pairing_of("s3") is joined and registry.pairing_of("r3") is joined
    assert len(registry) == 1


def test_registry_next_deadline_skips_settled_slots(registry: SlotRegistry, clock: FakeClock) -> None:
    assert registry.next_deadline() is None
    first = registry.create("s1")
    clock.advance(10)
    second = registry.create("s2")
    clock.advance(10)
    third = registry.create("s3")
    registry.join(first.slot, "r1")
    assert registry.next_deadline() == second.expires_at
    registry.leave("s2")
    assert registry.next_deadline() == third.expires_at
    registry.end("s3")
    assert registry.next_deadline() is None


def test_registry_leave_before_join_kills_slot(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    departure = registry.leave("alice")
    assert departure is not None and departure.peer is None
    assert departure.role == "sender"
    assert len(registry) == 0
    assert registry.pairing_of("alice") is None
    with pytest.raises(CodeNotFound):
        registry.join(slot, "bob")
    assert registry.expire() == []
    assert registry.next_deadline() is None


def test_registry_leave_after_join_names_peer_and_role(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    registry.join(slot, "bob")

    departure = registry.leave("alice")
    assert departure is not None
    assert departure.peer == "bob"
    assert departure.role == "sender"
    assert registry.pairing_of("alice") is None
    assert registry.pairing_of("bob") is not None
    assert registry.pairing_of("bob").peer_of("bob") is None
    assert len(registry) == 1

    departure = registry.leave("bob")
    assert departure is not None
    assert departure.peer is None
    assert departure.role == "receiver"
    assert len(registry) == 0
    assert registry.lookup(slot) is None


def test_registry_receiver_leaving_first(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    registry.join(slot, "bob")
    departure = registry.leave("bob")
    assert departure is not None and departure.peer == "alice" and departure.role == "receiver"
    assert len(registry) == 1
    departure = registry.leave("alice")
    assert departure is not None and departure.peer is None and departure.role == "sender"
    assert len(registry) == 0


def test_registry_leave_unknown_member(registry: SlotRegistry) -> None:
    assert registry.leave("nobody") is None
    registry.create("alice")
    assert registry.leave("nobody") is None
    assert len(registry) == 1


def test_registry_end_forgets_pair_for_both(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    pairing = registry.join(slot, "bob")
    assert registry.end("bob") is pairing
    assert len(registry) == 0
    assert registry.pairing_of("alice") is None and registry.pairing_of("bob") is None
    assert registry.leave("alice") is None and registry.leave("bob") is None
    assert registry.end("alice") is None
    with pytest.raises(CodeNotFound):
        registry.join(slot, "carol")
    # Both may start again.
    registry.create("alice")
    registry.create("bob")
    assert len(registry) == 2


def test_registry_end_before_join(registry: SlotRegistry) -> None:
    pairing = registry.create("alice")
    assert registry.end("alice") is pairing
    assert len(registry) == 0
    assert registry.next_deadline() is None


def test_registry_member_holds_one_slot(registry: SlotRegistry) -> None:
    slot = registry.create("alice").slot
    with pytest.raises(AlreadyPaired):
        registry.create("alice")
    with pytest.raises(AlreadyPaired):
        registry.join(slot, "alice")  # not even her own slot

    other = registry.create("carol").slot
    registry.join(slot, "bob")
    with pytest.raises(AlreadyPaired):
        registry.create("bob")
    with pytest.raises(AlreadyPaired):
        registry.join(other, "bob")
    # Refusals change nothing.
    assert len(registry) == 2
    assert not registry.lookup(other).used
    assert registry.pairing_of("bob").slot == slot


def test_registry_paired_and_where_signals_go(registry: SlotRegistry) -> None:
    with pytest.raises(NotPaired):
        registry.paired("alice")
    pairing = registry.create("alice")
    assert registry.paired("alice") is pairing
    with pytest.raises(NotPaired):  # nobody joined yet
        pairing.relay_to("alice")
    registry.join(pairing.slot, "bob")
    assert pairing.relay_to("alice") == "bob" and pairing.relay_to("bob") == "alice"
    registry.leave("bob")
    with pytest.raises(PeerNotConnected):
        pairing.relay_to("alice")


def test_registry_errors_are_registry_errors() -> None:
    for error in (
        CodeNotFound(),
        CodeUsed(),
        AlreadyPaired(),
        TooManyOpenCodes(),
        NoFreeSlot(),
        NotPaired(),
        PeerNotConnected(),
    ):
        assert isinstance(error, RegistryError)


# --- open codes per address -------------------------------------------------------------


@pytest.fixture
def capped(clock: FakeClock) -> SlotRegistry:
    return SlotRegistry(TTL, clock=clock, open_codes=Quota(OPEN_CODES, "open codes"))


def fill(registry: SlotRegistry, address: str = HOME) -> list[str]:
    """Create slots from ``address`` up to the cap; returns their senders."""
    senders = [f"{address} sender {n}" for n in range(OPEN_CODES)]
    for sender in senders:
        registry.create(sender, address)
    return senders


def test_registry_caps_the_codes_an_address_has_waiting(capped: SlotRegistry) -> None:
    fill(capped)
    with pytest.raises(TooManyOpenCodes):
        capped.create("one too many", HOME)
    assert capped.pairing_of("one too many") is None and len(capped) == OPEN_CODES
    assert capped.create("neighbour", OTHER).sender == "neighbour"


def test_registry_a_refused_create_takes_no_slot(capped: SlotRegistry) -> None:
    holder = fill(capped)[0]
    with pytest.raises(AlreadyPaired):
        capped.create(holder, OTHER)
    assert capped.open_codes is not None and capped.open_codes.held(OTHER) == 0


def test_registry_a_joined_slot_no_longer_counts(capped: SlotRegistry) -> None:
    senders = fill(capped)
    capped.join(capped.pairing_of(senders[0]).slot, "receiver")
    assert capped.create("next", HOME).owner == HOME
    # It stops counting once, however the pair then ends.
    capped.leave(senders[0])
    capped.leave("receiver")
    with pytest.raises(TooManyOpenCodes):
        capped.create("after", HOME)


@pytest.mark.parametrize("how", ["expired", "sender left", "ended", "sender left after failed join"])
def test_registry_a_slot_that_stops_waiting_no_longer_counts(capped: SlotRegistry, clock: FakeClock, how: str) -> None:
    senders = fill(capped)
    if how == "expired":
        clock.advance(TTL)
        assert len(capped.expire()) == OPEN_CODES
    elif how == "sender left":
        capped.leave(senders[0])
    elif how == "ended":
        capped.end(senders[0])
    else:
        clock.advance(TTL)  # due, not yet expired: the join fails, the slot still counts
        with pytest.raises(CodeNotFound):
            capped.join(capped.pairing_of(senders[0]).slot, "late")
        capped.leave(senders[0])
    assert capped.create("next", HOME).sender == "next"
    assert capped.open_codes is not None
    assert capped.open_codes.held(HOME) == (1 if how == "expired" else OPEN_CODES)


# --- what GET /metrics counts ------------------------------------------------------------


@pytest.mark.parametrize("open_codes", [None, Quota(OPEN_CODES, "open codes")], ids=["uncapped", "capped"])
def test_registry_counts_codes_waiting_and_pairs_joined(clock: FakeClock, open_codes: Quota | None) -> None:
    registry = SlotRegistry(TTL, clock=clock, open_codes=open_codes)

    def counts() -> tuple[int, int]:
        return registry.waiting, registry.joined

    assert counts() == (0, 0)
    for name in ("a", "b", "c"):
        registry.create(name, f"address {name}")
    assert counts() == (3, 0)
    registry.join(registry.paired("a").slot, "ra")
    registry.join(registry.paired("b").slot, "rb")
    assert counts() == (1, 2)
    registry.leave("ra")  # a pair one member left is still remembered (its code stays used)
    assert counts() == (1, 2)
    registry.leave("a")
    registry.end("rb")
    assert counts() == (1, 0)
    clock.advance(TTL)
    with pytest.raises(CodeNotFound):
        registry.join(registry.paired("c").slot, "late")  # due: it waits until expire() runs
    assert counts() == (1, 0)
    registry.expire()
    assert counts() == (0, 0)
    registry.create("d")
    registry.leave("d")
    assert counts() == (0, 0)
