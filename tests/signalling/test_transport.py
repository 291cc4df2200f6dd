"""signal_server/signalling/transport.py: what the socket.io server refuses before any
handler runs, through hand-written frames over a real WebSocket to a real server."""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator

import aiohttp
import pytest
from engineio.packet import MESSAGE, Packet

from helpers.measure import legit_pairing
from helpers.raw import SOCKET_PATH, RawSocket
from helpers.server import CREATE, Client, RunningServer, join_payload, running_server
from signal_server.signalling.transport import PACKET_OVERHEAD, CountedQueue

REFUSED = [
    pytest.param("459999999999-" + '["create",{"_placeholder":true,"num":0}]', id="announces-attachments"),
    pytest.param("461-[]", id="binary-ack"),
    pytest.param(b"\x04" + b"\0" * 1024, id="binary-frame"),
    pytest.param('42["connect",{"REMOTE_ADDR":"192.0.2.1"}]', id="reserved-connect"),
    pytest.param('42["disconnect"]', id="reserved-disconnect"),
    pytest.param('42["message","x"]', id="reserved-message"),
    pytest.param("42[]", id="event-without-name"),
    pytest.param("42", id="event-without-data"),
    pytest.param("42[7]", id="event-name-not-a-string"),
    pytest.param('42{"a":1}', id="event-data-not-a-list"),
    pytest.param("421[", id="malformed-json"),
    pytest.param("4x", id="unknown-packet-type"),
    pytest.param('431["x"]', id="acknowledgement"),
    pytest.param("44{}", id="connect-error-from-a-client"),
]


@pytest.fixture
async def raw(server: RunningServer) -> AsyncIterator[RawSocket]:
    socket = await RawSocket.open(server.url)
    yield socket
    await socket.close()


@pytest.mark.parametrize("frame", REFUSED)
async def test_a_frame_outside_the_protocol_disconnects_its_client_and_nobody_else(
    server: RunningServer, raw: RawSocket, frame: str | bytes, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bystander = await connect()
    with caplog.at_level(logging.WARNING):
        await raw.send(frame)
        assert await raw.closed_by_server()
    await legit_pairing(server.url)
    assert (await bystander.create())["ok"]
    refusals = [r for r in caplog.records if r.name == "signal_server.signalling.transport"]
    assert len(refusals) == 1, [r.getMessage() for r in caplog.records]
    line = refusals[0].getMessage()
    assert "\n" not in line and len(line) < 300, line
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_attacker_text_cannot_forge_log_lines(raw: RawSocket, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        await raw.send('42["connect\n2026-12-01 12:00:00 INFO forged: all is well"]')
        assert await raw.closed_by_server()
    assert all("\n" not in r.getMessage() for r in caplog.records)
    assert any("\\n" in r.getMessage() for r in caplog.records)


async def test_a_reserved_connect_cannot_choose_the_address_the_join_limit_counts() -> None:
    async with running_server(max_failed_joins=2) as server:
        # Each socket first tries to pass itself off as another address, then guesses.
        for number in range(3):
            raw = await RawSocket.open(server.url)
            try:
                await raw.send(f'42["connect",{{"REMOTE_ADDR":"192.0.2.{number}"}}]')
                assert await raw.closed_by_server()
            finally:
                await raw.close()
        # Nobody holds a slot on this server: any is a wrong guess.
        guesser = await Client().connect(server.url)
        try:
            for _ in range(2):
                assert (await guesser.join("1"))["error_id"] == "code-not-found"
            assert (await guesser.join("1"))["error_id"] == "too-many-attempts"
        finally:
            await guesser.close()


async def test_a_well_formed_session_over_raw_frames_is_served(raw: RawSocket) -> None:
    """The guard refuses what is outside the protocol, not hand-written clients."""
    created = await raw.call("create", CREATE)
    assert created["ok"] and created["slot"]


# --- origins ---------------------------------------------------------------------------


async def test_a_page_of_another_site_cannot_open_a_socket(server: RunningServer) -> None:
    with pytest.raises(Exception) as refused:
        await RawSocket.open(server.url, origin="https://evil.example")
    assert "400" in str(refused.value)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_the_servers_own_pages_and_clients_without_an_origin_are_served(
    server: RunningServer, scheme: str
) -> None:
    host = server.url.split("://", 1)[1]
    for origin in (f"{scheme}://{host}", None):
        raw = await RawSocket.open(server.url, origin=origin)
        assert (await raw.call("create", CREATE))["ok"]
        await raw.close()


# --- a client that does not read -------------------------------------------------------


async def test_a_client_that_stops_reading_is_dropped_once_it_owes_the_bound(connect: Any) -> None:
    sender = await connect()
    created = await sender.create()
    server_url = sender.sio.connection_url
    stalled = await RawSocket.open(server_url)
    try:
        assert (await stalled.call("join", join_payload(created["slot"])))["ok"]
        await sender.next("peer_joined")
        stalled.stop_reading()
        data = "A" * 60_000
        # The bound is 1 MiB; the kernel buffers some megabytes more on loopback.
        sent = 0
        while not sender.pending("peer_left"):
            assert sent < 60_000_000, "the server kept queueing 60 MB for a client that reads nothing"
            ack = await sender.call("signal", {"type": "offer", "data": data})
            sent += len(data)
            if not ack["ok"]:
                break
        assert await sender.next("peer_left") == {"role": "receiver"}
        assert sent > 1024 * 1024
    finally:
        await stalled.close()


async def test_a_connection_that_never_joins_the_namespace_is_dropped() -> None:
    async with running_server(join_within=0.2) as server:
        idle = await RawSocket.open(server.url, join_namespace=False)
        joined = await RawSocket.open(server.url)
        try:
            assert await idle.closed_by_server(timeout=5)
            # A joined connection stays: the same wait passes without it being cut.
            assert (await joined.call("create", CREATE))["ok"]
        finally:
            await idle.close()
            await joined.close()


@pytest.mark.parametrize("frame", ["0", "2", "5", "6"], ids=["open", "ping", "upgrade", "noop"])
async def test_engine_packets_no_websocket_client_sends_cut_the_connection(raw: RawSocket, frame: str) -> None:
    # engine.io answers an upgrade with a noop past the bound on what waits for a client.
    await raw.send(frame)
    assert await raw.closed_by_server()


async def test_a_client_that_leaves_the_namespace_is_cut() -> None:
    """Left open, it would be counted by no cap and timed by no join_within."""
    async with running_server(max_connections_per_address=1) as server:
        leaver = await RawSocket.open(server.url)
        await leaver.send("41")
        assert await leaver.closed_by_server()
        await leaver.close()
        # Its place under the cap is free again.
        after = await RawSocket.open(server.url)
        assert (await after.call("create", CREATE))["ok"]
        await after.close()


async def test_behind_a_trusted_proxy_the_host_the_browser_asked_for_is_the_servers_own() -> None:
    async with running_server(trusted_proxies=frozenset({"127.0.0.1"})) as server:
        http = aiohttp.ClientSession()
        try:
            # nginx's default passes its upstream's name as Host, and the browser's in
            # X-Forwarded-Host.
            headers = {
                "Origin": "https://sendit.example",
                "Host": "upstream:8080",
                "X-Forwarded-Host": "sendit.example",
            }
            ws = await http.ws_connect(server.url + SOCKET_PATH, headers=headers)
            assert (await ws.receive_str()).startswith("0{")
            await ws.close()
            headers["X-Forwarded-Host"] = "evil.example"
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(server.url + SOCKET_PATH, headers=headers)
        finally:
            await http.close()


async def test_forwarded_host_from_a_client_that_is_no_proxy_is_not_believed(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Origin": "https://sendit.example", "X-Forwarded-Host": "sendit.example"}
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(server.url + SOCKET_PATH, headers=headers)


async def test_the_queue_bound_costs_no_scan_however_many_small_packets_wait() -> None:
    queue = CountedQueue()
    for _ in range(10_000):
        queue.put_nowait(Packet(MESSAGE, data='2["signal",{"type":"candidate","candidate":null}]'))
    assert queue.bytes == 10_000 * (PACKET_OVERHEAD + 49)
    queue.get_nowait()
    assert queue.bytes == 9_999 * (PACKET_OVERHEAD + 49)


@pytest.mark.parametrize("join_namespace", [True, False], ids=["joined", "not joined"])
async def test_a_clients_close_packet_ends_its_connection(server: RunningServer, join_namespace: bool) -> None:
    raw = await RawSocket.open(server.url, join_namespace=join_namespace)
    await raw.send("1")
    assert await raw.closed_by_server()
    await raw.close()
