"""signal_server.signalling.registry: codes, one-shot pairing, expiry and departures, on a fake clock."""

from __future__ import annotations

import pytest

from helpers.clock import FakeClock
from signal_server.signalling.codes import ALPHABET, CODE_LENGTH
from signal_server.signalling.quotas import Quota
from signal_server.signalling.registry import (
    AlreadyPaired,
    CodeNotFound,
    CodeRegistry,
    CodeUsed,
    RegistryError,
    TooManyOpenCodes,
)

TTL = 600.0
OPEN_CODES = 2
HOME, OTHER = "203.0.113.5", "198.51.100.5"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock: FakeClock) -> CodeRegistry:
    return CodeRegistry(TTL, clock=clock)


def test_registry_create_issues_a_waiting_code(registry: CodeRegistry, clock: FakeClock) -> None:
    pairing = registry.create("alice")
    assert len(pairing.code) == CODE_LENGTH and set(pairing.code) <= set(ALPHABET)
    assert pairing.sender == "alice"
    assert pairing.receiver is None
    assert not pairing.used
    assert pairing.expires_at == clock.now + TTL
    assert registry.lookup(pairing.code) is pairing
    assert registry.pairing_of("alice") is pairing
    assert len(registry) == 1
    assert registry.next_deadline() == clock.now + TTL


def test_registry_create_never_reuses_a_live_code(clock: FakeClock) -> None:
    issued = iter(["AAAAAAAAAA", "AAAAAAAAAA", "BBBBBBBBBB"])
    registry = CodeRegistry(TTL, clock=clock, generate=lambda: next(issued))
    assert registry.create("alice").code == "AAAAAAAAAA"
    assert registry.create("bob").code == "BBBBBBBBBB"


def test_registry_join_pairs_receiver_with_sender(registry: CodeRegistry) -> None:
    pairing = registry.create("alice")
    joined = registry.join(pairing.code, "bob")
    assert joined is pairing
    assert pairing.receiver == "bob" and pairing.used
    assert registry.pairing_of("bob") is pairing
    assert pairing.peer_of("alice") == "bob"
    assert pairing.peer_of("bob") == "alice"
    assert pairing.role_of("alice") == "sender"
    assert pairing.role_of("bob") == "receiver"


def test_registry_join_is_one_shot(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    registry.join(code, "bob")
    with pytest.raises(CodeUsed) as error:
        registry.join(code, "carol")
    assert str(error.value) == "code already used"
    assert registry.pairing_of("carol") is None
    assert registry.lookup(code).receiver == "bob"


def test_registry_join_stays_used_after_receiver_left(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    registry.join(code, "bob")
    registry.leave("bob")
    with pytest.raises(CodeUsed):
        registry.join(code, "carol")
    with pytest.raises(CodeUsed):
        registry.join(code, "bob")
    assert registry.pairing_of("carol") is None
    assert registry.lookup(code).receiver is None


def test_registry_join_stays_used_after_sender_left(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    registry.join(code, "bob")
    registry.leave("alice")
    with pytest.raises(CodeUsed):
        registry.join(code, "carol")


def test_registry_join_unknown_code(registry: CodeRegistry) -> None:
    registry.create("alice")
    with pytest.raises(CodeNotFound) as error:
        registry.join("0000000000", "bob")
    assert str(error.value) == "code not found or expired"
    assert registry.pairing_of("bob") is None


def test_registry_join_expired_code(registry: CodeRegistry, clock: FakeClock) -> None:
    code = registry.create("alice").code
    clock.advance(TTL - 0.001)
    assert registry.expire() == []
    clock.advance(0.001)
    with pytest.raises(CodeNotFound):
        registry.join(code, "bob")
    assert registry.pairing_of("bob") is None


def test_registry_failed_join_of_due_code_still_reports_it_expired(registry: CodeRegistry, clock: FakeClock) -> None:
    """A join arriving between the deadline and expire() must not swallow the expiry:
    the sender is told through expire(), whose result the server turns into `expired`."""
    pairing = registry.create("alice")
    clock.advance(TTL + 1)
    with pytest.raises(CodeNotFound):
        registry.join(pairing.code, "bob")
    assert registry.expire() == [pairing]
    assert registry.pairing_of("alice") is None
    assert len(registry) == 0


def test_registry_expire_returns_only_due_codes(registry: CodeRegistry, clock: FakeClock) -> None:
    first = registry.create("s1")
    clock.advance(100)
    second = registry.create("s2")
    clock.advance(100)
    joined = registry.create("s3")
    registry.join(joined.code, "r3")
    clock.advance(100)
    third = registry.create("s4")

    assert registry.expire() == []
    assert registry.next_deadline() == first.expires_at
    clock.now = first.expires_at
    assert registry.expire() == [first]
    assert registry.next_deadline() == second.expires_at
    assert registry.lookup(first.code) is None
    assert registry.pairing_of("s1") is None

    clock.now = third.expires_at + 1
    assert registry.expire() == [second, third]
    assert registry.next_deadline() is None
    assert registry.expire() == []
    # A joined code does not expire.
    assert registry.lookup(joined.code) is joined
    assert registry.pairing_of("s3") is joined and registry.pairing_of("r3") is joined
    assert len(registry) == 1


def test_registry_next_deadline_skips_settled_codes(registry: CodeRegistry, clock: FakeClock) -> None:
    assert registry.next_deadline() is None
    first = registry.create("s1")
    clock.advance(10)
    second = registry.create("s2")
    clock.advance(10)
    third = registry.create("s3")
    registry.join(first.code, "r1")
    assert registry.next_deadline() == second.expires_at
    registry.leave("s2")
    assert registry.next_deadline() == third.expires_at
    registry.end("s3")
    assert registry.next_deadline() is None


def test_registry_leave_before_join_kills_code(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    departure = registry.leave("alice")
    assert departure is not None and departure.peer is None
    assert departure.role == "sender"
    assert len(registry) == 0
    assert registry.pairing_of("alice") is None
    with pytest.raises(CodeNotFound):
        registry.join(code, "bob")
    assert registry.expire() == []
    assert registry.next_deadline() is None


def test_registry_leave_after_join_names_peer_and_role(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    registry.join(code, "bob")

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
    assert registry.lookup(code) is None


def test_registry_receiver_leaving_first(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    registry.join(code, "bob")
    departure = registry.leave("bob")
    assert departure is not None and departure.peer == "alice" and departure.role == "receiver"
    assert len(registry) == 1
    departure = registry.leave("alice")
    assert departure is not None and departure.peer is None and departure.role == "sender"
    assert len(registry) == 0


def test_registry_leave_unknown_member(registry: CodeRegistry) -> None:
    assert registry.leave("nobody") is None
    registry.create("alice")
    assert registry.leave("nobody") is None
    assert len(registry) == 1


def test_registry_end_forgets_pair_for_both(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    pairing = registry.join(code, "bob")
    assert registry.end("bob") is pairing
    assert len(registry) == 0
    assert registry.pairing_of("alice") is None and registry.pairing_of("bob") is None
    assert registry.leave("alice") is None and registry.leave("bob") is None
    assert registry.end("alice") is None
    with pytest.raises(CodeNotFound):
        registry.join(code, "carol")
    # Both may start again.
    registry.create("alice")
    registry.create("bob")
    assert len(registry) == 2


def test_registry_end_before_join(registry: CodeRegistry) -> None:
    pairing = registry.create("alice")
    assert registry.end("alice") is pairing
    assert len(registry) == 0
    assert registry.next_deadline() is None


def test_registry_member_holds_one_code(registry: CodeRegistry) -> None:
    code = registry.create("alice").code
    with pytest.raises(AlreadyPaired) as error:
        registry.create("alice")
    assert str(error.value) == "already holding a code; leave it first"
    with pytest.raises(AlreadyPaired):
        registry.join(code, "alice")  # not even her own code

    other = registry.create("carol").code
    registry.join(code, "bob")
    with pytest.raises(AlreadyPaired):
        registry.create("bob")
    with pytest.raises(AlreadyPaired):
        registry.join(other, "bob")
    # Refusals change nothing.
    assert len(registry) == 2
    assert not registry.lookup(other).used
    assert registry.pairing_of("bob").code == code


def test_registry_errors_are_registry_errors() -> None:
    for error in (CodeNotFound(), CodeUsed(), AlreadyPaired(), TooManyOpenCodes()):
        assert isinstance(error, RegistryError)


# --- open codes per address -------------------------------------------------------------


@pytest.fixture
def capped(clock: FakeClock) -> CodeRegistry:
    return CodeRegistry(TTL, clock=clock, open_codes=Quota(OPEN_CODES, "open codes"))


def fill(registry: CodeRegistry, address: str = HOME) -> list[str]:
    """Create codes from ``address`` up to the cap; returns their senders."""
    senders = [f"{address} sender {n}" for n in range(OPEN_CODES)]
    for sender in senders:
        registry.create(sender, address)
    return senders


def test_registry_caps_the_codes_an_address_has_waiting(capped: CodeRegistry) -> None:
    fill(capped)
    with pytest.raises(TooManyOpenCodes, match="^too many open codes$"):
        capped.create("one too many", HOME)
    assert capped.pairing_of("one too many") is None and len(capped) == OPEN_CODES
    assert capped.create("neighbour", OTHER).sender == "neighbour"


def test_registry_a_refused_create_takes_no_slot(capped: CodeRegistry) -> None:
    holder = fill(capped)[0]
    with pytest.raises(AlreadyPaired):
        capped.create(holder, OTHER)
    assert capped.open_codes is not None and capped.open_codes.held(OTHER) == 0


def test_registry_a_joined_code_no_longer_counts(capped: CodeRegistry) -> None:
    senders = fill(capped)
    capped.join(capped.pairing_of(senders[0]).code, "receiver")
    assert capped.create("next", HOME).owner == HOME
    # It stops counting once, however the pair then ends.
    capped.leave(senders[0])
    capped.leave("receiver")
    with pytest.raises(TooManyOpenCodes):
        capped.create("after", HOME)


@pytest.mark.parametrize("how", ["expired", "sender left", "ended", "sender left after failed join"])
def test_registry_a_code_that_stops_waiting_no_longer_counts(capped: CodeRegistry, clock: FakeClock, how: str) -> None:
    senders = fill(capped)
    if how == "expired":
        clock.advance(TTL)
        assert len(capped.expire()) == OPEN_CODES
    elif how == "sender left":
        capped.leave(senders[0])
    elif how == "ended":
        capped.end(senders[0])
    else:
        clock.advance(TTL)  # due, not yet expired: the join fails, the code still counts
        with pytest.raises(CodeNotFound):
            capped.join(capped.pairing_of(senders[0]).code, "late")
        capped.leave(senders[0])
    assert capped.create("next", HOME).sender == "next"
    assert capped.open_codes is not None
    assert capped.open_codes.held(HOME) == (1 if how == "expired" else OPEN_CODES)
