"""The TURN credentials the server issues, tried on a real coturn that checks them with
``use-auth-secret``: the acknowledgements' work, forged and expired ones do not."""

from __future__ import annotations

import asyncio
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


async def test_the_readmes_turnserver_conf_takes_the_servers_credentials(tmp_path: Path) -> None:
    host, port, secret = "127.0.0.1", free_udp_and_tcp_port(), "a secret made for this test"
    settings = [
        line.replace(README_ADDRESS, host).replace(f"={README_PORT}", f"={port}").replace(README_SECRET, secret)
        for line in readme_turnserver_conf()
    ]
    assert f"static-auth-secret={secret}" in settings and f"listening-port={port}" in settings
    # Relay ports from the README's range, yet never one in use here.
    async with coturn(tmp_path, host=host, port=port, secret=secret, settings=settings) as relay:
        async with running_server(turn=frozenset({relay.url}), turn_secret=secret) as server:
            sender = await Client().connect(server.url)
            created = await sender.create()
            await sender.close()
        entry = turn_entry(created["ice_servers"], relay)
        await allocate(relay, entry)
        assert await refused(relay, {**entry, "credential": "A" * 27 + "="}) == 401
