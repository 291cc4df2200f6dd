"""The TURN credentials the server issues, tried on a real coturn that checks them with
``use-auth-secret``: the acknowledgements' work, forged and expired ones do not."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path
from typing import Any, AsyncIterator

import aioice.stun
import aioice.turn
import pytest

from helpers.coturn import Coturn, coturn, free_udp_and_tcp_port
from helpers.server import Client, running_server
from signal_server.signalling.ice import IceServers, TurnRest

ALLOCATE_TIMEOUT = 10.0
README = Path(__file__).resolve().parents[2] / "README.md"
#: What README's turnserver.conf is written for, and what the test puts in its place.
README_ADDRESS, README_PORT, README_SECRET = "203.0.113.10", "3478", "CHANGE-ME"
#: TURN's error codes (RFC 8656 18): a peer address the relay denies; a relay transport it does not offer.
FORBIDDEN, UNSUPPORTED_TRANSPORT = 403, 442


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Coturn]:
    async with coturn(tmp_path / "coturn") as started:
        yield started


async def allocate(relay: Coturn, server: dict[str, Any]) -> tuple[str, int]:
    """Allocate a relayed address on ``relay`` with ``server``'s credentials, as ICE does."""
    transport, _protocol = await asyncio.wait_for(
        aioice.turn.create_turn_endpoint(
            asyncio.DatagramProtocol, (relay.host, relay.port), server["username"], server["credential"]
        ),
        ALLOCATE_TIMEOUT,
    )
    try:
        return transport.get_extra_info("sockname")
    finally:
        transport.close()


async def refused(relay: Coturn, server: dict[str, Any]) -> int:
    """The STUN error code with which ``relay`` refuses an allocation with ``server``'s credentials."""
    with pytest.raises(aioice.stun.TransactionFailed) as failure:
        await allocate(relay, server)
    return failure.value.response.attributes["ERROR-CODE"][0]


def turn_entry(ice_servers: list[dict[str, Any]], relay: Coturn) -> dict[str, Any]:
    (entry,) = [server for server in ice_servers if server["urls"] == [relay.url]]
    return entry


async def test_the_credentials_of_both_acknowledgements_allocate_on_coturn(relay: Coturn) -> None:
    async with running_server(
        stun=frozenset({f"stun:{relay.host}:{relay.port}"}), turn=frozenset({relay.url}), turn_secret=relay.secret
    ) as server:
        sender, receiver = await Client().connect(server.url), await Client().connect(server.url)
        created = await sender.create()
        joined = await receiver.join(created["slot"])
        await sender.close()
        await receiver.close()
    assert created["ice_servers"][0] == joined["ice_servers"][0] == {"urls": [f"stun:{relay.host}:{relay.port}"]}
    for ack in (created, joined):
        host, port = await allocate(relay, turn_entry(ack["ice_servers"], relay))
        assert host == relay.host and port > 0


async def test_forged_and_expired_credentials_are_refused_by_coturn(relay: Coturn) -> None:
    issued = IceServers(turn=TurnRest((relay.url,), relay.secret, allowance=60), code_ttl=60)
    genuine = turn_entry(issued.for_join(), relay)
    await allocate(relay, genuine)  # the control: the same relay takes genuine ones

    assert await refused(relay, {**genuine, "credential": "A" * 27 + "="}) == 401
    expiry, tag = genuine["username"].split(":")
    # A later expiry under the old password: what a visitor who wanted more time would try.
    assert await refused(relay, {**genuine, "username": f"{int(expiry) + 3600}:{tag}"}) == 401
    other_secret = IceServers(turn=TurnRest((relay.url,), relay.secret + "x", allowance=60), code_ttl=60)
    assert await refused(relay, turn_entry(other_secret.for_join(), relay)) == 401

    two_minutes_ago = IceServers(
        turn=TurnRest((relay.url,), relay.secret, allowance=60), code_ttl=60, clock=lambda: time.time() - 120
    )
    assert await refused(relay, turn_entry(two_minutes_ago.for_join(), relay)) == 401
    # Issued two minutes ago by a sender, whose wait is counted too: still valid.
    await allocate(relay, turn_entry(two_minutes_ago.for_create(), relay))


def readme_turnserver_conf() -> list[str]:
    (fragment,) = re.findall(r"```ini\n# /etc/turnserver.conf\n(.*?)```", README.read_text(), re.DOTALL)
    return fragment.splitlines()


@contextlib.asynccontextmanager
async def readme_relay(directory: Path) -> AsyncIterator[Coturn]:
    """A coturn configured by README's ``turnserver.conf``, on loopback and a free port."""
    host, port, secret = "127.0.0.1", free_udp_and_tcp_port(), "a secret made for this test"
    settings = [
        line.replace(README_ADDRESS, host).replace(f"={README_PORT}", f"={port}").replace(README_SECRET, secret)
        for line in readme_turnserver_conf()
    ]
    assert f"static-auth-secret={secret}" in settings and f"listening-port={port}" in settings
    # Relay ports from the README's range, yet never one in use here.
    async with coturn(directory, host=host, port=port, secret=secret, settings=settings) as relay:
        yield relay


async def test_the_readmes_turnserver_conf_takes_the_servers_credentials(tmp_path: Path) -> None:
    async with readme_relay(tmp_path) as relay:
        async with running_server(turn=frozenset({relay.url}), turn_secret=relay.secret) as server:
            sender = await Client().connect(server.url)
            created = await sender.create()
            await sender.close()
        entry = turn_entry(created["ice_servers"], relay)
        await allocate(relay, entry)
        assert await refused(relay, {**entry, "credential": "A" * 27 + "="}) == 401


@contextlib.asynccontextmanager
async def turn_client(relay: Coturn, tcp: bool = False) -> AsyncIterator[aioice.turn.TurnClientMixin]:
    """A TURN client of ``relay`` with credentials the server would issue, its control
    connection over UDP or TCP, not yet allocated: the tests send their own requests."""
    (entry,) = IceServers(turn=TurnRest((relay.url,), relay.secret, allowance=60), code_ttl=60).for_join()
    loop = asyncio.get_running_loop()
    client: aioice.turn.TurnClientMixin
    settings = ((relay.host, relay.port), entry["username"], entry["credential"], 600, 300)
    if tcp:
        _, client = await loop.create_connection(
            lambda: aioice.turn.TurnClientTcpProtocol(*settings), relay.host, relay.port
        )
    else:
        _, client = await loop.create_datagram_endpoint(
            lambda: aioice.turn.TurnClientUdpProtocol(*settings), remote_addr=(relay.host, relay.port)
        )
    try:
        yield client
    finally:
        # Stops its refreshing and frees the allocation (when there is one), then closes.
        await asyncio.wait_for(client.delete(), ALLOCATE_TIMEOUT)


async def refusal(client: aioice.turn.TurnClientMixin, request: aioice.stun.Message) -> int | None:
    """The error code ``client``'s relay answers ``request`` with; None when it grants it."""
    try:
        await asyncio.wait_for(client.request_with_retry(request), ALLOCATE_TIMEOUT)
    except aioice.stun.TransactionFailed as failure:
        return int(failure.response.attributes["ERROR-CODE"][0])
    return None


def turn_request(method: aioice.stun.Method, attribute: str, value: Any) -> aioice.stun.Message:
    request = aioice.stun.Message(message_method=method, message_class=aioice.stun.Class.REQUEST)
    request.attributes[attribute] = value
    return request


def permission(peer: str) -> aioice.stun.Message:
    return turn_request(aioice.stun.Method.CREATE_PERMISSION, "XOR-PEER-ADDRESS", (peer, 80))


async def test_the_readmes_relay_reaches_no_network_behind_it(tmp_path: Path) -> None:
    """Anyone can get credentials; with them, the relay must not be a way to the
    addresses a cloud machine or a LAN keeps private (the metadata service at
    169.254.169.254, carrier-grade NAT space), nor a TCP proxy to anywhere."""
    async with readme_relay(tmp_path) as relay, turn_client(relay) as client:
        await asyncio.wait_for(client.connect(), ALLOCATE_TIMEOUT)
        assert await refusal(client, permission("203.0.113.50")) is None  # the control: a public peer
        for peer in ("10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1", "100.100.100.200"):
            assert await refusal(client, permission(peer)) == FORBIDDEN, peer
        async with turn_client(relay, tcp=True) as tcp_client:
            allocate_tcp = turn_request(aioice.stun.Method.ALLOCATE, "REQUESTED-TRANSPORT", aioice.turn.TCP_TRANSPORT)
            assert await refusal(tcp_client, allocate_tcp) == UNSUPPORTED_TRANSPORT
            # The control: UDP relaying over the same TCP connection, as WebRTC asks for it.
            await asyncio.wait_for(tcp_client.connect(), ALLOCATE_TIMEOUT)
