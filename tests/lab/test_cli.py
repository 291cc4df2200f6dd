"""The ``sendit`` CLI on both ends, across the lab: how each side says it connected, or
why it could not (docs/PROTOCOL.md 3.5), with the bytes compared; coturn's own log shows
what it relayed and what it refused."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

from helpers.lab import Host, Lab, Turn
from helpers.peers import CONNECTION, OK, Sendit, tree_of
from helpers.server import wait_until
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import FAILURE_WORDS, Route

from .conftest import OnHost, Serve

#: Small, so a case stays fast; big enough to need many TURN channel messages.
SIZE = 2_000_000
#: A guard on coturn's usage lines, which it writes each second.
COUNTED = 5.0


@dataclass
class Pair:
    sender: Sendit
    receiver: Sendit
    sent: Path
    received: Path

    def routes(self) -> list[str]:
        return [connected(self.sender), connected(self.receiver)]

    def failures(self) -> list[str | None]:
        return [failure(self.sender), failure(self.receiver)]


def connected(peer: Sendit) -> str:
    """The route of the ``connected`` event."""
    [event] = [event for event in peer.events if event["event"] == "connected"]
    return event["route"]


def failure(peer: Sendit) -> str | None:
    """The error id of the ``error`` event, if the run ended with one."""
    return next((event.get("error_id") for event in peer.events if event["event"] == "error"), None)


async def cli_pair(
    on_host: OnHost, server: str, sender_host: Host, receiver_host: Host, directory: Path, *flags: str
) -> Pair:
    """``sendit send`` of a random file on one host, ``sendit receive`` on another, both
    with ``flags``, to their end."""
    directory.mkdir()
    sent = directory / "file.bin"
    sent.write_bytes(os.urandom(SIZE))
    sender = await on_host(sender_host, "send", "--json", *flags, str(sent), server=server)
    code = await sender.code()
    received = directory / "out"
    receiver = await on_host(
        receiver_host, "receive", "--json", "--yes", "-o", str(received), *flags, code, server=server
    )
    await asyncio.gather(sender.finish(), receiver.finish())
    return Pair(sender, receiver, sent, received)


def assert_delivered(pair: Pair) -> None:
    codes = (pair.sender.process.returncode, pair.receiver.process.returncode)
    assert codes == (OK, OK), (pair.sender.events, pair.receiver.events, pair.sender.stderr, pair.receiver.stderr)
    assert tree_of(pair.received) == {pair.sent.name: pair.sent.read_bytes()}


def assert_failed(pair: Pair, error_id: ErrorId) -> None:
    """Both sides gave up for ``error_id``, said in its words, and kept nothing."""
    codes = (pair.sender.process.returncode, pair.receiver.process.returncode)
    assert codes == (CONNECTION, CONNECTION), (pair.sender.events, pair.receiver.events)
    assert pair.failures() == [error_id, error_id], (pair.sender.events, pair.receiver.events)
    assert [pair.sender.error, pair.receiver.error] == [FAILURE_WORDS[error_id]] * 2
    assert not pair.received.exists() or list(pair.received.iterdir()) == []


async def test_two_hosts_on_one_lan_go_direct(port_keeping: Lab, serve: Serve, on_host: OnHost, tmp_path: Path) -> None:
    server = await serve()
    [a1, a2] = port_keeping.homes[0].hosts
    pair = await cli_pair(on_host, server.url, a1, a2, tmp_path / "pair")
    assert_delivered(pair)
    assert pair.routes() == [Route.LAN, Route.LAN]


async def test_port_keeping_nats_go_direct_with_stun_only(
    port_keeping: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    server = await serve("--stun", turn.stun_url)
    a1, b1 = port_keeping.homes[0].hosts[0], port_keeping.homes[1].hosts[0]
    pair = await cli_pair(on_host, server.url, a1, b1, tmp_path / "pair")
    assert_delivered(pair)
    assert pair.routes() == [Route.NAT, Route.NAT]


async def test_symmetric_nats_need_turn(
    symmetric: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    server = await serve("--stun", turn.stun_url)
    a1, b1 = symmetric.homes[0].hosts[0], symmetric.homes[1].hosts[0]
    assert_failed(await cli_pair(on_host, server.url, a1, b1, tmp_path / "pair"), ErrorId.NEEDS_TURN)


async def test_symmetric_nats_go_through_turn_with_the_servers_credentials(
    symmetric: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    server = await serve("--stun", turn.stun_url, "--turn", turn.url, "--turn-secret", turn.secret)
    a1, b1 = symmetric.homes[0].hosts[0], symmetric.homes[1].hosts[0]
    mark = turn.mark()
    pair = await cli_pair(on_host, server.url, a1, b1, tmp_path / "pair")
    assert_delivered(pair)
    assert pair.routes() == [Route.RELAY, Route.RELAY]
    await wait_until(lambda: turn.relayed_since(mark) >= SIZE, "coturn to count the relayed bytes", COUNTED)


async def test_forged_and_expired_turn_credentials_are_refused(
    symmetric: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    # A server whose secret is not the relay's forges every credential it gives out; one
    # given a REST credential as a static setting hands it out after it has expired.
    forging = await serve("--turn", turn.url, "--turn-secret", "not-" + turn.secret)
    stale = turn.credentials(-60)
    expired = await serve("--ice-servers", json.dumps([stale]))
    a1, b1 = symmetric.homes[0].hosts[0], symmetric.homes[1].hosts[0]
    mark = turn.mark()
    pairs = await asyncio.gather(
        cli_pair(on_host, forging.url, a1, b1, tmp_path / "forged"),
        cli_pair(on_host, expired.url, a1, b1, tmp_path / "expired"),
    )
    for pair in pairs:
        assert_failed(pair, ErrorId.TURN_REFUSED)
    # coturn itself refused them: the stale one, and the forged ones of both acks.
    refused = turn.refused_since(mark)
    assert stale["username"] in refused
    assert len(refused - {stale["username"]}) == 2, refused


async def test_relay_only_on_one_lan_goes_through_turn(
    port_keeping: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    server = await serve("--turn", turn.url, "--turn-secret", turn.secret)
    [a1, a2] = port_keeping.homes[0].hosts
    mark = turn.mark()
    pair = await cli_pair(on_host, server.url, a1, a2, tmp_path / "pair", "--relay-only")
    assert_delivered(pair)
    assert pair.routes() == [Route.RELAY, Route.RELAY]
    await wait_until(lambda: turn.relayed_since(mark) >= SIZE, "coturn to count the relayed bytes", COUNTED)


async def test_relay_only_without_turn_fails_at_once(
    port_keeping: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    server = await serve("--stun", turn.stun_url)
    (tmp_path / "a.txt").write_text("hidden")
    sender = await on_host(
        port_keeping.homes[0].hosts[0], "send", "--json", "--relay-only", str(tmp_path / "a.txt"), server=server.url
    )
    # Known from the server's list alone: no code is given out that could never connect.
    assert await sender.finish(timeout=10) == CONNECTION
    assert "code" not in sender.names
    assert failure(sender) == ErrorId.RELAY_UNAVAILABLE
    assert sender.error == FAILURE_WORDS[ErrorId.RELAY_UNAVAILABLE]
