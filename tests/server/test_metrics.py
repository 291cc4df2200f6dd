"""GET /healthz and GET /metrics: a real server, real socket.io clients and pool uploads,
and the Prometheus text read back with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers.pool import pool_download, pool_upload
from helpers.server import Client, RunningServer, running_server
from signal_server.app import SECURITY_HEADERS

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
GAUGES = ("sendit_open_codes", "sendit_pairings", "sendit_connections", "sendit_pool_files", "sendit_pool_bytes")
SETTLE_TIMEOUT = 10.0


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with running_server() as started:
        yield started


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def scrape(http: aiohttp.ClientSession, url: str) -> Samples:
    async with http.get(f"{url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        assert response.headers["Cache-Control"] == "no-store"
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def gauges(samples: Samples) -> dict[str, float]:
    return {name: samples[(name, ())] for name in GAUGES}


def transfers(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["route"]: value for (name, labels), value in samples.items() if name == "sendit_transfers_total"
    }


def refusals(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["reason"]: value
        for (name, labels), value in samples.items()
        if name == "sendit_joins_refused_total"
    }


async def settled(http: aiohttp.ClientSession, url: str, name: str, value: float) -> Samples:
    """The first scrape at which gauge ``name`` reads ``value`` (a disconnect is handled
    by the server after the client has gone)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT
    while (samples := await scrape(http, url))[(name, ())] != value:
        assert asyncio.get_running_loop().time() < deadline, f"{name} stayed {samples[(name, ())]}, not {value}"
        await asyncio.sleep(0.02)
    return samples


async def test_healthz_says_ok_with_the_security_headers(server: RunningServer, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{server.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
        assert response.headers["Cache-Control"] == "no-store"
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value
    async with http.get(f"{server.url}/metrics") as response:
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value


async def test_a_fresh_server_reads_zero_and_every_route_is_there(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    samples = await scrape(http, server.url)
    assert gauges(samples) == dict.fromkeys(GAUGES, 0)
    assert transfers(samples) == {"lan": 0, "nat": 0, "relay": 0, "unknown": 0}
    assert refusals(samples) == {}


async def test_codes_pairings_and_connections_follow_the_clients(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    sender, receiver, idle = [await Client().connect(server.url) for _ in range(3)]
    assert gauges(await scrape(http, server.url))["sendit_connections"] == 3
    created = await sender.create()
    assert gauges(await scrape(http, server.url)) | {"sendit_connections": 3} == {
        **dict.fromkeys(GAUGES, 0),
        "sendit_open_codes": 1,
        "sendit_connections": 3,
    }
    assert (await receiver.join(created["slot"]))["ok"]
    samples = gauges(await scrape(http, server.url))
    assert (samples["sendit_open_codes"], samples["sendit_pairings"]) == (0, 1)
    await idle.close()
    await settled(http, server.url, "sendit_connections", 2)
    assert (await sender.call("done", {"route": "relay"}))["ok"]
    samples = await scrape(http, server.url)
    assert (gauges(samples)["sendit_pairings"], transfers(samples)["relay"]) == (0, 1)
    await sender.close()
    await receiver.close()
    await settled(http, server.url, "sendit_connections", 0)


async def test_each_pair_counts_once_under_the_route_its_done_reported(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async def pair() -> tuple[Client, Client]:
        sender, receiver = await Client().connect(server.url), await Client().connect(server.url)
        assert (await receiver.join((await sender.create())["slot"]))["ok"]
        return sender, receiver

    clients = []
    for route in ("lan", "nat", "nat", None):
        sender, receiver = await pair()
        clients += [sender, receiver]
        # A done that says something else is refused, counted nowhere, and ends nothing.
        assert (await receiver.call("done", {"route": "direct"}))["error_id"] == "invalid-payload"
        assert (await receiver.call("done", {} if route is None else {"route": route}))["ok"]
        # The pair is over: the other side's done ends nothing more, and is not counted.
        assert (await sender.call("done", {"route": "relay"}))["error_id"] == "not-paired"
    samples = await scrape(http, server.url)
    assert transfers(samples) == {"lan": 1, "nat": 2, "relay": 0, "unknown": 1}
    assert refusals(samples) == {}
    for client in clients:
        await client.close()


async def test_dones_from_both_members_at_once_count_the_pair_once(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """The first done ends the pair after telling the peer; the peer's own done, sent at
    the same moment, is handled meanwhile and must be refused all the same."""
    sender, receiver = await Client().connect(server.url), await Client().connect(server.url)
    assert (await receiver.join((await sender.create())["slot"]))["ok"]
    acks = await asyncio.gather(sender.call("done", {"route": "relay"}), receiver.call("done", {"route": "relay"}))
    assert sorted(ack.get("error_id", "ok") for ack in acks) == ["not-paired", "ok"], acks
    assert transfers(await scrape(http, server.url))["relay"] == 1
    for client in (sender, receiver):
        await client.close()


async def test_refused_joins_are_counted_by_their_error_id(server: RunningServer, http: aiohttp.ClientSession) -> None:
    sender, receiver, guesser = [await Client().connect(server.url) for _ in range(3)]
    slot = (await sender.create())["slot"]
    unused = "1" if slot != "1" else "2"
    assert (await guesser.join(unused))["error_id"] == "code-not-found"
    assert (await guesser.join(unused))["error_id"] == "code-not-found"
    assert (await guesser.call("join", {"version": 2, "code": "1-a-b-c"}))["error_id"] == "invalid-payload"
    assert (await guesser.call("join", {"code": "1-a-b-c"}))["error_id"] == "old-protocol"
    assert (await receiver.join(slot))["ok"]
    assert (await guesser.join(slot))["error_id"] == "code-used"
    assert (await receiver.join(slot))["error_id"] == "already-holding"
    samples = await scrape(http, server.url)
    assert refusals(samples) == {
        "code-not-found": 2,
        "invalid-payload": 1,
        "old-protocol": 1,
        "code-used": 1,
        "already-holding": 1,
    }
    for client in (sender, receiver, guesser):
        await client.close()


async def test_the_pool_gauges_follow_uploads(server: RunningServer, http: aiohttp.ClientSession) -> None:
    tokens = []
    for size in (1000, 2345):
        status, answer = await pool_upload(http, server.url, b"x" * size)
        assert status == 201
        tokens.append(answer["token"])
    samples = gauges(await scrape(http, server.url))
    assert (samples["sendit_pool_files"], samples["sendit_pool_bytes"]) == (2, 3345)
    status, _headers, body = await pool_download(http, server.url, tokens[0])
    assert status == 200
    samples = gauges(await scrape(http, server.url))
    assert (samples["sendit_pool_files"], samples["sendit_pool_bytes"]) == (1, 3345 - len(body))


async def test_both_answer_while_the_limits_refuse_the_same_address() -> None:
    async with running_server(max_connections_per_address=1, max_failed_joins=1, failed_join_backoff=60) as server:
        holder = await Client().connect(server.url)
        await holder.join("1")  # the one failure allowed; the next join must wait
        assert (await holder.join("1"))["error_id"] == "too-many-attempts"
        async with aiohttp.ClientSession() as http:
            for _ in range(20):
                async with http.get(f"{server.url}/healthz") as response:
                    assert response.status == 200
                samples = await scrape(http, server.url)
        assert refusals(samples) == {"code-not-found": 1, "too-many-attempts": 1}
        assert gauges(samples)["sendit_connections"] == 1
        await holder.close()
