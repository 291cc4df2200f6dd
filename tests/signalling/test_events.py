"""signal_server.signalling.events: the socket.io events of PROTOCOL.md section 2, end to end.

A real server (``running_server``) and real python-socketio clients on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import socketio

from helpers.measure import log_since
from helpers.peers import OK as EXITED_OK
from helpers.peers import start
from helpers.server import EVENT_TIMEOUT, PAKE, Client, RunningServer, running_server, server_process, wait_until
from helpers.wiretap import wiretap
from signal_server.app import SIGNALLING_KEY
from signal_server.signalling.events import RelayHook
from signal_server.signalling.registry import SlotRegistry

Connect = Callable[..., Awaitable[Client]]
ICE_SERVERS = [
    {"urls": "stun:stun.example.org:3478"},
    {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "c"},
]
SLOT = re.compile(r"[1-9][0-9]{0,3}")


def sealed(text: str) -> str:
    """What a signal's ``data`` looks like: base64 (the server never opens it)."""
    return base64.b64encode(text.encode()).decode()


OFFER = {"type": "offer", "data": sealed("a sealed offer")}
ANSWER = {"type": "answer", "data": sealed("a sealed answer")}


def refused(error_id: str, error: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "error_id": error_id}


NOT_FOUND = refused("code-not-found", "code not found or expired")
USED = refused("code-used", "code already used")
NOT_PAIRED = refused("not-paired", "not paired")
NOT_CONNECTED = refused("peer-not-connected", "peer not connected")
OLD = refused("old-protocol", "this peer speaks an older SendIt protocol; update it")
NEW = refused("new-protocol", "this server speaks an older SendIt protocol than this peer")
#: The first wait past the allowance in the tests of the limit: long enough that it never
#: ends within a test, so every refusal says the same.
BACKOFF = 60.0
TOO_MANY = {**refused("too-many-attempts", "too many attempts"), "retry_after": 60}
TOO_MANY_CODES = refused("too-many-codes", "too many open codes")
HOLDING = refused("already-holding", "already holding a code; leave it first")
TOO_MANY_CONNECTIONS = {"message": "too many connections from your address", "error_id": "too-many-connections"}
PROXY = frozenset({"127.0.0.1"})
OK = {"ok": True}


def candidate(n: int) -> dict[str, Any]:
    return {"type": "candidate", "data": sealed(f"a sealed candidate {n:04}")}


def registry_of(server: RunningServer) -> SlotRegistry:
    return server.app[SIGNALLING_KEY].registry


def sid_of(client: Client) -> str:
    return client.sio.get_sid()


def unknown_slot(server: RunningServer) -> str:
    """A slot nobody holds."""
    registry = registry_of(server)
    return str(next(slot for slot in registry.slots if registry.lookup(slot) is None))


def assert_refused(ack: Any, error_id: str) -> None:
    assert ack["ok"] is False and ack["error_id"] == error_id, ack
    assert set(ack) == {"ok", "error", "error_id"} and isinstance(ack["error"], str), ack


@contextlib.asynccontextmanager
async def serving(
    relay_hook: RelayHook | None = None, **overrides: Any
) -> AsyncIterator[tuple[RunningServer, Connect]]:
    """A server with ``overrides`` and a factory of clients (optionally with HTTP headers)."""
    async with running_server(relay_hook=relay_hook, **overrides) as server:
        clients: list[Client] = []

        async def connect(headers: dict[str, str] | None = None) -> Client:
            client = Client()
            await client.sio.connect(
                server.url, transports=["websocket"], headers=headers or {}, wait_timeout=EVENT_TIMEOUT
            )
            clients.append(client)
            return client

        try:
            yield server, connect
        finally:
            for client in clients:
                await client.close()


async def paired(connect: Connect, pake: str = PAKE) -> tuple[Client, Client, str]:
    """A sender and a receiver sharing a slot; peer_joined consumed."""
    sender, receiver = await connect(), await connect()
    created = await sender.create()
    assert created["ok"], created
    joined = await receiver.join(created["slot"], pake)
    assert joined["ok"], joined
    assert await sender.next("peer_joined") == {"pake": pake}
    return sender, receiver, created["slot"]


# --- create and join ------------------------------------------------------------------------


async def test_signalling_create_ack() -> None:
    async with serving(code_ttl=300, ice_servers=ICE_SERVERS) as (server, connect):
        sender = await connect()
        created = await sender.create()
        assert created["ok"] is True
        assert SLOT.fullmatch(created["slot"]), created
        assert 299 <= created["expires_in"] <= 300
        assert abs(created["expires_at"] - (time.time() + 300)) < 5
        assert created["ice_servers"] == ICE_SERVERS
        assert set(created) == {"ok", "slot", "expires_at", "expires_in", "ice_servers"}
        registry = registry_of(server)
        assert len(registry) == 1
        pairing = registry.pairing_of(sid_of(sender))
        assert pairing is not None and pairing.slot == int(created["slot"])


async def test_signalling_create_default_ice_servers_empty(connect: Connect) -> None:
    sender = await connect()
    created = await sender.call("create", {"version": 2.0})
    assert created["ok"] and created["ice_servers"] == []
    assert 599 <= created["expires_in"] <= 600


async def test_signalling_join_hands_the_receivers_pake_to_the_sender() -> None:
    async with serving(ice_servers=ICE_SERVERS) as (server, connect):
        sender, receiver = await connect(), await connect()
        created = await sender.create()
        assert sender.pending("peer_joined") == 0
        pake = base64.b64encode(b"B" + b"\xff" * 32).decode()
        joined = await receiver.join(created["slot"], pake)
        assert joined == {"ok": True, "ice_servers": ICE_SERVERS}
        assert await sender.next("peer_joined") == {"pake": pake}
        assert receiver.pending("peer_joined") == 0
        pairing = registry_of(server).pairing_of(sid_of(receiver))
        assert pairing is registry_of(server).pairing_of(sid_of(sender))


@pytest.mark.parametrize(
    ("event", "payload", "answer"),
    [
        ("create", None, OLD),
        ("create", {}, OLD),
        ("create", {"version": 1}, OLD),
        ("create", {"version": 3}, NEW),
        ("join", {"code": "K7QM4-XTB9R"}, OLD),
        ("join", {"version": 1, "slot": "1", "pake": PAKE}, OLD),
        ("join", {"version": 3, "slot": "1", "pake": PAKE}, NEW),
    ],
    ids=repr,
)
async def test_signalling_a_peer_of_another_protocol_is_told_so(
    connect: Connect, event: str, payload: Any, answer: dict[str, Any]
) -> None:
    client = await connect()
    assert await client.call(event, payload) == answer


async def test_signalling_a_join_that_is_no_join_is_refused_and_not_counted() -> None:
    """A whole code, a slot spelt otherwise, an extra field: invalid, and no guess."""
    async with serving(max_failed_joins=1, failed_join_backoff=BACKOFF) as (server, connect):
        sender, receiver = await connect(), await connect()
        slot = (await sender.create())["slot"]
        for payload in (
            {"version": 2, "slot": f"{slot}-squirrel-umbrella-kangaroo", "pake": PAKE},
            {"version": 2, "slot": "0" + slot, "pake": PAKE},
            {"version": 2, "slot": int(slot), "pake": PAKE},
            {"version": 2, "slot": slot, "pake": PAKE, "code": f"{slot}-squirrel-umbrella-kangaroo"},
            {"version": 2, "slot": slot, "pake": PAKE[:-4]},
            {"version": 2, "slot": slot},
        ):
            assert_refused(await receiver.call("join", payload), "invalid-payload")
        assert sender.pending("peer_joined") == 0
        assert (await receiver.join(slot))["ok"]


async def test_signalling_join_unknown_slot(server: RunningServer, connect: Connect) -> None:
    sender, stranger = await connect(), await connect()
    created = await sender.create()
    assert await stranger.join(unknown_slot(server)) == NOT_FOUND
    assert registry_of(server).pairing_of(sid_of(stranger)) is None
    assert not registry_of(server).lookup(int(created["slot"])).used
    assert sender.pending("peer_joined") == 0


async def test_signalling_one_code_per_client(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    other = await connect()
    other_slot = (await other.create())["slot"]
    assert await sender.create() == HOLDING
    assert await sender.join(other_slot) == HOLDING
    assert await receiver.create() == HOLDING
    assert await receiver.join(other_slot) == HOLDING
    assert await other.join(other_slot) == HOLDING
    assert len(registry_of(server)) == 2
    assert other.pending("peer_joined") == 0


async def test_signalling_no_free_slot(server: RunningServer, connect: Connect) -> None:
    registry = registry_of(server)
    # Every slot but one held by members with no socket, 20 per address: what
    # 9,998 senders would hold.
    for n in range(len(registry.slots) - 1):
        registry.create(f"holder {n}", f"address {n // 20}")
    last, one_too_many = await connect(), await connect()
    assert (await last.create())["ok"]
    assert await one_too_many.create() == refused(
        "no-free-slot", "every code number is in use; try again in a few minutes"
    )
    assert registry.pairing_of(sid_of(one_too_many)) is None
    assert await last.call("leave", {}) == OK
    assert (await one_too_many.create())["ok"]


# --- relaying ---------------------------------------------------------------------------------


async def test_signalling_relays_every_signal_exactly_and_in_order(connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    for kind in ("pake", "confirm", "offer"):
        signal = {"type": kind, "data": sealed(f"the sender's {kind}")}
        assert await sender.call("signal", signal) == OK
        assert await receiver.next("signal") == signal
    for kind in ("confirm", "answer"):
        signal = {"type": kind, "data": sealed(f"the receiver's {kind}")}
        assert await receiver.call("signal", signal) == OK
        assert await sender.next("signal") == signal

    count = 200
    acks: dict[str, list[Any]] = {"sender": [], "receiver": []}

    async def trickle(name: str, client: Client, base: int) -> None:
        for n in range(count):  # back to back: nothing awaits an acknowledgement
            await client.sio.emit("signal", candidate(base + n), callback=acks[name].append)

    await asyncio.gather(trickle("sender", sender, 0), trickle("receiver", receiver, 1000))

    assert [await receiver.next("signal") for _ in range(count)] == [candidate(n) for n in range(count)]
    assert [await sender.next("signal") for _ in range(count)] == [candidate(1000 + n) for n in range(count)]
    # A round trip on each socket: every earlier acknowledgement has arrived before it.
    assert await sender.create() == HOLDING
    assert await receiver.create() == HOLDING
    assert acks["sender"] == [OK] * count
    assert acks["receiver"] == [OK] * count
    assert sender.pending("signal") == 0 and receiver.pending("signal") == 0


async def test_signalling_the_largest_signal_is_relayed_and_one_larger_refused(connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    largest = {"type": "offer", "data": "A" * 200_000}
    assert await sender.call("signal", largest) == OK
    assert await receiver.next("signal") == largest
    assert_refused(await sender.call("signal", {"type": "offer", "data": "A" * 200_004}), "invalid-payload")
    assert receiver.pending("signal") == 0


async def test_signalling_unknown_fields_are_refused_not_dropped(connect: Connect) -> None:
    """Issue 12's conformance finding: the server rebuilt signals from the fields it
    knew. Now a signal is relayed as it was sent, or refused."""
    sender, receiver, _ = await paired(connect)
    for extra in ({"sdp": "v=0"}, {"candidate": None}, {"from": "admin"}):
        ack = await sender.call("signal", {**OFFER, **extra})
        assert_refused(ack, "invalid-payload")
        assert repr(next(iter(extra))) in ack["error"]
    assert await sender.call("signal", OFFER) == OK
    assert await receiver.next("signal") == OFFER
    assert receiver.pending("signal") == 0


async def test_signalling_the_relay_hook_sees_every_signal_and_changes_what_is_relayed() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def flip_a_byte(role: str, signal: dict[str, Any]) -> dict[str, Any]:
        seen.append((role, signal))
        data = bytearray(base64.b64decode(signal["data"]))
        data[0] ^= 1
        return {**signal, "data": base64.b64encode(data).decode()}

    async with serving(relay_hook=flip_a_byte) as (server, connect):
        sender, receiver, _ = await paired(connect)
        assert await sender.call("signal", OFFER) == OK
        assert await receiver.next("signal") == {"type": "offer", "data": sealed("` sealed offer")}
        assert await receiver.call("signal", ANSWER) == OK
        assert await sender.next("signal") == {"type": "answer", "data": sealed("` sealed answer")}
        assert seen == [("sender", OFFER), ("receiver", ANSWER)]
        # Refused signals never reach it.
        assert_refused(await sender.call("signal", {"type": "offer"}), "invalid-payload")
        assert len(seen) == 2


async def test_signalling_third_client_cannot_join_nor_listen(server: RunningServer, connect: Connect) -> None:
    sender, receiver, slot = await paired(connect)
    third = await connect()
    assert await third.join(slot) == USED

    assert await sender.call("signal", OFFER) == OK
    assert await receiver.call("signal", ANSWER) == OK
    assert await receiver.next("signal") == OFFER
    assert await sender.next("signal") == ANSWER
    marker = candidate(7)
    assert await sender.call("signal", marker) == OK
    assert await receiver.next("signal") == marker
    # A round trip on the third client's own socket: anything sent to it is in by now.
    assert await third.call("signal", marker) == NOT_PAIRED
    assert third.pending("signal") == 0
    assert third.pending("peer_joined") == 0
    assert registry_of(server).pairing_of(sid_of(third)) is None

    # Still used after the receiver has left.
    assert await receiver.call("leave") == OK
    assert await sender.next("peer_left") == {"role": "receiver"}
    assert await third.join(slot) == USED
    assert sender.pending("peer_joined") == 0
    assert await sender.call("signal", OFFER) == NOT_CONNECTED


async def test_signalling_signal_before_pairing(server: RunningServer, connect: Connect) -> None:
    loner = await connect()
    assert await loner.call("signal", OFFER) == NOT_PAIRED
    assert await loner.call("cancel") == NOT_PAIRED
    assert await loner.call("done") == NOT_PAIRED
    # A sender whose slot nobody has joined yet is not paired either.
    sender = await connect()
    await sender.create()
    assert await sender.call("signal", OFFER) == NOT_PAIRED
    assert len(registry_of(server)) == 1


# --- bad payloads ---------------------------------------------------------------------------

BAD_PAYLOADS: list[tuple[str, Any]] = [
    ("create", "x"),
    ("create", 7),
    ("create", [1, 2]),
    ("create", {"version": "2"}),
    ("create", {"version": 2, "slot": "1"}),
    ("join", {"version": 2}),
    ("join", {"version": 2, "slot": 1234, "pake": PAKE}),
    ("join", {"version": 2, "slot": "10000", "pake": PAKE}),
    ("join", {"version": 2, "slot": "", "pake": PAKE}),
    ("join", {"version": 2, "slot": "1", "pake": "QUJD"}),
    ("join", "4821"),
    ("signal", {}),
    ("signal", {"type": "bye", "data": "QUJD"}),
    ("signal", {"type": "offer", "data": ""}),
    ("signal", {"type": "offer", "data": "QUJ"}),
    ("signal", {"type": "offer", "data": "QU JD"}),
    ("signal", {"type": "offer", "data": "A" * 200_004}),
    ("signal", {"type": "answer", "data": None}),
    ("signal", {"type": "offer", "sdp": "v=0"}),
    ("signal", {"type": "candidate", "data": "QUJD", "candidate": None}),
    ("signal", "offer"),
    ("cancel", {"reason": "r" * 201}),
    ("cancel", {"reason": "\U0001f600" * 101}),
    ("cancel", {"reason": 5}),
    ("cancel", {"error_id": "Wrong Code"}),
    ("cancel", {"by": "sender"}),
    ("cancel", "bored"),
    ("done", "yes"),
    ("done", [True]),
    ("done", {"now": True}),
    ("leave", "now"),
    ("leave", 0),
    ("leave", {"slot": "1"}),
]


async def test_signalling_bad_payloads_refused_state_unchanged(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    registry = registry_of(server)
    pairing = registry.pairing_of(sid_of(sender))
    for event, payload in BAD_PAYLOADS:
        for client in (sender, receiver):
            ack = await client.call(event, payload)
            assert_refused(ack, "invalid-payload")
            assert ack["error"].startswith("invalid payload: "), (event, payload, ack)
    # Nothing changed and nobody was told anything.
    assert len(registry) == 1
    assert registry.pairing_of(sid_of(sender)) is pairing
    assert registry.pairing_of(sid_of(receiver)) is pairing
    assert pairing.sender == sid_of(sender) and pairing.receiver == sid_of(receiver)
    for event in ("signal", "peer_left", "cancelled", "done", "peer_joined", "expired"):
        assert sender.pending(event) == 0 and receiver.pending(event) == 0, event
    # The connections still work.
    assert await sender.call("signal", OFFER) == OK
    assert await receiver.next("signal") == OFFER
    assert await receiver.call("signal", ANSWER) == OK
    assert await sender.next("signal") == ANSWER
    assert sender.sio.connected and receiver.sio.connected


async def test_signalling_bad_payloads_before_pairing(server: RunningServer, connect: Connect) -> None:
    client = await connect()
    for event, payload in BAD_PAYLOADS:
        ack = await client.call(event, payload)
        assert_refused(ack, "invalid-payload")
    assert len(registry_of(server)) == 0
    assert (await client.create())["ok"]


@pytest.mark.parametrize("event", ["create", "join", "signal", "cancel", "done", "leave"])
async def test_signalling_extra_arguments_refused(connect: Connect, event: str) -> None:
    """An event carries one object; a second argument is a bad payload, still acknowledged."""
    client = await connect()
    ack = await client.sio.call(event, ({"version": 2}, {}), timeout=EVENT_TIMEOUT)
    assert ack == refused("invalid-payload", "invalid payload: expected one object")
    assert (await client.create())["ok"]


async def test_signalling_unknown_event_ignored(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    await sender.sio.emit("shutdown", {"now": True})
    await sender.sio.emit("join_all")
    assert await sender.call("signal", OFFER) == OK
    assert await receiver.next("signal") == OFFER
    assert len(registry_of(server)) == 1


# --- ending a pair ------------------------------------------------------------------------


async def test_signalling_sender_cancel(server: RunningServer, connect: Connect) -> None:
    sender, receiver, slot = await paired(connect)
    assert await sender.call("cancel", {"reason": "changed my mind"}) == OK
    assert await receiver.next("cancelled") == {"by": "sender", "reason": "changed my mind", "error_id": "cancelled"}
    assert sender.pending("cancelled") == 0
    assert len(registry_of(server)) == 0
    assert await receiver.call("signal", ANSWER) == NOT_PAIRED
    assert await sender.call("cancel") == NOT_PAIRED
    stranger = await connect()
    assert await stranger.join(slot) == NOT_FOUND
    # Neither holds a slot any more.
    assert (await sender.create())["ok"]
    assert (await receiver.create())["ok"]


async def test_signalling_receiver_cancel_without_reason(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    assert await receiver.call("cancel") == OK
    assert await sender.next("cancelled") == {"by": "receiver", "reason": "", "error_id": "cancelled"}
    assert len(registry_of(server)) == 0


async def test_signalling_cancel_carries_why(connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    why = {"error_id": "wrong-code", "reason": "the code does not match"}
    assert await receiver.call("cancel", why) == OK
    assert await sender.next("cancelled") == {"by": "receiver", **why}


async def test_signalling_a_reason_is_counted_in_utf16_units(connect: Connect) -> None:
    """Issue 12's conformance finding: a reason of 101 emoji (202 UTF-16 units, 101 code
    points) was relayed."""
    sender, receiver, _ = await paired(connect)
    ack = await sender.call("cancel", {"reason": "\U0001f600" * 101})
    assert_refused(ack, "invalid-payload")
    assert "reason" in ack["error"]
    assert receiver.pending("cancelled") == 0
    assert await sender.call("cancel", {"reason": "\U0001f600" * 100}) == OK
    assert (await receiver.next("cancelled"))["reason"] == "\U0001f600" * 100


async def test_signalling_done(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    assert await receiver.call("done", {}) == OK
    assert await sender.next("done") == {}
    assert receiver.pending("done") == 0
    assert len(registry_of(server)) == 0
    assert await sender.call("done") == NOT_PAIRED
    assert await sender.call("signal", OFFER) == NOT_PAIRED


async def test_signalling_done_before_anyone_joined_is_refused(server: RunningServer, connect: Connect) -> None:
    """Issue 12's conformance finding: ``done`` from a sender whose code nobody joined was
    answered ok. Nothing was done: it is refused, and the slot still waits."""
    sender, receiver = await connect(), await connect()
    slot = (await sender.create())["slot"]
    assert await sender.call("done", {}) == NOT_PAIRED
    assert registry_of(server).pairing_of(sid_of(sender)) is not None
    assert (await receiver.join(slot))["ok"]
    assert await sender.next("peer_joined") == {"pake": PAKE}


@pytest.mark.parametrize("leaver", ["sender", "receiver"])
async def test_signalling_peer_left_on_disconnect(server: RunningServer, connect: Connect, leaver: str) -> None:
    sender, receiver, slot = await paired(connect)
    gone, stays = (sender, receiver) if leaver == "sender" else (receiver, sender)
    await gone.close()
    assert await stays.next("peer_left") == {"role": leaver}
    assert len(registry_of(server)) == 1
    assert await stays.call("signal", OFFER) == NOT_CONNECTED
    stranger = await connect()
    assert await stranger.join(slot) == USED
    assert await stays.call("leave") == OK
    assert len(registry_of(server)) == 0


@pytest.mark.parametrize("first", ["sender", "receiver"])
async def test_signalling_forgets_pair_after_both_leave(server: RunningServer, connect: Connect, first: str) -> None:
    sender, receiver, slot = await paired(connect)
    one, other = (sender, receiver) if first == "sender" else (receiver, sender)
    assert await one.call("leave") == OK
    assert await other.next("peer_left") == {"role": first}
    assert len(registry_of(server)) == 1
    assert await other.call("leave") == OK
    assert one.pending("peer_left") == 0
    assert len(registry_of(server)) == 0
    assert registry_of(server).pairing_of(sid_of(sender)) is None
    assert registry_of(server).pairing_of(sid_of(receiver)) is None
    stranger = await connect()
    assert await stranger.join(slot) == NOT_FOUND
    assert await one.call("leave") == OK  # leaving twice is harmless


async def test_signalling_sender_leaving_before_join_frees_the_slot(server: RunningServer, connect: Connect) -> None:
    sender, receiver = await connect(), await connect()
    slot = (await sender.create())["slot"]
    assert await sender.call("leave") == OK
    assert len(registry_of(server)) == 0
    assert await receiver.join(slot) == NOT_FOUND


# --- expiry -----------------------------------------------------------------------------------


async def test_signalling_slot_expires() -> None:
    async with serving(code_ttl=0.5) as (server, connect):
        sender, receiver = await connect(), await connect()
        created = await sender.create()
        assert 0 < created["expires_in"] <= 0.5
        assert await sender.next("expired") == {"slot": created["slot"]}
        assert len(registry_of(server)) == 0
        assert await receiver.join(created["slot"]) == NOT_FOUND
        assert receiver.pending("expired") == 0
        # The sender holds nothing any more and may start again.
        assert (await sender.create())["ok"]


async def test_signalling_expiry_follows_each_slot() -> None:
    async with serving(code_ttl=0.5) as (server, connect):
        first, second, receiver = await connect(), await connect(), await connect()
        one = (await first.create())["slot"]
        assert await first.next("expired") == {"slot": one}
        # A slot created while the expiry task idles is noticed, and a joined one
        # never expires.
        two = (await second.create())["slot"]
        assert (await receiver.join(two))["ok"]
        three = (await first.create())["slot"]
        assert await first.next("expired") == {"slot": three}
        assert second.pending("expired") == 0
        assert registry_of(server).pairing_of(sid_of(second)) is not None
        assert await second.call("signal", OFFER) == OK
        assert await receiver.next("signal") == OFFER


# --- rate limit -----------------------------------------------------------------------------


async def test_signalling_failed_joins_limited() -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF) as (server, connect):
        _, _, used_slot = await paired(connect)
        other_sender, guesser = await connect(), await connect()
        waiting = (await other_sender.create())["slot"]
        assert await guesser.join(used_slot) == USED
        assert await guesser.join(unknown_slot(server)) == NOT_FOUND
        assert await guesser.join(unknown_slot(server)) == NOT_FOUND
        # Even the right slot is not looked at now.
        assert await guesser.join(waiting) == TOO_MANY
        assert not registry_of(server).lookup(int(waiting)).used
        assert other_sender.pending("peer_joined") == 0
        # Every client here comes from 127.0.0.1: it is the address that is limited.
        newcomer = await connect()
        assert await newcomer.join(waiting) == TOO_MANY


async def test_signalling_forwarded_for_honoured_from_trusted_proxy() -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF, trusted_proxies=PROXY) as (server, connect):
        sender = await connect()
        slot = (await sender.create())["slot"]
        # The proxy appends the address it saw; what stands left of it is the client's claim.
        attacker = await connect({"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
        for _ in range(3):
            assert await attacker.join(unknown_slot(server)) == NOT_FOUND
        assert await attacker.join(slot) == TOO_MANY
        # The same address through the proxy is the same client, whatever it claims.
        again = await connect({"X-Forwarded-For": "203.0.113.10, 198.51.100.7"})
        assert await again.join(slot) == TOO_MANY
        friend = await connect({"X-Forwarded-For": "198.51.100.8"})
        joined = await friend.join(slot)
        assert joined["ok"], joined
        assert await sender.next("peer_joined") == {"pake": PAKE}


async def test_a_port_a_balancer_appends_does_not_make_another_address() -> None:
    async with serving(max_failed_joins=1, failed_join_backoff=BACKOFF, trusted_proxies=PROXY) as (server, connect):
        first = await connect({"X-Forwarded-For": "203.0.113.9:5678"})
        assert await first.join(unknown_slot(server)) == NOT_FOUND
        for hop in ("203.0.113.9:443", "203.0.113.9", "[2001:db8::1]:443, 203.0.113.9:9"):
            other_port = await connect({"X-Forwarded-For": hop})
            assert await other_port.join(unknown_slot(server)) == TOO_MANY, hop


@pytest.mark.parametrize(
    "trusted", [frozenset(), frozenset({"192.0.2.1"})], ids=["no trusted proxy", "peer is not the trusted proxy"]
)
async def test_signalling_forwarded_for_ignored_unless_from_trusted_proxy(trusted: frozenset[str]) -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF, trusted_proxies=trusted) as (
        server,
        connect,
    ):
        sender = await connect()
        slot = (await sender.create())["slot"]
        attacker = await connect({"X-Forwarded-For": "198.51.100.7"})
        for _ in range(3):
            assert await attacker.join(unknown_slot(server)) == NOT_FOUND
        # A fresh forged header does not buy fresh attempts.
        forged = await connect({"X-Forwarded-For": "198.51.100.8"})
        assert await forged.join(slot) == TOO_MANY
        assert sender.pending("peer_joined") == 0


async def test_signalling_a_success_does_not_reset_the_failures_of_its_address() -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF, trusted_proxies=PROXY) as (server, connect):
        guesser, accomplice = await connect(forwarded("203.0.113.9")), await connect(forwarded("198.51.100.9"))
        for _ in range(2):
            assert await guesser.join(unknown_slot(server)) == NOT_FOUND
        own = (await accomplice.create())["slot"]
        assert (await guesser.join(own))["ok"]
        other_guesser = await connect(forwarded("203.0.113.9"))
        assert await other_guesser.join(unknown_slot(server)) == NOT_FOUND
        assert await other_guesser.join(unknown_slot(server)) == TOO_MANY


async def test_signalling_the_wait_ends_long_before_the_window() -> None:
    async with serving(max_failed_joins=2, failed_join_backoff=0.05, failed_join_window=600) as (server, connect):
        guesser = await connect()
        slot = unknown_slot(server)
        for _ in range(2):
            assert await guesser.join(slot) == NOT_FOUND
        answer = await guesser.join(slot)
        assert answer == {**TOO_MANY, "retry_after": 1}
        # Refusals are not failures: asked again until the 50 ms are over, it is looked at.
        deadline = time.monotonic() + 5
        while (again := await guesser.join(slot)) != NOT_FOUND:
            assert again == answer and time.monotonic() < deadline


# --- caps per address -----------------------------------------------------------------------


def forwarded(address: str) -> dict[str, str]:
    """The header a trusted proxy at 127.0.0.1 adds for a client at ``address``."""
    return {"X-Forwarded-For": address}


async def refused_connection(server: RunningServer, address: str) -> Any:
    """Connect from ``address`` expecting a refusal; returns what the client was told."""
    client = Client()
    told: asyncio.Queue[Any] = asyncio.Queue()
    client.sio.on("connect_error", told.put_nowait)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.sio.connect(
            server.url, transports=["websocket"], headers=forwarded(address), wait_timeout=EVENT_TIMEOUT
        )
    return await asyncio.wait_for(told.get(), EVENT_TIMEOUT)


async def pair_from(connect: Connect, sender_at: str, receiver_at: str) -> None:
    sender, receiver = await connect(forwarded(sender_at)), await connect(forwarded(receiver_at))
    created = await sender.create()
    assert created["ok"], created
    assert (await receiver.join(created["slot"]))["ok"]
    assert await sender.next("peer_joined") == {"pake": PAKE}
    assert await sender.call("signal", OFFER) == OK
    assert await receiver.next("signal") == OFFER


async def test_signalling_connections_are_capped_per_address(caplog: pytest.LogCaptureFixture) -> None:
    crowd = "203.0.113.5"
    async with serving(max_connections_per_address=3, trusted_proxies=PROXY) as (server, connect):
        held = [await connect(forwarded(crowd)) for _ in range(3)]
        with caplog.at_level(logging.WARNING, logger="signal_server.signalling.quotas"):
            for _ in range(2):
                assert await refused_connection(server, crowd) == TOO_MANY_CONNECTIONS
        assert len(caplog.records) == 1, "logged once, not per refusal"
        assert crowd in caplog.records[0].getMessage() and "3 connections" in caplog.records[0].getMessage()
        # The same /64 is one address; another address is not affected, and pairs.
        await pair_from(connect, "198.51.100.5", "192.0.2.5")
        connections = server.app[SIGNALLING_KEY].connections
        assert connections.held(crowd) == 3
        await held[0].close()
        await wait_until(lambda: connections.held(crowd) == 2, "the server to release the connection")
        assert (await connect(forwarded(crowd))).sio.connected


async def test_signalling_an_ipv6_subscriber_shares_one_connection_cap() -> None:
    async with serving(max_connections_per_address=2, trusted_proxies=PROXY) as (server, connect):
        await connect(forwarded("2001:db8:0:1::1"))
        await connect(forwarded("2001:db8:0:1::2"))
        assert await refused_connection(server, "2001:db8:0:1:ffff::3") == TOO_MANY_CONNECTIONS
        assert (await connect(forwarded("2001:db8:0:2::1"))).sio.connected


async def test_signalling_open_codes_are_capped_per_address(caplog: pytest.LogCaptureFixture) -> None:
    crowd = "203.0.113.6"
    async with serving(max_open_codes_per_address=2, trusted_proxies=PROXY) as (server, connect):
        senders = [await connect(forwarded(crowd)) for _ in range(3)]
        slots = [(await sender.create())["slot"] for sender in senders[:2]]
        with caplog.at_level(logging.WARNING, logger="signal_server.signalling.quotas"):
            for _ in range(3):
                assert await senders[2].create() == TOO_MANY_CODES
        assert len(caplog.records) == 1 and "2 open codes" in caplog.records[0].getMessage()
        assert registry_of(server).pairing_of(sid_of(senders[2])) is None
        await pair_from(connect, "198.51.100.6", "192.0.2.6")
        # A slot joined no longer waits, and no longer counts.
        receiver = await connect(forwarded("192.0.2.7"))
        assert (await receiver.join(slots[0]))["ok"]
        assert (await senders[2].create())["ok"]
        assert await senders[0].create() == HOLDING
        # Nor does a slot withdrawn.
        assert await senders[1].call("leave") == OK
        assert (await senders[1].create())["ok"]
        assert await (await connect(forwarded(crowd))).create() == TOO_MANY_CODES


# --- what the log never holds ---------------------------------------------------------------

#: Words of the list, long enough that no session id or number holds them by chance.
WORDS = ("squirrel", "umbrella", "kangaroo")


async def a_run_with_known_words(url: str) -> list[str]:
    """A pairing through ``url`` whose clients send the words, and what carries them, in
    every way a client might (by mistake, or as the protocol has them sealed), then
    cancel; returns the texts the log must not hold."""
    sender, receiver = await Client().connect(url), await Client().connect(url)
    try:
        slot = (await sender.create())["slot"]
        code = "-".join((slot, *WORDS))
        pake = base64.b64encode(b"B" + code.encode()[:32].ljust(32, b".")).decode()
        secret = sealed(f"an offer sealed under {code}")
        assert await receiver.call("join", {"code": code}) == OLD
        for mistake in (
            {"version": 2, "slot": code, "pake": pake},
            {"version": 2, "slot": slot, "pake": pake, "code": code},
            {"version": 2, "slot": slot, "pake": pake, "words": list(WORDS)},
        ):
            assert_refused(
                await receiver.call("join", mistake), "invalid-payload" if "version" in mistake else "old-protocol"
            )
        assert (await receiver.join(slot, pake))["ok"]
        assert await sender.next("peer_joined") == {"pake": pake}
        assert await sender.call("signal", {"type": "offer", "data": secret}) == OK
        assert (await receiver.next("signal"))["data"] == secret
        assert_refused(await sender.call("signal", {"type": "offer", "data": secret, "sdp": code}), "invalid-payload")
        assert await receiver.call("cancel", {"reason": f"not {code}", "error_id": "wrong-code"}) == OK
        assert (await sender.next("cancelled"))["error_id"] == "wrong-code"
    finally:
        await sender.close()
        await receiver.close()
    return [*WORDS, pake, secret, base64.b64encode(code.encode()).decode()[:20]]


def assert_nowhere(secrets: list[str], log: str) -> None:
    assert "joined" in log, "the run was logged (else this test could not fail)"
    for secret in secrets:
        assert secret not in log, (secret, log)


async def test_the_servers_log_never_holds_the_words_nor_what_a_join_or_signal_carries(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        secrets = await a_run_with_known_words(server.url)
    assert_nowhere(secrets, caplog.text)


@pytest.mark.process
async def test_a_server_processs_log_never_holds_the_words() -> None:
    async with server_process("--log-level", "debug") as server:
        secrets = await a_run_with_known_words(server.url)
        log = await log_since(server, 0)
    assert_nowhere(secrets, "".join(log))


#: Every word the server's own code holds (its messages among them): one of them in its
#: log says nothing of a code, so a code's word that is one is looked for only as part
#: of the code.
SERVERS_OWN_WORDS = frozenset(
    word
    for source in (Path(__file__).parents[2] / "signal_server").rglob("*.py")
    for word in re.findall(r"[a-z]+", source.read_text().lower())
)


def carried(frames: list[str]) -> list[str]:
    """What the PAKE and the seal put on the wire, as sent (base64), and the short ones
    (PAKE messages, confirmations) in hex too."""
    found = sorted({value for frame in frames for value in re.findall(r'"(?:pake|data)":"([A-Za-z0-9+/=]+)"', frame)})
    short = [base64.b64decode(value) for value in found if len(value) <= 44]
    return [*found, *(raw.hex() for raw in short), *(raw[1:].hex() for raw in short)]


def assert_no_word_of(code: str, log: str) -> None:
    slot, *words = code.split("-")
    for text in (code, "-".join(words), " ".join(words), f"{slot} {' '.join(words)}"):
        assert text not in log, (text, log)
    for word in set(words) - SERVERS_OWN_WORDS:
        assert not re.search(rf"(?<![A-Za-z]){word}(?![A-Za-z])", log), (word, log)


@pytest.mark.process
async def test_a_whole_transfer_leaves_nothing_of_the_code_in_a_server_processs_log(tmp_path: Path) -> None:
    """sendit to sendit through a server logging at debug level, every frame between
    them seen on the way: neither the code nor what its handshake sent is in the log."""
    (tmp_path / "a.bin").write_bytes(os.urandom(100_000))
    async with server_process("--log-level", "debug") as server, wiretap(server.url) as tap:
        sender = await start("send", "--json", str(tmp_path / "a.bin"), server=tap.url)
        code = await sender.code()
        receiver = await start("receive", "--json", "--yes", "-o", str(tmp_path / "out"), code, server=tap.url)
        assert await asyncio.gather(sender.finish(), receiver.finish()) == [EXITED_OK, EXITED_OK], (
            sender.stderr,
            receiver.stderr,
        )
        log = "".join(await log_since(server, 0))
    secrets = carried(tap.frames)
    # The join's PAKE message, the sender's, two confirmations, the offer and the answer.
    assert len(secrets) >= 6 + 2 * 4, tap.frames
    assert_nowhere(secrets, log)
    assert_no_word_of(code, log)
