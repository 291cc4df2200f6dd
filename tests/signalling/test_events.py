"""signal_server.signalling.events: the socket.io events of PROTOCOL.md section 2, end to end.

A real server (``running_server``) and real python-socketio clients on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import socketio

from helpers.server import EVENT_TIMEOUT, Client, RunningServer, running_server, wait_until
from signal_server.app import SIGNALLING_KEY
from signal_server.signalling.codes import normalize_code
from signal_server.signalling.registry import CodeRegistry

Connect = Callable[..., Awaitable[Client]]
ICE_SERVERS = [
    {"urls": "stun:stun.example.org:3478"},
    {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "c"},
]
DISPLAY = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}")
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\n"}
NOT_FOUND = {"ok": False, "error": "code not found or expired"}
USED = {"ok": False, "error": "code already used"}
NOT_PAIRED = {"ok": False, "error": "not paired"}
#: The first wait past the allowance in the tests of the limit: long enough that it never
#: ends within a test, so every refusal says the same.
BACKOFF = 60.0
TOO_MANY = {"ok": False, "error": "too many attempts", "retry_after": 60}
TOO_MANY_CODES = {"ok": False, "error": "too many open codes"}
PROXY = frozenset({"127.0.0.1"})
HOLDING = {"ok": False, "error": "already holding a code; leave it first"}
OK = {"ok": True}


def candidate(n: int) -> dict[str, Any]:
    return {
        "type": "candidate",
        "candidate": {
            "candidate": f"candidate:{n} 1 udp 2122260223 127.0.0.1 {40000 + n} typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "frag",
        },
    }


def registry_of(server: RunningServer) -> CodeRegistry:
    return server.app[SIGNALLING_KEY].registry


def sid_of(client: Client) -> str:
    return client.sio.get_sid()


@contextlib.asynccontextmanager
async def serving(**overrides: Any) -> AsyncIterator[tuple[RunningServer, Connect]]:
    """A server with ``overrides`` and a factory of clients (optionally with HTTP headers)."""
    async with running_server(**overrides) as server:
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


async def paired(connect: Connect) -> tuple[Client, Client, str]:
    """A sender and a receiver sharing a code (display form); peer_joined consumed."""
    sender, receiver = await connect(), await connect()
    created = await sender.call("create")
    assert created["ok"], created
    joined = await receiver.call("join", {"code": created["code"]})
    assert joined["ok"], joined
    assert await sender.next("peer_joined") == {}
    return sender, receiver, created["code"]


async def create_until(client: Client, wanted: Callable[[str], bool]) -> str:
    """Create codes (leaving each unwanted one) until one satisfies ``wanted``."""
    for _ in range(200):
        created = await client.call("create")
        assert created["ok"], created
        if wanted(created["code"]):
            return created["code"]
        assert await client.call("leave") == OK
    raise AssertionError("no suitable code in 200 tries")


# --- create and join ------------------------------------------------------------------------


async def test_signalling_create_ack() -> None:
    async with serving(code_ttl=300, ice_servers=ICE_SERVERS) as (server, connect):
        sender = await connect()
        created = await sender.call("create")
        assert created["ok"] is True
        assert DISPLAY.fullmatch(created["code"]), created
        assert 299 <= created["expires_in"] <= 300
        assert abs(created["expires_at"] - (time.time() + 300)) < 5
        assert created["ice_servers"] == ICE_SERVERS
        assert set(created) == {"ok", "code", "expires_at", "expires_in", "ice_servers"}
        registry = registry_of(server)
        assert len(registry) == 1
        pairing = registry.pairing_of(sid_of(sender))
        assert pairing is not None and pairing.code == normalize_code(created["code"])


async def test_signalling_create_default_ice_servers_empty(connect: Connect) -> None:
    sender = await connect()
    created = await sender.call("create", {})
    assert created["ok"] and created["ice_servers"] == []
    assert 599 <= created["expires_in"] <= 600


async def test_signalling_join_notifies_sender() -> None:
    async with serving(ice_servers=ICE_SERVERS) as (server, connect):
        sender, receiver = await connect(), await connect()
        created = await sender.call("create")
        assert sender.pending("peer_joined") == 0
        joined = await receiver.call("join", {"code": created["code"]})
        assert joined == {"ok": True, "code": created["code"], "ice_servers": ICE_SERVERS}
        assert await sender.next("peer_joined") == {}
        assert receiver.pending("peer_joined") == 0
        pairing = registry_of(server).pairing_of(sid_of(receiver))
        assert pairing is registry_of(server).pairing_of(sid_of(sender))


@pytest.mark.parametrize("variant", ["lowercase", "spaces", "letter O for zero", "I and L for one"])
async def test_signalling_join_typed_variants(connect: Connect, variant: str) -> None:
    sender, receiver = await connect(), await connect()
    if variant == "lowercase":
        code = await create_until(sender, lambda c: any(ch.isalpha() for ch in c))
        typed = code.lower()
    elif variant == "spaces":
        code = await create_until(sender, lambda c: True)
        typed = "  " + " ".join(code.replace("-", "")) + " "
    elif variant == "letter O for zero":
        code = await create_until(sender, lambda c: "0" in c)
        typed = code.replace("0", "O").replace("-", "")
    else:
        code = await create_until(sender, lambda c: "1" in c)
        typed = code.replace("1", "I", 1).replace("1", "l")
    assert typed != code
    joined = await receiver.call("join", {"code": typed})
    assert joined["ok"], (typed, joined)
    assert joined["code"] == code
    assert await sender.next("peer_joined") == {}


async def test_signalling_join_unknown_or_malformed(server: RunningServer, connect: Connect) -> None:
    sender, stranger = await connect(), await connect()
    created = await sender.call("create")
    assert await stranger.call("join", {"code": "00000-00000"}) == NOT_FOUND
    assert await stranger.call("join", {"code": "hello"}) == NOT_FOUND
    assert await stranger.call("join", {"code": "U" * 10}) == NOT_FOUND
    assert registry_of(server).pairing_of(sid_of(stranger)) is None
    assert not registry_of(server).lookup(normalize_code(created["code"])).used
    assert sender.pending("peer_joined") == 0


async def test_signalling_one_code_per_client(server: RunningServer, connect: Connect) -> None:
    sender, receiver, code = await paired(connect)
    other = await connect()
    other_code = (await other.call("create"))["code"]
    assert await sender.call("create") == HOLDING
    assert await sender.call("join", {"code": other_code}) == HOLDING
    assert await receiver.call("create") == HOLDING
    assert await receiver.call("join", {"code": other_code}) == HOLDING
    assert await other.call("join", {"code": other_code}) == HOLDING
    assert len(registry_of(server)) == 2
    assert other.pending("peer_joined") == 0


# --- relaying ---------------------------------------------------------------------------------


async def test_signalling_relays_offer_answer_and_candidates_in_order(connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    assert await sender.call("signal", {**OFFER, "extra": "dropped"}) == OK
    assert await receiver.next("signal") == OFFER
    assert await receiver.call("signal", ANSWER) == OK
    assert await sender.next("signal") == ANSWER

    count = 200
    acks: dict[str, list[Any]] = {"sender": [], "receiver": []}

    async def trickle(name: str, client: Client, base: int) -> None:
        for n in range(count):  # back to back: nothing awaits an acknowledgement
            await client.sio.emit("signal", candidate(base + n), callback=acks[name].append)
        await client.sio.emit("signal", {"type": "candidate", "candidate": None}, callback=acks[name].append)

    await asyncio.gather(trickle("sender", sender, 0), trickle("receiver", receiver, 1000))

    expected_at_receiver = [candidate(n) for n in range(count)]
    expected_at_sender = [candidate(1000 + n) for n in range(count)]
    end = {"type": "candidate", "candidate": None}
    assert [await receiver.next("signal") for _ in range(count + 1)] == expected_at_receiver + [end]
    assert [await sender.next("signal") for _ in range(count + 1)] == expected_at_sender + [end]
    # A round trip on each socket: every earlier acknowledgement has arrived before it.
    assert await sender.call("create") == HOLDING
    assert await receiver.call("create") == HOLDING
    assert acks["sender"] == [OK] * (count + 1)
    assert acks["receiver"] == [OK] * (count + 1)
    assert sender.pending("signal") == 0 and receiver.pending("signal") == 0


async def test_signalling_third_client_cannot_join_nor_listen(server: RunningServer, connect: Connect) -> None:
    sender, receiver, code = await paired(connect)
    third = await connect()
    assert await third.call("join", {"code": code}) == USED
    assert await third.call("join", {"code": code.lower()}) == USED

    assert await sender.call("signal", OFFER) == OK
    assert await receiver.call("signal", ANSWER) == OK
    assert await receiver.next("signal") == OFFER
    assert await sender.next("signal") == ANSWER
    marker = {
        "type": "candidate",
        "candidate": {"candidate": "marker", "sdpMid": None, "sdpMLineIndex": None, "usernameFragment": None},
    }
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
    assert await third.call("join", {"code": code}) == USED
    assert sender.pending("peer_joined") == 0
    assert await sender.call("signal", OFFER) == {"ok": False, "error": "peer not connected"}


async def test_signalling_signal_before_pairing(server: RunningServer, connect: Connect) -> None:
    loner = await connect()
    assert await loner.call("signal", OFFER) == NOT_PAIRED
    assert await loner.call("cancel") == NOT_PAIRED
    assert await loner.call("done") == NOT_PAIRED
    # A sender whose code nobody has joined yet is not paired either.
    sender = await connect()
    await sender.call("create")
    assert await sender.call("signal", OFFER) == NOT_PAIRED
    assert len(registry_of(server)) == 1


# --- bad payloads ---------------------------------------------------------------------------

BAD_PAYLOADS: list[tuple[str, Any]] = [
    ("create", "x"),
    ("create", 7),
    ("create", [1, 2]),
    ("join", {}),
    ("join", {"code": 1234567890}),
    ("join", {"code": "0" * 41}),
    ("join", {"code": ""}),
    ("join", "K7QM4-XTB9R"),
    ("signal", {}),
    ("signal", {"type": "bye"}),
    ("signal", {"type": "offer", "sdp": ""}),
    ("signal", {"type": "offer", "sdp": "v" * 65_537}),
    ("signal", {"type": "answer", "sdp": None}),
    ("signal", {"type": "candidate", "candidate": "candidate:1"}),
    ("signal", {"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": True}}),
    ("signal", {"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": 256}}),
    ("signal", {"type": "candidate", "candidate": {"candidate": "c" * 1025}}),
    ("signal", {"type": "candidate", "candidate": {"candidate": "c", "sdpMid": "m" * 65}}),
    ("signal", {"type": "candidate", "candidate": {"candidate": "c", "usernameFragment": "u" * 257}}),
    ("signal", "offer"),
    ("cancel", {"reason": "r" * 201}),
    ("cancel", {"reason": 5}),
    ("cancel", "bored"),
    ("done", "yes"),
    ("done", [True]),
    ("leave", "now"),
    ("leave", 0),
]


async def test_signalling_bad_payloads_refused_state_unchanged(server: RunningServer, connect: Connect) -> None:
    sender, receiver, code = await paired(connect)
    registry = registry_of(server)
    pairing = registry.pairing_of(sid_of(sender))
    for event, payload in BAD_PAYLOADS:
        for client in (sender, receiver):
            ack = await client.call(event, payload)
            assert ack["ok"] is False, (event, payload, ack)
            assert ack["error"].startswith("invalid payload: "), (event, payload, ack)
            assert set(ack) == {"ok", "error"}
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
        assert ack["ok"] is False and ack["error"].startswith("invalid payload: "), (event, ack)
    assert len(registry_of(server)) == 0
    assert (await client.call("create"))["ok"]


@pytest.mark.parametrize("event", ["create", "join", "signal", "cancel", "done", "leave"])
async def test_signalling_extra_arguments_refused(connect: Connect, event: str) -> None:
    """An event carries one object; a second argument is a bad payload, still acknowledged."""
    client = await connect()
    ack = await client.sio.call(event, ({}, {}), timeout=EVENT_TIMEOUT)
    assert ack["ok"] is False and ack["error"].startswith("invalid payload: "), ack
    assert (await client.call("create"))["ok"]


async def test_signalling_unknown_event_ignored(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    await sender.sio.emit("shutdown", {"now": True})
    await sender.sio.emit("join_all")
    assert await sender.call("signal", OFFER) == OK
    assert await receiver.next("signal") == OFFER
    assert len(registry_of(server)) == 1


# --- ending a pair ------------------------------------------------------------------------


async def test_signalling_sender_cancel(server: RunningServer, connect: Connect) -> None:
    sender, receiver, code = await paired(connect)
    assert await sender.call("cancel", {"reason": "changed my mind"}) == OK
    assert await receiver.next("cancelled") == {"by": "sender", "reason": "changed my mind"}
    assert sender.pending("cancelled") == 0
    assert len(registry_of(server)) == 0
    assert await receiver.call("signal", ANSWER) == NOT_PAIRED
    assert await sender.call("cancel") == NOT_PAIRED
    stranger = await connect()
    assert await stranger.call("join", {"code": code}) == NOT_FOUND
    # Neither holds a code any more.
    assert (await sender.call("create"))["ok"]
    assert (await receiver.call("create"))["ok"]


async def test_signalling_receiver_cancel_without_reason(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    assert await receiver.call("cancel") == OK
    assert await sender.next("cancelled") == {"by": "receiver", "reason": ""}
    assert len(registry_of(server)) == 0


async def test_signalling_done(server: RunningServer, connect: Connect) -> None:
    sender, receiver, _ = await paired(connect)
    assert await receiver.call("done", {}) == OK
    assert await sender.next("done") == {}
    assert receiver.pending("done") == 0
    assert len(registry_of(server)) == 0
    assert await sender.call("done") == NOT_PAIRED
    assert await sender.call("signal", OFFER) == NOT_PAIRED


@pytest.mark.parametrize("leaver", ["sender", "receiver"])
async def test_signalling_peer_left_on_disconnect(server: RunningServer, connect: Connect, leaver: str) -> None:
    sender, receiver, code = await paired(connect)
    gone, stays = (sender, receiver) if leaver == "sender" else (receiver, sender)
    await gone.close()
    assert await stays.next("peer_left") == {"role": leaver}
    assert len(registry_of(server)) == 1
    assert await stays.call("signal", OFFER) == {"ok": False, "error": "peer not connected"}
    stranger = await connect()
    assert await stranger.call("join", {"code": code}) == USED
    assert await stays.call("leave") == OK
    assert len(registry_of(server)) == 0


@pytest.mark.parametrize("first", ["sender", "receiver"])
async def test_signalling_forgets_pair_after_both_leave(server: RunningServer, connect: Connect, first: str) -> None:
    sender, receiver, code = await paired(connect)
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
    assert await stranger.call("join", {"code": code}) == NOT_FOUND
    assert await one.call("leave") == OK  # leaving twice is harmless


async def test_signalling_sender_leaving_before_join_kills_code(server: RunningServer, connect: Connect) -> None:
    sender, receiver = await connect(), await connect()
    code = (await sender.call("create"))["code"]
    assert await sender.call("leave") == OK
    assert len(registry_of(server)) == 0
    assert await receiver.call("join", {"code": code}) == NOT_FOUND


# --- expiry -----------------------------------------------------------------------------------


async def test_signalling_code_expires() -> None:
    async with serving(code_ttl=0.5) as (server, connect):
        sender, receiver = await connect(), await connect()
        created = await sender.call("create")
        assert 0 < created["expires_in"] <= 0.5
        assert await sender.next("expired") == {"code": created["code"]}
        assert len(registry_of(server)) == 0
        assert await receiver.call("join", {"code": created["code"]}) == NOT_FOUND
        assert receiver.pending("expired") == 0
        # The sender holds nothing any more and may start again.
        assert (await sender.call("create"))["ok"]


async def test_signalling_expiry_follows_each_code() -> None:
    async with serving(code_ttl=0.5) as (server, connect):
        first, second, receiver = await connect(), await connect(), await connect()
        one = (await first.call("create"))["code"]
        assert await first.next("expired") == {"code": one}
        # A code created while the expiry task idles is noticed, and a joined one
        # never expires.
        two = (await second.call("create"))["code"]
        assert (await receiver.call("join", {"code": two}))["ok"]
        three = (await first.call("create"))["code"]
        assert await first.next("expired") == {"code": three}
        assert second.pending("expired") == 0
        assert registry_of(server).pairing_of(sid_of(second)) is not None
        assert await second.call("signal", OFFER) == OK
        assert await receiver.next("signal") == OFFER


# --- rate limit -----------------------------------------------------------------------------


async def test_signalling_failed_joins_limited() -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF) as (server, connect):
        sender, receiver, used_code = await paired(connect)
        other_sender, guesser = await connect(), await connect()
        waiting = (await other_sender.call("create"))["code"]
        assert await guesser.call("join", {"code": used_code}) == USED
        assert await guesser.call("join", {"code": "00000-00000"}) == NOT_FOUND
        assert await guesser.call("join", {"code": "not a code"}) == NOT_FOUND
        # Even the right code is not looked at now.
        assert await guesser.call("join", {"code": waiting}) == TOO_MANY
        assert not registry_of(server).lookup(normalize_code(waiting)).used
        assert other_sender.pending("peer_joined") == 0
        # Every client here comes from 127.0.0.1: it is the address that is limited.
        newcomer = await connect()
        assert await newcomer.call("join", {"code": waiting}) == TOO_MANY


async def test_signalling_forwarded_for_honoured_from_trusted_proxy() -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF, trusted_proxies=PROXY) as (server, connect):
        sender = await connect()
        code = (await sender.call("create"))["code"]
        # The proxy appends the address it saw; what stands left of it is the client's claim.
        attacker = await connect({"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
        for _ in range(3):
            assert await attacker.call("join", {"code": "00000-00000"}) == NOT_FOUND
        assert await attacker.call("join", {"code": code}) == TOO_MANY
        # The same address through the proxy is the same client, whatever it claims.
        again = await connect({"X-Forwarded-For": "203.0.113.10, 198.51.100.7"})
        assert await again.call("join", {"code": code}) == TOO_MANY
        friend = await connect({"X-Forwarded-For": "198.51.100.8"})
        joined = await friend.call("join", {"code": code})
        assert joined["ok"], joined
        assert await sender.next("peer_joined") == {}


async def test_a_port_a_balancer_appends_does_not_make_another_address() -> None:
    async with serving(max_failed_joins=1, failed_join_backoff=BACKOFF, trusted_proxies=PROXY) as (server, connect):
        first = await connect({"X-Forwarded-For": "203.0.113.9:5678"})
        assert await first.call("join", {"code": "00000-00000"}) == NOT_FOUND
        for hop in ("203.0.113.9:443", "203.0.113.9", "[2001:db8::1]:443, 203.0.113.9:9"):
            other_port = await connect({"X-Forwarded-For": hop})
            assert await other_port.call("join", {"code": "00000-00000"}) == TOO_MANY, hop


@pytest.mark.parametrize(
    "trusted", [frozenset(), frozenset({"192.0.2.1"})], ids=["no trusted proxy", "peer is not the trusted proxy"]
)
async def test_signalling_forwarded_for_ignored_unless_from_trusted_proxy(trusted: frozenset[str]) -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF, trusted_proxies=trusted) as (
        server,
        connect,
    ):
        sender = await connect()
        code = (await sender.call("create"))["code"]
        attacker = await connect({"X-Forwarded-For": "198.51.100.7"})
        for _ in range(3):
            assert await attacker.call("join", {"code": "00000-00000"}) == NOT_FOUND
        # A fresh forged header does not buy fresh attempts.
        forged = await connect({"X-Forwarded-For": "198.51.100.8"})
        assert await forged.call("join", {"code": code}) == TOO_MANY
        assert sender.pending("peer_joined") == 0


async def test_signalling_a_success_does_not_reset_the_failures_of_its_address() -> None:
    async with serving(max_failed_joins=3, failed_join_backoff=BACKOFF, trusted_proxies=PROXY) as (server, connect):
        guesser, accomplice = await connect(forwarded("203.0.113.9")), await connect(forwarded("198.51.100.9"))
        for _ in range(2):
            assert await guesser.call("join", {"code": "00000-00000"}) == NOT_FOUND
        own = (await accomplice.call("create"))["code"]
        assert (await guesser.call("join", {"code": own}))["ok"]
        other_guesser = await connect(forwarded("203.0.113.9"))
        assert await other_guesser.call("join", {"code": "00000-00000"}) == NOT_FOUND
        assert await other_guesser.call("join", {"code": "00000-00000"}) == TOO_MANY


async def test_signalling_the_wait_ends_long_before_the_window() -> None:
    async with serving(max_failed_joins=2, failed_join_backoff=0.05, failed_join_window=600) as (server, connect):
        guesser = await connect()
        for _ in range(2):
            assert await guesser.call("join", {"code": "00000-00000"}) == NOT_FOUND
        refused = await guesser.call("join", {"code": "00000-00000"})
        assert refused == {"ok": False, "error": "too many attempts", "retry_after": 1}
        # Refusals are not failures: asked again until the 50 ms are over, it is looked at.
        deadline = time.monotonic() + 5
        while (answer := await guesser.call("join", {"code": "00000-00000"})) != NOT_FOUND:
            assert answer == refused and time.monotonic() < deadline


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
    created = await sender.call("create")
    assert created["ok"], created
    assert (await receiver.call("join", {"code": created["code"]}))["ok"]
    assert await sender.next("peer_joined") == {}
    assert await sender.call("signal", OFFER) == OK
    assert await receiver.next("signal") == OFFER


async def test_signalling_connections_are_capped_per_address(caplog: pytest.LogCaptureFixture) -> None:
    crowd = "203.0.113.5"
    async with serving(max_connections_per_address=3, trusted_proxies=PROXY) as (server, connect):
        held = [await connect(forwarded(crowd)) for _ in range(3)]
        with caplog.at_level(logging.WARNING, logger="signal_server.signalling.quotas"):
            for _ in range(2):
                assert await refused_connection(server, crowd) == {"message": "too many connections from your address"}
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
        assert await refused_connection(server, "2001:db8:0:1:ffff::3") == {
            "message": "too many connections from your address"
        }
        assert (await connect(forwarded("2001:db8:0:2::1"))).sio.connected


async def test_signalling_open_codes_are_capped_per_address(caplog: pytest.LogCaptureFixture) -> None:
    crowd = "203.0.113.6"
    async with serving(max_open_codes_per_address=2, trusted_proxies=PROXY) as (server, connect):
        senders = [await connect(forwarded(crowd)) for _ in range(3)]
        codes = [(await sender.call("create"))["code"] for sender in senders[:2]]
        with caplog.at_level(logging.WARNING, logger="signal_server.signalling.quotas"):
            for _ in range(3):
                assert await senders[2].call("create") == TOO_MANY_CODES
        assert len(caplog.records) == 1 and "2 open codes" in caplog.records[0].getMessage()
        assert registry_of(server).pairing_of(sid_of(senders[2])) is None
        await pair_from(connect, "198.51.100.6", "192.0.2.6")
        # A code joined no longer waits, and no longer counts.
        receiver = await connect(forwarded("192.0.2.7"))
        assert (await receiver.call("join", {"code": codes[0]}))["ok"]
        assert (await senders[2].call("create"))["ok"]
        assert await senders[0].call("create") == HOLDING
        # Nor does a code withdrawn.
        assert await senders[1].call("leave") == OK
        assert (await senders[1].call("create"))["ok"]
        assert await (await connect(forwarded(crowd))).call("create") == TOO_MANY_CODES
