"""One test per attack of issue 13, each against a server in its own process (so its RSS
is its own), by an attacker process from another loopback address, with legit pairings
one after another all the while. Each asserts the attack's bound: the server's RSS
growth, the legit pairing's latency, and what the attack gets the server to do."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from helpers.attacks import ATTACKER_ADDRESS, ONE_BYTE, used_slot
from helpers.measure import LEGIT_FILE, MiB, Siege, besiege, legit_exchange
from helpers.pool import pool_area, pool_stats, pool_upload
from helpers.raw import RawSocket
from helpers.server import server_process

pytestmark = pytest.mark.process

#: What one attack may grow the server by, at the loads below (a bare server is ~40 MiB).
RSS_CEILING = 50 * MiB
#: A legit pairing (connect, create, join, one signal) while an attack runs; it takes
#: 10-40 ms on an idle 2-core machine, so this is generous for cores shared with the
#: attacker.
LATENCY_CEILING = 1.0


def assert_bounded(siege: Siege) -> None:
    """RSS and latency within their ceilings (``siege.latencies``: legit pairings, or
    pool exchanges in the pool's tests), and no traceback."""
    assert siege.rss_growth < RSS_CEILING, f"the server grew by {siege.rss_growth / MiB:.0f} MiB"
    assert len(siege.latencies) >= 3
    assert max(siege.latencies) < LATENCY_CEILING, f"a legit pairing took {max(siege.latencies):.2f} s"
    assert not [line for line in siege.log if "Traceback" in line], "".join(siege.log)[-3000:]


def attackers_lines(siege: Siege) -> list[str]:
    """The log lines the attacker caused: its refusals, and its requests' access lines."""
    return [line for line in siege.log if "signalling.transport" in line or ATTACKER_ADDRESS in line]


async def test_a_flood_of_binary_attachments_is_refused_before_it_is_buffered() -> None:
    async with server_process() as server:
        siege = await besiege(server, "attachments", seconds=8, bytes=200 * MiB)
    assert siege.tally["bytes_sent"] >= 200 * MiB
    # Each connection is refused but the last, which may end with the budget.
    assert siege.tally["refused"] >= siege.tally["connections"] - 1 > 1, siege.tally
    assert_bounded(siege)


async def test_a_receiver_that_never_reads_is_dropped_while_its_peer_floods_it() -> None:
    async with server_process() as server:
        # Bounded by the bytes: the seconds are a ceiling for a loaded machine.
        siege = await besiege(server, "stalled", seconds=30, bytes=100 * MiB)
    assert siege.tally["bytes_sent"] >= 100 * MiB
    # The server owes one client 1 MiB at most, the kernel buffers some more: a pair is
    # dropped every ~10 MB relayed.
    assert siege.tally["dropped"] >= 5, siege.tally
    assert_bounded(siege)


async def test_a_reserved_connect_cannot_choose_the_address_the_join_limit_counts() -> None:
    async with server_process("--max-failed-joins", "3") as server:
        siege = await besiege(server, "reserved", seconds=8, bytes=50 * MiB)
        assert siege.tally["bytes_sent"] >= 50 * MiB
        assert siege.tally["refused"] == siege.tally["connections"], siege.tally
        assert siege.tally["guesses_answered"] == 0, siege.tally
        assert_bounded(siege)
        # Every guess the attacker's sockets sent after their fake address counted for
        # nothing; the attacker's own address still has its three, and then no more.
        async with used_slot(server.url) as guess:
            guesser = await RawSocket.open(server.url, source=ATTACKER_ADDRESS)
            try:
                answers = [(await guesser.call("join", guess))["error_id"] for _ in range(4)]
            finally:
                await guesser.close()
        assert answers == ["code-used"] * 3 + ["too-many-attempts"]


async def test_ten_megabytes_of_malformed_frames_cost_the_log_a_few_lines() -> None:
    async with server_process() as server:
        siege = await besiege(server, "malformed", seconds=8, bytes=10 * 1000 * 1000)
    assert siege.tally["bytes_sent"] >= 10 * 1000 * 1000
    logged = sum(len(line) for line in attackers_lines(siege))
    # Before issue 13: 3 KB of traceback per 10-byte frame.
    assert logged < 16 * 1024, f"{logged} bytes of log for 10 MB of malformed frames"
    assert_bounded(siege)


async def test_pages_of_other_sites_cannot_open_a_socket() -> None:
    async with server_process() as server:
        siege = await besiege(server, "origins", seconds=3)
    assert siege.tally["accepted"] == 0, siege.tally
    assert siege.tally["refused"] == siege.tally["connections"] > 100, siege.tally
    assert_bounded(siege)


def cap_warnings(siege: Siege, what: str) -> list[str]:
    """The lines in which the server said the attacker's address reached a cap."""
    return [line for line in siege.log if f"{ATTACKER_ADDRESS!r}" in line and what in line]


#: Small caps, so that a flood reaches them at little cost.
CONNECTION_CAP = 30


async def test_connections_past_the_cap_of_one_address_are_refused_with_its_words() -> None:
    async with server_process("--max-connections-per-address", str(CONNECTION_CAP)) as server:
        siege = await besiege(server, "idle", seconds=5, count=CONNECTION_CAP + 50)
    assert siege.tally["held"] == CONNECTION_CAP, siege.tally
    assert siege.tally["refusals"] == {"too-many-connections": 50}, siege.tally
    # Once for the address, however many of its connections knock.
    assert len(cap_warnings(siege, f"holds {CONNECTION_CAP} connections")) == 1, attackers_lines(siege)
    assert_bounded(siege)


async def test_sessions_that_never_join_the_namespace_are_closed() -> None:
    # 150 at a time: more than the connection cap (100), which counts only joined ones.
    async with server_process("--join-within", "1") as server:
        siege = await besiege(server, "bare", seconds=4, count=150)
    assert siege.tally["connections"] >= 300, siege.tally
    assert siege.tally["dropped"] == siege.tally["connections"], siege.tally
    assert siege.tally["longest_unjoined"] < 3.0, siege.tally
    assert_bounded(siege)


async def test_open_codes_past_the_cap_of_one_address_are_refused_while_others_create() -> None:
    # Default caps: 20 open codes per address, 100 connections.
    async with server_process() as server:
        siege = await besiege(server, "codes", seconds=5, count=40)
    assert siege.tally["held"] == 40, siege.tally
    assert siege.tally["accepted"] == 20, siege.tally
    assert siege.tally["refusals"] == {"too-many-codes": 20}, siege.tally
    assert len(cap_warnings(siege, "holds 20 open codes")) == 1, attackers_lines(siege)
    # Every legit pairing created its code from 127.0.0.1 while the attacker was at its cap.
    assert_bounded(siege)


async def test_guessing_slots_meets_a_growing_backoff_that_spares_other_addresses() -> None:
    # Defaults: 20 free failures per 60 s, then 1 s of waiting, doubled per failure.
    async with server_process() as server:
        siege = await besiege(server, "guesses", seconds=8)
    waits = siege.tally["retry_after"]
    assert len(waits) >= 3 and waits == [2**n for n in range(len(waits))], siege.tally
    # The server looked at a guess only when the last wait had run out.
    assert siege.tally["guesses_answered"] == 20 + len(waits) - 1, siege.tally
    assert set(siege.tally["refusals"]) == {"too-many-attempts"}, siege.tally
    assert len(cap_warnings(siege, "failed 20 times")) == 1, attackers_lines(siege)
    # Every legit pairing joined a real slot from 127.0.0.1, at once, meanwhile.
    assert_bounded(siege)


#: The pool's default quota of uploads started per address and minute.
UPLOADS_PER_MINUTE = 10


async def test_one_address_cannot_fill_the_pool(tmp_path: Path) -> None:
    async with server_process("--pool-dir", str(tmp_path)) as server:
        # A legit client is within the quota too: a few exchanges, not one per millisecond.
        siege = await besiege(server, "pool-fill", seconds=5, count=1000, legit=legit_exchange, most=5)
        async with aiohttp.ClientSession() as http:
            stats = await pool_stats(http, server.url)
    tally = siege.tally
    assert tally["statuses"]["201"] == tally["accepted"] == UPLOADS_PER_MINUTE, tally
    assert tally["statuses"]["429"] >= 100 and set(tally["statuses"]) == {"201", "429"}, tally
    assert list(tally["refusals"]) == ["rate-limited"], tally
    [retry_after] = tally["retry_after"]
    assert 50 <= retry_after <= 60, tally
    # Each legit exchange gave one file and took one: what is left is the attacker's quota.
    assert stats["count"] == UPLOADS_PER_MINUTE, stats
    assert stats["total_bytes"] <= UPLOADS_PER_MINUTE * len(ONE_BYTE) + 5 * len(LEGIT_FILE)
    assert len(cap_warnings(siege, f"quota of {UPLOADS_PER_MINUTE} uploads per minute")) == 1, attackers_lines(siege)
    assert_bounded(siege)


async def test_uploads_that_stall_hold_the_places_of_their_own_address_only(tmp_path: Path) -> None:
    async with server_process(
        "--pool-dir", str(tmp_path), "--pool-stall-timeout", "2", "--pool-uploads-per-minute", "100000"
    ) as server:
        async with aiohttp.ClientSession() as http:
            # Someone else's file, for the first legit exchange to take.
            status, _ = await pool_upload(http, server.url, b"a file to take\n")
            assert status == 201
        siege = await besiege(server, "pool-block", seconds=6, count=10, legit=legit_exchange)
        async with aiohttp.ClientSession() as http:
            stats = await pool_stats(http, server.url)
    tally = siege.tally
    # Three in flight at a time, each cut off after 2 s of silence: a few rounds of them.
    assert tally["statuses"]["408"] >= 6 and tally["statuses"]["429"] >= 100, tally
    assert set(tally["statuses"]) == {"408", "429"}, tally
    assert list(tally["refusals"]) == ["too-many-uploads-in-flight"], tally
    # In-flight refusals are answered from the headers alone, with no wait to count down.
    assert tally["slowest_refusal"] < 0.5 and set(tally["retry_after"]) == {0}, tally
    # Nothing of the stalled uploads is left; the pool holds the last legit file only.
    assert stats["count"] == 1 and pool_area(tmp_path, "incoming") == [], (stats, pool_area(tmp_path, "incoming"))
    assert len(cap_warnings(siege, "quota of 3 uploads in flight")) == 1, attackers_lines(siege)
    assert_bounded(siege)
